import pytest
import torch

from hf_replearn.data.augment import AugmentConfig, build_augmentation
from hf_replearn.errors import UserError


@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_range(channels):
    aug = build_augmentation(AugmentConfig(), image_size=12, num_channels=channels)
    x = torch.rand(10, channels, 16, 16)
    y = aug(x)
    assert y.shape == (10, channels, 12, 12)
    assert y.min() >= 0 and y.max() <= 1
    assert not torch.equal(aug(x), aug(x))  # random: two views differ


def test_seeded_views_repeat():
    aug = build_augmentation(AugmentConfig(), image_size=8, num_channels=3)
    x = torch.rand(4, 3, 8, 8)
    torch.manual_seed(3)
    a = aug(x)
    torch.manual_seed(3)
    assert torch.equal(a, aug(x))


def test_identity_settings_keep_the_image():
    cfg = AugmentConfig(crop_scale=[1.0, 1.0], crop_ratio=[1.0, 1.0], flip_p=0, jitter_p=0, grayscale_p=0, blur_p=0)
    x = torch.rand(3, 1, 8, 8)
    torch.testing.assert_close(build_augmentation(cfg, 8, 1)(x), x, atol=1e-5, rtol=0)


def test_bad_probability_is_a_user_error():
    with pytest.raises(UserError, match=r"augment.flip_p .* \[0, 1\]"):
        build_augmentation(AugmentConfig(flip_p=1.5), 8, 1)
    with pytest.raises(UserError, match="augment.crop_scale"):
        build_augmentation(AugmentConfig(crop_scale=[0.9, 0.1]), 8, 1)


def test_view_size_sets_the_side_of_the_views():
    assert AugmentConfig().view_side(28) == 28
    cfg = AugmentConfig(view_size=20)
    assert cfg.view_side(28) == 20
    x = torch.rand(5, 1, 28, 28)
    assert build_augmentation(cfg, cfg.view_side(28), 1)(x).shape == (5, 1, 20, 20)
    with pytest.raises(UserError, match="augment.view_size must be at least 4 pixels"):
        AugmentConfig(view_size=2).validate()
