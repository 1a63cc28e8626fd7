"""The image-model kit: every image family is an ImagePreTrainedModel over an ImageEncoderConfig."""

import pytest
import torch
from transformers import AutoConfig, AutoModel

import hf_replearn.models  # noqa: F401  (registers the Auto classes)
from hf_replearn.models.encoders import SmallResNet
from hf_replearn.models.image_encoder import ImageEncoderConfig, ImagePreTrainedModel

FAMILIES = {  # model_type -> (tiny config fields, checkpoint prefix saved since the family was added)
    "simclr": ({"projection_dim": 8}, "simclr"),
    "moco": ({"projection_dim": 8, "queue_size": 8}, "moco"),
    "rotation": ({}, "rotation"),
    "context": ({"image_size": 32, "classifier_hidden_dim": 8}, "context"),
    "inpainting": ({}, "inpainting"),
    "colorization": ({"num_channels": 3}, "colorization"),
    "autoencoder": ({"latent_dim": 4}, "autoencoder"),
    "beta_vae": ({"latent_dim": 3}, "beta_vae"),
    "image_encoder_classifier": ({"num_labels": 3, "classifier_hidden_dim": 8}, "image_classifier"),
}


@pytest.mark.parametrize("model_type", FAMILIES)
def test_every_image_family_shares_the_kit_and_round_trips(model_type, tmp_path):
    fields, prefix = FAMILIES[model_type]
    torch.manual_seed(0)
    config = AutoConfig.for_model(model_type, **{"image_size": 16, "widths": [4, 8], **fields})
    model = AutoModel.from_config(config).eval()
    assert isinstance(config, ImageEncoderConfig) and isinstance(model, ImagePreTrainedModel)
    assert model.main_input_name == "pixel_values" and model.base_model_prefix == prefix
    # The shared init: He-normal convolutions (std sqrt(2 / fan_out)), identity BatchNorm.
    stem = next(m for m in model.modules() if isinstance(m, SmallResNet)).stem
    fan_out = stem[0].weight.shape[0] * 9
    assert stem[0].weight.std().item() == pytest.approx((2 / fan_out) ** 0.5, rel=0.35)
    assert torch.equal(stem[1].weight, torch.ones_like(stem[1].weight))

    x = torch.rand(2, config.num_channels, config.image_size, config.image_size)
    model.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert type(loaded) is type(model)
    with torch.no_grad():
        torch.testing.assert_close(loaded.get_representation(x), model.get_representation(x), rtol=0, atol=0)
