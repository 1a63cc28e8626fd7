"""Registers every hf_replearn model family with the transformers Auto classes.

After ``import hf_replearn.models``, ``AutoConfig.from_pretrained(dir)`` and ``AutoModel.from_pretrained(dir)``
load this project's checkpoints like any transformers model. Each entry: model_type -> (module, config
class, model class). ``trust_remote_code`` is never needed: the code is in this package.
"""

from __future__ import annotations

import importlib

from transformers import AutoConfig, AutoModel, AutoModelForImageClassification

FAMILIES: dict[str, tuple[str, str, str]] = {
    "image_encoder": ("hf_replearn.models.image_encoder", "ImageEncoderConfig", "ImageEncoderModel"),
    "text_encoder": ("hf_replearn.models.text_encoder", "TextEncoderConfig", "TextEncoderModel"),
    "simclr": ("hf_replearn.models.simclr", "SimCLRConfig", "SimCLRModel"),
    "word2vec": ("hf_replearn.models.word2vec", "Word2VecConfig", "Word2VecModel"),
    "cpc": ("hf_replearn.models.cpc", "CPCConfig", "CPCModel"),
    "moco": ("hf_replearn.models.moco", "MoCoConfig", "MoCoModel"),
    "vicreg": ("hf_replearn.models.vicreg", "VICRegConfig", "VICRegModel"),
    "rotation": ("hf_replearn.models.rotation", "RotationConfig", "RotationModel"),
    "autoencoder": ("hf_replearn.models.autoencoder", "AutoencoderConfig", "AutoencoderModel"),
    "beta_vae": ("hf_replearn.models.beta_vae", "BetaVAEConfig", "BetaVAEModel"),
    "context": ("hf_replearn.models.context", "ContextConfig", "ContextModel"),
    "inpainting": ("hf_replearn.models.inpainting", "InpaintingConfig", "InpaintingModel"),
    "colorization": ("hf_replearn.models.colorization", "ColorizationConfig", "ColorizationModel"),
    "image_encoder_classifier": (
        "hf_replearn.models.image_classification", "ImageClassifierConfig", "ImageEncoderForImageClassification"
    ),
}
IMAGE_CLASSIFICATION = ("image_encoder_classifier",)
"""Families that are also an ``AutoModelForImageClassification`` (a classification head on the encoder)."""


def register_all() -> None:
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    for model_type, (module_name, config_name, model_name) in FAMILIES.items():
        if model_type in CONFIG_MAPPING:
            continue
        module = importlib.import_module(module_name)
        config_cls, model_cls = getattr(module, config_name), getattr(module, model_name)
        AutoConfig.register(model_type, config_cls)
        AutoModel.register(config_cls, model_cls)
        if model_type in IMAGE_CLASSIFICATION:
            AutoModelForImageClassification.register(config_cls, model_cls)
