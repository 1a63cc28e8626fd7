import pytest
import torch

from hf_replearn.models.autoencoder import AutoencoderConfig, AutoencoderModel
from hf_replearn.models.encoders import build_image_encoder, feature_map_size
from hf_replearn.models.simclr import SimCLRConfig


@pytest.mark.parametrize("image_size,stem_stride,side", [(28, 1, 7), (28, 2, 4), (16, 2, 2), (25, 1, 7)])
def test_feature_map_size_matches_the_encoder(image_size, stem_stride, side):
    config = SimCLRConfig(image_size=image_size, widths=[4, 8, 8], stem_stride=stem_stride)
    assert feature_map_size(config) == side
    encoder = build_image_encoder(config)
    maps = encoder.blocks(encoder.stem(torch.rand(2, 1, image_size, image_size)))
    assert maps.shape == (2, 8, side, side)
    assert encoder(torch.rand(2, 1, image_size, image_size)).shape == (2, 8)


def test_stem_stride_2_quarters_the_first_stage_and_keeps_parameters():
    one, two = (build_image_encoder(SimCLRConfig(widths=[4, 8], stem_stride=s)) for s in (1, 2))
    assert sum(p.numel() for p in one.parameters()) == sum(p.numel() for p in two.parameters())
    x = torch.rand(1, 1, 28, 28)
    assert one.stem(x).shape[-1] == 28 and two.stem(x).shape[-1] == 14


def test_autoencoder_with_stem_stride_2_upsamples_once_more_and_reconstructs_at_full_size():
    model = AutoencoderModel(AutoencoderConfig(image_size=28, widths=[4, 8, 8], stem_stride=2, latent_dim=3))
    assert model.decoder.bottom == 4
    # 4 -> 8 -> 16 -> 32 through three transposed convolutions (two stages + the stem), then resized to 28
    x = torch.rand(2, 1, 28, 28)
    assert model(x).reconstructions.shape == x.shape
    z = torch.zeros(1, 3)
    assert model.decoder.out(model.decoder.ups(torch.relu(model.decoder.fc(z)).view(1, 8, 4, 4))).shape[-1] == 32


def test_stem_stride_other_than_1_or_2_is_refused():
    with pytest.raises(ValueError, match="stem_stride must be 1 or 2"):
        SimCLRConfig(stem_stride=3)
