import torch
from transformers import AutoConfig, AutoModel

import hf_replearn.models  # noqa: F401
from hf_replearn.models.simclr import SimCLRConfig, SimCLRModel
from tests.models.two_view import losses_on_noisy_views


def tiny_config(**kw):
    return SimCLRConfig(num_channels=1, image_size=8, widths=[8, 16], projection_dim=4, **kw)


def test_forward_shapes_and_loss():
    model = SimCLRModel(tiny_config())
    x = torch.rand(6, 1, 8, 8)
    out = model(pixel_values=x, pixel_values_2=x.flip(-1))
    assert out.loss.ndim == 0 and out.loss.item() > 0
    assert out.representations.shape == (6, 16)
    assert out.projections.shape == out.projections_2.shape == (6, 4)
    assert model.get_representation(x).shape == (6, 16)
    assert model(pixel_values=x).loss is None


def test_save_and_auto_round_trip(tmp_path):
    model = SimCLRModel(tiny_config(contrastive_temperature=0.2)).eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    assert AutoConfig.from_pretrained(tmp_path).model_type == "simclr"
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert isinstance(loaded, SimCLRModel)
    assert loaded.config.contrastive_temperature == 0.2
    x = torch.rand(3, 1, 8, 8)
    torch.testing.assert_close(loaded.get_representation(x), model.get_representation(x), rtol=0, atol=0)


def test_few_steps_lower_the_loss():
    torch.manual_seed(0)
    losses = losses_on_noisy_views(SimCLRModel(tiny_config()))
    assert losses[-1] < 0.8 * losses[0]


def test_dcl_loss_is_a_config_choice_that_saves_and_trains(tmp_path):
    from hf_replearn.losses import DecoupledContrastiveLoss

    torch.manual_seed(0)
    model = SimCLRModel(tiny_config(contrastive_loss="dcl"))
    x = torch.rand(6, 1, 8, 8)
    out = model(pixel_values=x, pixel_values_2=x.flip(-1))
    expected = DecoupledContrastiveLoss(model.config.contrastive_temperature)(out.projections, out.projections_2)
    torch.testing.assert_close(out.loss, expected)
    model.save_pretrained(tmp_path)
    assert AutoModel.from_pretrained(tmp_path).config.contrastive_loss == "dcl"
    losses = losses_on_noisy_views(SimCLRModel(tiny_config(contrastive_loss="dcl")))
    assert losses[-1] < losses[0] - 0.5  # DCL's loss can go below 0: compared by difference, not ratio


def test_nnclr_loss_reads_and_fills_its_support_set(tmp_path):
    from hf_replearn.losses.nnclr import NNCLRLoss

    torch.manual_seed(0)
    model = SimCLRModel(tiny_config(contrastive_loss="nnclr", support_set_size=12))
    before = model.support.queue.clone()
    x = torch.rand(6, 1, 8, 8)
    out = model(pixel_values=x, pixel_values_2=x.flip(-1))
    # The loss read the support set as it was before this step, then the first view's projections replaced its oldest.
    expected = NNCLRLoss(model.config.contrastive_temperature)(out.projections, out.projections_2, before)
    torch.testing.assert_close(out.loss, expected)
    torch.testing.assert_close(model.support.queue[:6], torch.nn.functional.normalize(out.projections.detach(), dim=1))
    torch.testing.assert_close(model.support.queue[6:], before[6:])
    model.eval()(pixel_values=x, pixel_values_2=x)  # evaluation reads the support set and leaves it
    torch.testing.assert_close(model.support.queue[6:], before[6:])
    model.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path)
    assert loaded.config.contrastive_loss == "nnclr"
    torch.testing.assert_close(loaded.support.queue, model.support.queue)  # a resumed run keeps its neighbours
    losses = losses_on_noisy_views(SimCLRModel(tiny_config(contrastive_loss="nnclr", support_set_size=32)))
    assert losses[-1] < 0.8 * losses[0]


def test_init_from_a_run_with_a_vit_backbone(tmp_path):
    """A recipe's init_from of a run whose encoder is a ViT: its weights are saved under transformers' older names
    and read back under the current ones."""
    from transformers import ViTConfig

    from hf_replearn.models.pretrained import load_same_family

    ViTConfig(image_size=8, patch_size=4, num_channels=1, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
              intermediate_size=8).save_pretrained(tmp_path / "vit")  # fmt: skip
    config = dict(num_channels=1, image_size=8, backbone=str(tmp_path / "vit"), projection_dim=4)
    run = SimCLRModel(SimCLRConfig(**config)).eval()
    run.save_pretrained(tmp_path / "run")
    started = load_same_family(SimCLRModel(SimCLRConfig(**config)), str(tmp_path / "run")).eval()
    x = torch.rand(3, 1, 8, 8)
    torch.testing.assert_close(started.get_representation(x), run.get_representation(x))


def test_transformers_backbone_by_path(tmp_path):
    from transformers import ResNetConfig

    ResNetConfig(num_channels=1, embedding_size=8, hidden_sizes=[8, 12], depths=[1, 1]).save_pretrained(tmp_path / "bb")
    model = SimCLRModel(SimCLRConfig(num_channels=1, image_size=16, backbone=str(tmp_path / "bb"), projection_dim=4))
    x = torch.rand(4, 1, 16, 16)
    assert model.get_representation(x).shape == (4, 12)
    assert model(x, x).loss.item() > 0
    model.save_pretrained(tmp_path / "simclr")
    loaded = AutoModel.from_pretrained(tmp_path / "simclr").eval()
    torch.testing.assert_close(loaded.get_representation(x), model.eval().get_representation(x))
