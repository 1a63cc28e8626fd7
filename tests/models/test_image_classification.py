"""ImageEncoderForImageClassification: AutoModelForImageClassification round trip, its loss against a naive
cross-entropy, and the encoder loaded from another image family's checkpoint."""

import math

import pytest
import torch
from transformers import AutoConfig, AutoModelForImageClassification

import hf_replearn.models  # noqa: F401  (registers the Auto classes)
from hf_replearn.errors import UserError
from hf_replearn.models.image_classification import (
    ImageClassifierConfig,
    ImageEncoderForImageClassification,
    load_encoder_weights,
)
from hf_replearn.models.simclr import SimCLRConfig, SimCLRModel

TINY = dict(num_channels=1, image_size=8, widths=[4, 8])


def test_auto_round_trip_and_loss_against_a_naive_cross_entropy(tmp_path):
    config = ImageClassifierConfig(**TINY, num_labels=3, id2label={0: "a", 1: "b", 2: "c"}, label2id={"a": 0, "b": 1, "c": 2})
    model = AutoModelForImageClassification.from_config(config).eval()
    assert type(model) is ImageEncoderForImageClassification and model.classifier[-1].out_features == 3
    x, labels = torch.rand(4, 1, 8, 8), torch.tensor([0, 2, 1, 2])
    with torch.no_grad():
        out = model(pixel_values=x, labels=labels)
    assert out.logits.shape == (4, 3)
    naive = 0.0
    for logits, y in zip(out.logits.tolist(), labels.tolist()):
        naive -= logits[y] - math.log(sum(math.exp(v) for v in logits))
    assert out.loss.item() == pytest.approx(naive / 4, rel=1e-5)

    model.save_pretrained(tmp_path)
    loaded = AutoModelForImageClassification.from_pretrained(tmp_path).eval()
    assert type(loaded) is ImageEncoderForImageClassification
    assert AutoConfig.from_pretrained(tmp_path).id2label == {0: "a", 1: "b", 2: "c"}
    with torch.no_grad():
        torch.testing.assert_close(loaded(pixel_values=x).logits, out.logits, rtol=0, atol=0)
    assert model(pixel_values=x).loss is None


