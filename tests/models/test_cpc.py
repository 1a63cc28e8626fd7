import pytest
import torch
from transformers import AutoConfig, AutoModel

from hf_replearn.errors import UserError
from hf_replearn.models.cpc import CPCConfig, CPCModel


@pytest.fixture
def one_thread():
    """Tiny convolutions: one thread avoids spin-waiting on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_config(**kwargs):
    return CPCConfig(hidden_size=16, context_size=12, num_prediction_steps=3, num_negatives=4, **kwargs)


def test_paper_encoder_has_a_10ms_hop_and_465_sample_receptive_field():
    config = CPCConfig()
    assert (config.hop_length, config.receptive_field) == (160, 465)
    model = CPCModel(tiny_config())
    out = model(torch.randn(2, 20480), return_loss=False)
    assert out.z.shape == (2, model.num_frames(20480), 16) == (2, 126, 16)  # (20480 - 465) // 160 + 1
    assert out.c.shape == (2, 126, 12)


def test_loss_is_near_log_n_plus_one_at_init_and_drops_with_training(one_thread):
    torch.manual_seed(0)
    model = CPCModel(tiny_config())
    x = torch.randn(4, 2400)
    out = model(x)
    assert out.step_accuracy.shape == (3,)
    assert abs(out.loss.item() - torch.log(torch.tensor(5.0)).item()) < 1.0
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(12):
        loss = model(x).loss
        first = first if first is not None else loss.item()
        opt.zero_grad(), loss.backward(), opt.step()
    assert loss.item() < 0.7 * first


def test_same_speaker_negatives_need_speaker_ids():
    model = CPCModel(tiny_config(negative_sampling="same_speaker"))
    assert model(torch.randn(3, 3000), speaker_ids=torch.tensor([0, 0, 1])).loss.isfinite()


def test_save_and_from_pretrained_round_trip_through_the_auto_classes(tmp_path):
    AutoConfig.register("cpc", CPCConfig, exist_ok=True)
    AutoModel.register(CPCConfig, CPCModel, exist_ok=True)
    torch.manual_seed(0)
    model = CPCModel(tiny_config(negative_sampling="mixed")).eval()
    model.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert isinstance(loaded, CPCModel) and loaded.config.negative_sampling == "mixed"
    x = torch.randn(2, 3000)
    a, b = model(x, return_loss=False), loaded(x, return_loss=False)
    assert torch.equal(a.z, b.z) and torch.equal(a.c, b.c)


def test_bad_input_says_what_to_fix():
    model = CPCModel(tiny_config())
    with pytest.raises(UserError, match="receptive field of 465"):
        model(torch.randn(2, 400))
    with pytest.raises(UserError, match="mono"):
        model(torch.randn(2, 2, 4000))
    with pytest.raises(UserError, match="too few to predict 3 steps"):
        model(torch.randn(2, 800))
    with pytest.raises(ValueError, match="negative_sampling"):
        CPCConfig(negative_sampling="everything")
