"""Relative patch position, inpainting and colorization: targets, round trips, learning, bad input."""

import pytest
import torch
from transformers import AutoModel

import hf_replearn.models  # noqa: F401
from hf_replearn.models.colorization import ColorizationConfig, ColorizationModel
from hf_replearn.models.context import NEIGHBOURS, ContextConfig, ContextModel, sample_patch_pairs
from hf_replearn.models.inpainting import InpaintingConfig, InpaintingModel, make_masks


def test_patch_pairs_sit_where_their_label_says():
    config = ContextConfig(num_channels=1, image_size=12, widths=[8], patch_size=3, gap=1, jitter=0)
    x = torch.arange(144.0).view(1, 1, 12, 12).repeat(64, 1, 1, 1)  # a pixel's value encodes its position
    centre, neighbour, labels = sample_patch_pairs(x, config, generator=torch.Generator().manual_seed(0))
    assert centre.shape == neighbour.shape == (64, 1, 3, 3) and set(labels.tolist()) == set(range(8))
    for c, n, label in zip(centre, neighbour, labels):
        dr, dc = NEIGHBOURS[label][0] - 1, NEIGHBOURS[label][1] - 1
        assert n[0, 0, 0] - c[0, 0, 0] == (dr * 12 + dc) * (3 + 1)  # one cell = patch + gap
        assert c[0, 1, 1] - c[0, 0, 0] == 13  # a patch is a contiguous crop


def test_context_round_trip_learning_and_fit_error(tmp_path):
    torch.manual_seed(0)
    model = ContextModel(ContextConfig(num_channels=1, image_size=12, widths=[8, 16], patch_size=3, gap=1, jitter=0,
                                       classifier_hidden_dim=16))  # fmt: skip
    ramp = torch.linspace(0, 1, 12)
    x = (ramp[None, :] + ramp[:, None]).div(2).expand(32, 1, 12, 12).contiguous()  # position shows in brightness
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(25):
        loss = model(x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) < 0.8 * sum(losses[:5])
    model.eval().save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(loaded.get_representation(x), model.get_representation(x), rtol=0, atol=0)
    with pytest.raises(ValueError, match="needs 28 pixels, but images are 16"):
        ContextConfig(image_size=16, patch_size=8, gap=2)


def test_masks_cover_the_requested_area():
    central = make_masks(2, 8, "central", 0.25)
    assert central[0, 0].tolist()[2] == [0, 0, 1, 1, 1, 1, 0, 0] and central.sum().item() == 2 * 16
    block = make_masks(50, 8, "random_block", 0.25, generator=torch.Generator().manual_seed(0))
    assert (block.sum(dim=(1, 2, 3)) == 16).all() and block.mean(0).std() > 0  # same area, varying place
    region = make_masks(20, 16, "random_region", 0.3, generator=torch.Generator().manual_seed(0))
    assert abs(region.mean().item() - 0.3) < 0.02


@pytest.mark.parametrize("adversarial_weight", [0.0, 0.001])
def test_inpainting_learns_and_round_trips(tmp_path, adversarial_weight):
    torch.manual_seed(0)
    model = InpaintingModel(InpaintingConfig(num_channels=1, image_size=8, widths=[8, 16],
                                             adversarial_weight=adversarial_weight))  # fmt: skip
    x = torch.rand(8, 1, 8, 8)
    out = model(x)
    torch.testing.assert_close(out.reconstructions * (1 - out.masks), x * (1 - out.masks))  # context kept
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = out.reconstruction_loss.item()
    for _ in range(20):
        out = model(x)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    assert out.reconstruction_loss.item() < 0.7 * first
    model.eval().save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(loaded.get_representation(x), model.get_representation(x), rtol=0, atol=0)
    assert (loaded.discriminator is None) == (adversarial_weight == 0)


def test_colorization_learns_round_trips_and_refuses_grayscale(tmp_path):
    torch.manual_seed(0)
    model = ColorizationModel(ColorizationConfig(num_channels=3, image_size=8, widths=[8, 16]))
    x = torch.rand(8, 3, 8, 8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        out = model(x)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        losses.append(out.loss.item())
    assert losses[-1] < 0.7 * losses[0] and out.colorized.shape == (8, 3, 8, 8)
    model.eval().save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(loaded.get_representation(x), model.get_representation(x), rtol=0, atol=0)
    with pytest.raises(ValueError, match="colorization needs colour"):
        ColorizationConfig(num_channels=1)
