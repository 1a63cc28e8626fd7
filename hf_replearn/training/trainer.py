"""Trainer subclasses: only what must change from ``transformers.Trainer``."""

from __future__ import annotations

import numpy as np
import torch
from transformers import Trainer

from hf_replearn.data.images import flat_pixels
from hf_replearn.training.callbacks import RunTotals, run_totals
from hf_replearn.training.checkpoints import AtomicCheckpointMixin
from hf_replearn.training.conv_weight_grad import use_shifted_weight_grads


class ReplearnTrainer(AtomicCheckpointMixin, Trainer):
    """``transformers.Trainer`` whose checkpoints are published atomically (training/checkpoints.py):
    a crash mid-save leaves the previous checkpoint as the latest. Every recipe trains with this class
    (``training/lifecycle.py``), and a task's own Trainer derives from it.

    With ``dataloader_drop_last`` and fewer training examples than a global batch (a smoke run's
    ``dataset_limit=64`` under a batch of 256) every batch would be dropped and nothing trained: the
    per-device batch is then lowered to fit the examples each process has, with a note.

    A :class:`~hf_replearn.training.callbacks.RunTotals` keeps the training time and summed loss in every
    checkpoint, so that a resumed run reports the runtime, throughput and mean loss of the whole run
    (``training/lifecycle.py``).

    A training split of images collated by :class:`ImageCollator` is read from a copy with flat pixel rows
    (``data/images.flat_pixels``: random batches from datasets about 10x faster).

    On the CPU, the model's convolutions take their weight gradients from whichever of oneDNN's kernel and
    one GEMM per kernel offset runs faster for each layer (``training/conv_weight_grad.py``; not under
    ``torch_compile``, whose tracing cannot time kernels).
    """

    def __init__(self, *args, **kwargs):
        training_args = kwargs["args"] if "args" in kwargs else args[1] if len(args) > 1 else None
        fit_batch_to_dataset(training_args, kwargs.get("train_dataset"))
        collator = kwargs.get("data_collator")
        if isinstance(collator, ImageCollator) and collator.image_shape is None and "train_dataset" in kwargs:
            kwargs["train_dataset"], collator.image_shape = flat_pixels(kwargs["train_dataset"])
        super().__init__(*args, **kwargs)
        self.add_callback(RunTotals())
        if self.args.device.type == "cpu" and not self.args.torch_compile:
            use_shifted_weight_grads(self.model)

    def _save_checkpoint(self, model, trial) -> None:
        totals = run_totals(self)
        if totals is not None:  # Trainer's running loss sum of this attempt: logged part + not yet logged part
            totals.loss_sum = totals.earlier_loss_sum + self._total_loss_scalar + self._tr_loss.item()
        super()._save_checkpoint(model, trial)


def fit_batch_to_dataset(args, train_dataset) -> None:
    """Lower ``args.per_device_train_batch_size`` to the examples per process when dropping the last partial
    batch would leave no batch at all (see :class:`ReplearnTrainer`)."""
    if args is None or not args.dataloader_drop_last or train_dataset is None or not hasattr(train_dataset, "__len__"):
        return
    per_process = len(train_dataset) // args.world_size
    if 0 < per_process < args.per_device_train_batch_size:
        # a power of two: a MoCo queue (a power of two in the recipes) stays a multiple of the batch, and
        # BatchNorm shuffle groups (2, 4, 8) still divide it
        batch = 1 << (per_process.bit_length() - 1)
        print(f"[train] per_device_train_batch_size={args.per_device_train_batch_size} is more than the "
              f"{per_process} training examples per process: batches of {batch}", flush=True)
        args.per_device_train_batch_size = batch


class ImageCollator:
    """Stacks uint8 (C, H, W) images into a float batch in [0, 1]; labels go under ``labels`` if asked.
    Images stored flat (``data.images.flat_pixels``, as :class:`ReplearnTrainer` stores a training split) are
    reshaped to ``image_shape``."""

    def __init__(self, with_labels: bool = False, with_index: bool = False, image_shape: tuple | None = None):
        self.with_labels = with_labels
        self.with_index = with_index  # ``sample_index`` from an ``index`` column (MoCo's memory bank)
        self.image_shape = image_shape

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        pixels = np.stack([np.asarray(f["pixel_values"]) for f in features])
        if self.image_shape is not None:
            pixels = pixels.reshape(len(features), *self.image_shape)
        pixels = torch.from_numpy(pixels).float().div_(255)
        batch = {"pixel_values": pixels}
        if self.with_labels:
            batch["labels"] = torch.tensor([int(f["label"]) for f in features])
        if self.with_index:
            batch["sample_index"] = torch.tensor([int(f["index"]) for f in features])
        return batch


class TwoViewTrainer(ReplearnTrainer):
    """Draws two augmented views of each image on the training device, then calls
    ``model(pixel_values=view1, pixel_values_2=view2)``, whose output carries the loss.

    Augmenting inside ``compute_loss`` (rather than in the collator) runs kornia on the GPU when there
    is one and keeps dataloader workers free of torch randomness. Other collated inputs (``sample_index``)
    are passed on unchanged.
    """

    def __init__(self, *args, augmentation: torch.nn.Module, local_augmentation: torch.nn.Module | None = None,
                 local_crops: int = 0, channels_last: bool = False, **kwargs):  # fmt: skip
        super().__init__(*args, **kwargs)
        self.augmentation = augmentation
        self.local_augmentation = local_augmentation
        self.local_crops = local_crops if local_augmentation is not None else 0
        self.channels_last = channels_last
        if channels_last:  # NHWC convolutions (weights and views): oneDNN's fast path on CPUs
            self.model.to(memory_format=torch.channels_last)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        x = inputs["pixel_values"]
        extra = {k: v for k, v in inputs.items() if k != "pixel_values"}
        if self.local_crops:  # multi-crop: (V, N, C, s, s) local views, drawn in one batched call
            local = self.local_augmentation(x.repeat(self.local_crops, 1, 1, 1))
            extra["pixel_values_local"] = self._layout(local).unflatten(0, (self.local_crops, len(x)))
        views = self._layout(self.augmentation(x)), self._layout(self.augmentation(x))
        outputs = model(pixel_values=views[0], pixel_values_2=views[1], **extra)
        return (outputs.loss, outputs) if return_outputs else outputs.loss

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


class AugmentedTrainer(ReplearnTrainer):
    """Supervised training on augmented images: while training, ``pixel_values`` pass through
    ``augmentation`` (kornia, on the training device, as in ``TwoViewTrainer``) before the model, whose
    output carries the loss from ``labels``; evaluation and prediction see the images as they are."""

    def __init__(self, *args, augmentation: torch.nn.Module, **kwargs):
        super().__init__(*args, **kwargs)
        self.augmentation = augmentation

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training:  # Trainer's prediction_step calls compute_loss too, in eval mode
            inputs = {**inputs, "pixel_values": self.augmentation(inputs["pixel_values"])}
        outputs = model(**inputs)
        return (outputs.loss, outputs) if return_outputs else outputs.loss


def logged_loss_range(trainer) -> dict[str, float]:
    """First and last training loss the Trainer logged: shows in results.json that the loss fell."""
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return {"train/first_logged_loss": float(losses[0]), "train/last_logged_loss": float(losses[-1])} if losses else {}
