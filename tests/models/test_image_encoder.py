"""The image-model kit: every image family is an ImagePreTrainedModel over an ImageEncoderConfig."""

import pytest
import torch
from transformers import AutoConfig, AutoModel

import hf_replearn.models  # noqa: F401  (registers the Auto classes)
from hf_replearn.models.encoders import SmallResNet
from hf_replearn.models.image_encoder import ImageEncoderConfig, ImageEncoderModel, ImagePreTrainedModel

FAMILIES = {  # model_type -> (tiny config fields, checkpoint prefix saved since the family was added)
    "image_encoder": ({}, "image_encoder"),
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


def test_bare_encoder_returns_h_as_pooler_output_and_the_last_map():
    torch.manual_seed(0)
    config = ImageEncoderConfig(num_channels=3, image_size=16, widths=[4, 8, 12], stem_stride=2)
    model = ImageEncoderModel(config).eval()
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        out = model(pixel_values=x)
        assert out.last_hidden_state.shape == (2, 12, 2, 2)  # 16 -> 8 at the stem -> 4 -> 2
        torch.testing.assert_close(out.pooler_output, out.last_hidden_state.mean(dim=(2, 3)), rtol=0, atol=0)
        torch.testing.assert_close(out.pooler_output, model.get_representation(x), rtol=0, atol=0)
    assert config.hidden_size == 12
    with pytest.raises(AttributeError, match="backbone"):
        ImageEncoderConfig(backbone="some/vit").hidden_size


def test_bare_encoder_is_the_image_tower_of_a_dual_encoder(tmp_path):
    from transformers import CLIPTextConfig, VisionTextDualEncoderConfig, VisionTextDualEncoderModel

    torch.manual_seed(0)
    vision = ImageEncoderConfig(num_channels=3, image_size=16, widths=[4, 8])
    text = CLIPTextConfig(vocab_size=20, hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
                          max_position_embeddings=6, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model = VisionTextDualEncoderModel(VisionTextDualEncoderConfig.from_vision_text_configs(vision, text, projection_dim=5))
    model.eval()
    assert isinstance(model.vision_model, ImageEncoderModel) and model.visual_projection.in_features == 8
    x, ids = torch.rand(3, 3, 16, 16), torch.tensor([[1, 5, 6, 2, 0, 0]] * 3)
    model.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        image = model.get_image_features(pixel_values=x).pooler_output
        assert image.shape == (3, 5)
        torch.testing.assert_close(image, model.visual_projection(model.vision_model.get_representation(x)))
        torch.testing.assert_close(loaded.get_image_features(pixel_values=x).pooler_output, image, rtol=0, atol=0)
        torch.testing.assert_close(loaded(input_ids=ids, pixel_values=x).logits_per_image,
                                   model(input_ids=ids, pixel_values=x).logits_per_image, rtol=0, atol=0)
    # The image tower stands alone: saved by itself, it loads as an AutoModel.
    model.vision_model.save_pretrained(tmp_path / "vision")
    alone = AutoModel.from_pretrained(tmp_path / "vision").eval()
    assert type(alone) is ImageEncoderModel
    with torch.no_grad():
        torch.testing.assert_close(alone(pixel_values=x).pooler_output, model.vision_model(pixel_values=x).pooler_output)
