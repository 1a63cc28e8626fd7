import pytest
import torch
from transformers import AutoConfig, AutoModel

import hf_replearn.models  # noqa: F401
from hf_replearn.losses.vicreg import VICRegLoss
from hf_replearn.models.vicreg import VICRegConfig, VICRegModel
from tests.models.two_view import losses_on_noisy_views


def tiny_config(**kw):
    return VICRegConfig(**{"num_channels": 1, "image_size": 8, "widths": [8, 16], "expander_dims": [12, 6], **kw})


def test_forward_shapes_and_the_loss_of_the_two_views():
    torch.manual_seed(0)
    model = VICRegModel(tiny_config(covariance_weight=2.0))
    x = torch.rand(6, 1, 8, 8)
    out = model(pixel_values=x, pixel_values_2=x.flip(-1))
    assert out.representations.shape == (6, 16) and out.embeddings.shape == out.embeddings_2.shape == (6, 6)
    expected = VICRegLoss(25.0, 25.0, 2.0)(out.embeddings, out.embeddings_2)
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-6)
    # the expander: Linear(16 -> 12, no bias), BatchNorm, ReLU, Linear(12 -> 6)
    assert [type(m).__name__ for m in model.expander] == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert model.get_representation(x).shape == (6, 16)
    assert model(pixel_values=x).loss is None


def test_save_and_auto_round_trip(tmp_path):
    model = VICRegModel(tiny_config(variance_weight=10.0)).eval()
    model.save_pretrained(tmp_path)
    assert AutoConfig.from_pretrained(tmp_path).model_type == "vicreg"
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert isinstance(loaded, VICRegModel) and loaded.config.variance_weight == 10.0
    x = torch.rand(3, 1, 8, 8)
    torch.testing.assert_close(loaded.get_representation(x), model.get_representation(x), rtol=0, atol=0)


def test_few_steps_lower_the_loss():
    torch.manual_seed(0)
    losses = losses_on_noisy_views(VICRegModel(tiny_config()))
    assert losses[-1] < 0.8 * losses[0]


@pytest.mark.parametrize("field, value, message", [
    ("expander_dims", [], "expander_dims must be a non-empty list of positive widths"),
    ("expander_dims", [8, 0], "expander_dims must be a non-empty list of positive widths"),
    ("covariance_weight", -1.0, "covariance_weight must be >= 0"),
])  # fmt: skip
def test_bad_config(field, value, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**{field: value})