def test_the_encoder_of_a_simclr_checkpoint_loads_unchanged_and_its_head_is_dropped(tmp_path):
    torch.manual_seed(0)
    simclr = SimCLRModel(SimCLRConfig(**TINY, projection_dim=4))
    simclr.save_pretrained(tmp_path)
    classifier = ImageEncoderForImageClassification(ImageClassifierConfig(**TINY, num_labels=5))
    load_encoder_weights(classifier, tmp_path)
    saved = simclr.encoder.state_dict()
    assert classifier.encoder.state_dict().keys() == saved.keys()
    for name, tensor in classifier.encoder.state_dict().items():
        assert torch.equal(tensor, saved[name]), name
    assert not any("projection" in name for name in classifier.state_dict())
    x = torch.rand(3, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(classifier.eval().get_representation(x), simclr.eval().get_representation(x), rtol=0, atol=0)


def test_an_encoder_of_other_sizes_or_no_encoder_is_refused(tmp_path):
    SimCLRModel(SimCLRConfig(**TINY, projection_dim=4)).save_pretrained(tmp_path / "simclr")
    wider = ImageEncoderForImageClassification(ImageClassifierConfig(**{**TINY, "widths": [4, 16]}, num_labels=2))
    with pytest.raises(UserError, match=r"its encoder does not fit this classifier's \(blocks.1.conv1.weight: \(8, 4, 3, 3\) saved"):
        load_encoder_weights(wider, tmp_path / "simclr")
    with pytest.raises(UserError, match="no model.safetensors there"):
        load_encoder_weights(wider, tmp_path / "nowhere")


@pytest.mark.parametrize("kwargs, message", [({"classifier_dropout": 1.0}, "classifier_dropout must lie in"),
                                             ({"classifier_hidden_dim": 0}, "classifier_hidden_dim must be")])  # fmt: skip
def test_bad_config_values_are_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ImageClassifierConfig(**kwargs)


def test_a_transformers_vision_backbone_as_the_encoder(tmp_path):
    from transformers import ResNetConfig, ResNetModel

    backbone = ResNetModel(ResNetConfig(num_channels=1, embedding_size=4, hidden_sizes=[4, 8], depths=[1, 1]))
    backbone.save_pretrained(tmp_path / "resnet")
    config = ImageClassifierConfig(**TINY, num_labels=2, backbone=str(tmp_path / "resnet"), backbone_pretrained=True)
    model = AutoModelForImageClassification.from_config(config).eval()
    loaded = model.encoder.model.state_dict()
    assert all(torch.equal(v, loaded[k]) for k, v in backbone.state_dict().items())  # its pretrained weights
    x = torch.rand(2, 1, 8, 8)
    assert model(pixel_values=x).logits.shape == (2, 2)
    # saved, it loads on its own: the backbone's architecture is in its config.json, its weights in its checkpoint
    # (it loaded the backbone's weights inside from_pretrained, which transformers refuses, and needed its folder)
    model.save_pretrained(tmp_path / "classifier")
    __import__("shutil").rmtree(tmp_path / "resnet")
    again = AutoModelForImageClassification.from_pretrained(tmp_path / "classifier").eval()
    assert again.config.backbone_architecture["model_type"] == "resnet" and not again.config.backbone_pretrained
    torch.testing.assert_close(again(pixel_values=x).logits, model(pixel_values=x).logits)


def test_init_from_a_run_with_a_vit_backbone_reads_its_renamed_weights(tmp_path):
    """transformers 5 saves a ViT's weights under their old names (``encoder.layer.0.attention.attention.query``)
    and builds ``layers.0.attention.q_proj``: the encoder is read through transformers, which renames them."""
    from safetensors import safe_open
    from transformers import ViTConfig, ViTModel

    ViTModel(ViTConfig(image_size=8, patch_size=4, num_channels=1, hidden_size=16, num_hidden_layers=1,
                       num_attention_heads=2, intermediate_size=8)).save_pretrained(tmp_path / "vit")  # fmt: skip
    config = ImageClassifierConfig(**TINY, num_labels=2, backbone=str(tmp_path / "vit"), backbone_pretrained=True)
    run = AutoModelForImageClassification.from_config(config).eval()
    run.save_pretrained(tmp_path / "run")
    with safe_open(str(tmp_path / "run" / "model.safetensors"), "pt") as saved:
        assert not set(saved.keys()) >= {f"encoder.{k}" for k in run.encoder.state_dict()}  # names differ on disk
    fresh = AutoModelForImageClassification.from_config(ImageClassifierConfig(
        **TINY, num_labels=2, backbone=str(tmp_path / "vit"), backbone_architecture=run.config.backbone_architecture)).eval()
    load_encoder_weights(fresh, tmp_path / "run")
    x = torch.rand(2, 1, 8, 8)
    torch.testing.assert_close(fresh.encoder(x), run.encoder(x))


def test_the_trunk_of_an_autoencoders_encoder_loads_unchanged(tmp_path):
    from hf_replearn.models.autoencoder import AutoencoderConfig, AutoencoderModel

    autoencoder = AutoencoderModel(AutoencoderConfig(**TINY, latent_dim=4))
    autoencoder.save_pretrained(tmp_path)
    classifier = ImageEncoderForImageClassification(ImageClassifierConfig(**TINY, num_labels=2))
    load_encoder_weights(classifier, tmp_path)
    trunk = autoencoder.encoder[0].state_dict()  # the encoder f; encoder[1] maps h to the code z
    assert all(torch.equal(v, trunk[k]) for k, v in classifier.encoder.state_dict().items())


def test_a_vit_backbone_reads_images_of_another_size_and_a_language_model_is_refused(tmp_path):
    """A ViT is built for one image size; as the encoder its position embeddings are interpolated to the data's.
    A backbone whose model takes no images (a GPT-2) is a UserError when it is built, not a traceback in training."""
    from transformers import GPT2Config, GPT2Model, ViTConfig, ViTModel

    ViTModel(ViTConfig(image_size=32, patch_size=4, num_channels=1, hidden_size=16, num_hidden_layers=1,
                       num_attention_heads=2, intermediate_size=16)).save_pretrained(tmp_path / "vit")  # fmt: skip
    model = AutoModelForImageClassification.from_config(
        ImageClassifierConfig(**TINY, num_labels=3, backbone=str(tmp_path / "vit"), backbone_pretrained=True)).eval()
    assert model(pixel_values=torch.rand(2, 1, 8, 8)).logits.shape == (2, 3)  # 8x8 images into a 32x32 ViT
    GPT2Model(GPT2Config(n_embd=16, n_layer=1, n_head=2)).save_pretrained(tmp_path / "gpt2")
    with pytest.raises(UserError, match=r"model.backbone='.*gpt2': a gpt2 model \(GPT2Model\) takes no images"):
        AutoModelForImageClassification.from_config(ImageClassifierConfig(**TINY, num_labels=3, backbone=str(tmp_path / "gpt2")))


def test_grey_images_go_to_a_colour_backbone_as_three_equal_channels(tmp_path):
    """A pretrained backbone is an RGB one (an ImageNet ResNet); Fashion-MNIST is grey: it reads each grey image as
    the image in all three channels. Data of a channel count it cannot read is refused when the model is built."""
    from transformers import ResNetConfig, ResNetModel

    torch.manual_seed(0)
    backbone = ResNetModel(ResNetConfig(num_channels=3, embedding_size=4, hidden_sizes=[4, 8], depths=[1, 1])).eval()
    backbone.save_pretrained(tmp_path / "resnet")
    config = ImageClassifierConfig(**TINY, num_labels=2, backbone=str(tmp_path / "resnet"), backbone_pretrained=True)
    model = AutoModelForImageClassification.from_config(config).eval()
    x = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        want = backbone(pixel_values=x.repeat(1, 3, 1, 1)).pooler_output.flatten(1)
        torch.testing.assert_close(model.get_representation(x), want)
    with pytest.raises(UserError, match="takes 3-channel images and the data has 2 channels"):
        AutoModelForImageClassification.from_config(ImageClassifierConfig(**{**TINY, "num_channels": 2}, num_labels=2,
                                                                          backbone=str(tmp_path / "resnet"),
                                                                          backbone_pretrained=True))  # fmt: skip


def test_a_pretrained_backbone_reads_pixels_normalised_as_its_image_processor_says(tmp_path):
    """[0, 1] pixels become (x - image_mean) / image_std of the processor saved beside the weights, in training and
    after a reload (the statistics are kept in the config); a backbone without a processor reads them as they are."""
    from transformers import ConvNextImageProcessor, ResNetConfig, ResNetModel

    torch.manual_seed(0)
    backbone = ResNetModel(ResNetConfig(num_channels=3, embedding_size=4, hidden_sizes=[4, 8], depths=[1, 1])).eval()
    backbone.save_pretrained(tmp_path / "resnet")
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    ConvNextImageProcessor(image_mean=mean, image_std=std).save_pretrained(tmp_path / "resnet")
    config = ImageClassifierConfig(**TINY, num_labels=2, backbone=str(tmp_path / "resnet"), backbone_pretrained=True)
    model = AutoModelForImageClassification.from_config(config).eval()
    assert model.config.backbone_normalization == {"mean": pytest.approx(mean), "std": pytest.approx(std)}
    x = torch.rand(2, 1, 8, 8)
    by_hand = (x.repeat(1, 3, 1, 1) - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        want = backbone(pixel_values=by_hand).pooler_output.flatten(1)
        torch.testing.assert_close(model.get_representation(x), want)
        model.save_pretrained(tmp_path / "run")
        again = AutoModelForImageClassification.from_pretrained(tmp_path / "run").eval()
        torch.testing.assert_close(again.get_representation(x), want)
    (tmp_path / "resnet" / "preprocessor_config.json").unlink()
    plain = AutoModelForImageClassification.from_config(ImageClassifierConfig(**TINY, num_labels=2,
        backbone=str(tmp_path / "resnet"), backbone_pretrained=True)).eval()  # fmt: skip
    assert plain.config.backbone_normalization is None
