"""The image encoder f with a classification head, as a PreTrainedModel for AutoModelForImageClassification.

``load_encoder_weights(model, folder)`` copies the encoder of any image run of this toolkit (SimCLR, MoCo's
query encoder, rotation, ...) into the classifier: the weights saved under ``encoder.`` in that run's
model.safetensors (``encoder.0.`` for the autoencoders, whose encoder is the trunk then a code layer); its
heads (projection g, pretext heads, code layers, decoders) are left behind.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.modeling_outputs import ImageClassifierOutput

from hf_replearn.errors import UserError
from hf_replearn.models.encoders import build_image_encoder
from hf_replearn.models.image_classification.configuration_image_classification import ImageClassifierConfig
from hf_replearn.models.image_encoder import ImagePreTrainedModel


class ImageEncoderForImageClassification(ImagePreTrainedModel):
    config_class = ImageClassifierConfig
    base_model_prefix = "image_classifier"

    def __init__(self, config: ImageClassifierConfig):
        super().__init__(config)
        self.encoder = build_image_encoder(config)
        dim_h = self.encoder.output_dim
        layers = [nn.Dropout(config.classifier_dropout)] if config.classifier_dropout else []
        if config.classifier_hidden_dim:
            layers += [nn.Linear(dim_h, config.classifier_hidden_dim), nn.ReLU()]
            dim_h = config.classifier_hidden_dim
        self.classifier = nn.Sequential(*layers, nn.Linear(dim_h, config.num_labels))
        self.post_init()

    def forward(self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None, **kwargs) -> ImageClassifierOutput:
        h = self.encoder(pixel_values)  # (B, C, H, W) -> (B, D_h)
        logits = self.classifier(h)  # (B, num_labels)
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return ImageClassifierOutput(loss=loss, logits=logits)


ENCODER_PREFIXES = ("encoder.", "encoder.0.")
"""Where an image family saves its encoder f: ``encoder`` itself, or its first part (the autoencoders)."""


def load_encoder_weights(model: ImageEncoderForImageClassification, folder, key: str = "model.init_from") -> None:
    """Load the ``encoder.*`` weights of the run saved in ``folder`` into ``model.encoder``, in place.

    Every encoder weight must be there with the same shape, so that no layer silently keeps its random
    init; safetensors only (nothing is unpickled).
    """
    from transformers import AutoModel

    import hf_replearn.models  # noqa: F401  (registers the Auto classes)

    from hf_replearn.models.pretrained import run_folder

    folder = run_folder(folder, key)
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise UserError(f"{key}={folder}: no model.safetensors there; give the output_dir of an image run of this toolkit")
    # Read through transformers, not the raw file: it renames a transformers backbone's saved weights to the names
    # its classes use now (transformers 5 saves ViT's `encoder.layer.N.attention.attention.query` and builds
    # `layers.N.attention.q_proj`), and loads safetensors only.
    tensors = AutoModel.from_pretrained(folder, use_safetensors=True).state_dict()
    expected = model.encoder.state_dict()
    prefix = next((p for p in ENCODER_PREFIXES if all(p + k in tensors for k in expected)), ENCODER_PREFIXES[0])
    saved = {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}
    problems = [f"{k} missing" for k in expected if k not in saved]
    problems += [f"{k}: {tuple(saved[k].shape)} saved, {tuple(v.shape)} here" for k, v in expected.items()
                 if k in saved and saved[k].shape != v.shape]  # fmt: skip
    if not saved or problems:
        found = "no encoder.* weights" if not saved else "; ".join(problems[:3]) + ("; ..." if len(problems) > 3 else "")
        raise UserError(
            f"{key}={folder}: its encoder does not fit this classifier's ({found}); start from a run whose model "
            "has an image encoder f of these sizes (simclr, moco, rotation, context, inpainting, autoencoder, beta_vae)"
        )
    model.encoder.load_state_dict({k: saved[k] for k in expected}, strict=True)
