"""The Trainer of image-text dual encoders: augments the images, then applies a contrastive loss module."""

from __future__ import annotations

import torch

from hf_replearn.losses.clip import CLIPLoss
from hf_replearn.training.trainer import ReplearnTrainer


class ImageTextTrainer(ReplearnTrainer):
    """Trains a dual encoder (``CLIPModel``) with ``losses/clip.py`` instead of the model's own loss.

    ``CLIPModel(return_loss=True)`` computes the same symmetric InfoNCE, but over this process's batch only
    and with an unclipped scale; here the towers' embeddings and the model's learnable ``logit_scale`` go to
    ``CLIPLoss``, which takes its negatives from every process. Images are augmented on the training
    device, as ``TwoViewTrainer`` does.
    """

    def __init__(self, *args, augmentation: torch.nn.Module, loss: CLIPLoss | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.augmentation = augmentation
        self.loss = loss or CLIPLoss()

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        # Through forward (not get_image_features) so that DDP's hooks see the towers run.
        outputs = model(pixel_values=self.augmentation(inputs["pixel_values"]), input_ids=inputs["input_ids"],
                        attention_mask=inputs["attention_mask"], return_loss=False)  # fmt: skip
        logit_scale = self.accelerator.unwrap_model(model).logit_scale
        loss = self.loss(outputs.image_embeds, outputs.text_embeds, logit_scale)
        return (loss, outputs) if return_outputs else loss
