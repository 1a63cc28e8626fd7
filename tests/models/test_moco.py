
import pytest
import torch
from transformers import AutoConfig, AutoModel

import hf_replearn.models  # noqa: F401
from hf_replearn.models.moco import MoCoConfig, MoCoModel
from hf_replearn.models.moco.distributed import shuffled_key_forward
from hf_replearn.training.callbacks import MomentumUpdateCallback


def tiny(**kw):
    kw = {"num_channels": 1, "image_size": 8, "widths": [8, 16], "projection_dim": 4, "queue_size": 12, **kw}
    return MoCoConfig(**kw)


def test_forward_enqueues_keys_in_training_only():
    model = MoCoModel(tiny())
    x = torch.rand(4, 1, 8, 8)
    out = model(pixel_values=x, pixel_values_2=x.flip(-1))
    assert out.loss.ndim == 0 and out.logits.shape == (4, 1 + 12)
    assert out.representations.shape == (4, 16) and out.queries.shape == out.key_embeddings.shape == (4, 4)
    assert list(out.keys()) == ["loss", "representations", "queries", "key_embeddings", "logits"]  # DDP flattens it
    assert int(model.keys.queue_ptr) == 4
    torch.testing.assert_close(model.keys.queue[:4], torch.nn.functional.normalize(out.key_embeddings, dim=1))
    model.eval()
    model(pixel_values=x, pixel_values_2=x)
    assert int(model.keys.queue_ptr) == 4
    assert model(pixel_values=x).loss is None


def test_momentum_update_matches_the_formula():
    model = MoCoModel(tiny(momentum=0.9))
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(torch.randn_like(p))  # as if the optimizer had moved theta_q
    theta_k = [p.clone() for p in model.key_encoder.parameters()]
    theta_q = [p.clone() for p in model.encoder.parameters()]
    MomentumUpdateCallback().on_step_end(None, None, None, model=model)
    for new, old_k, q in zip(model.key_encoder.parameters(), theta_k, theta_q):
        torch.testing.assert_close(new, 0.9 * old_k + 0.1 * q)
    assert not any(p.requires_grad for p in model.key_encoder.parameters())


def test_queue_round_trips_through_save_pretrained(tmp_path):
    model = MoCoModel(tiny())
    x = torch.rand(4, 1, 8, 8)
    model(pixel_values=x, pixel_values_2=x)
    model.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path)
    assert isinstance(loaded, MoCoModel) and AutoConfig.from_pretrained(tmp_path).model_type == "moco"
    torch.testing.assert_close(loaded.keys.queue, model.keys.queue, rtol=0, atol=0)
    assert int(loaded.keys.queue_ptr) == 4
    for a, b in zip(loaded.key_encoder.parameters(), model.key_encoder.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    model.eval(), loaded.eval()
    torch.testing.assert_close(loaded.get_representation(x), model.get_representation(x), rtol=0, atol=0)


@pytest.mark.parametrize("mechanism", ["moco", "end_to_end", "memory_bank"])
def test_few_steps_lower_the_loss(mechanism):
    torch.manual_seed(0)
    model = MoCoModel(tiny(key_mechanism=mechanism, momentum=0.9, memory_bank_size=64, queue_size=16))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    pool = torch.rand(64, 1, 8, 8)
    noisy = lambda x: (x + 0.05 * torch.randn_like(x)).clamp(0, 1)  # noqa: E731
    batches = [(pool[i : i + 8], torch.arange(i, i + 8)) for i in range(0, 64, 8)]
    with torch.no_grad():  # fill the queue / bank with real keys first, so the start is not easy random negatives
        for x, index in batches:
            model(noisy(x), noisy(x), sample_index=index)
    losses = []
    for step in range(24):
        x, index = batches[step % len(batches)]
        loss = model(noisy(x), noisy(x), sample_index=index).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.momentum_update()
        losses.append(loss.item())
    assert sum(losses[-8:]) < 0.85 * sum(losses[:8])


def test_shuffled_key_forward_restores_the_order():
    fn = lambda x: x * 2  # noqa: E731
    x = torch.arange(12.0)[:, None]
    torch.testing.assert_close(shuffled_key_forward(fn, x, groups=3), 2 * x)


@pytest.mark.parametrize(
    "kw, message",
    [({"momentum": 1.0}, "momentum must lie in"), ({"momentum": -0.1}, "momentum must lie in"),
     ({"key_mechanism": "bank"}, "key_mechanism"), ({"contrastive_temperature": 0}, "temperature")],
)  # fmt: skip
def test_bad_config(kw, message):
    with pytest.raises(ValueError, match=message):
        tiny(**kw)


def test_queue_not_a_multiple_of_the_batch():
    model = MoCoModel(tiny(queue_size=10))
    x = torch.rand(4, 1, 8, 8)
    with pytest.raises(ValueError, match="not a multiple of the global batch size 4"):
        model(x, x)
