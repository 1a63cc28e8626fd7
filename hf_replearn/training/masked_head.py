"""Masked-LM training that runs the output layer on the masked positions only.

``BertForMaskedLM`` / ``RobertaForMaskedLM`` apply their LM head (a transform and a hidden x vocabulary
projection) to every position and then drop the ~85% whose label is -100 in the cross-entropy. For a small
encoder that head is a large share of a step: 4 layers of hidden 256 cost about 12 x 256^2 multiply-adds
per token and layer (3.1M per token), the head 256 x 8,000 (2.0M per token) at every position. The loss only
needs the head's output where a label exists, so during training this module gathers those positions before
the head:

    mean over {i : y_i != -100} of CE(head(h_i), y_i)  ==  mean over i of CE(head(h[mask])_i, y[mask]_i)

which is the same number (same terms, same count), for about 15% of the head's compute. No library does this
for transformers' masked-LM classes (they have no option to skip positions), hence the two forward hooks
here: one on the model stashes the mask and hands the model ``labels[mask]``, one on the head gathers
``hidden[mask]``. Hooks rather than a subclass keep the saved checkpoint an ordinary ``BertForMaskedLM``
and keep working under DDP / FSDP wrappers, which call the same modules' forward.

Evaluation (``model.eval()``) is untouched: Trainer's metrics need logits at every position.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100
HEAD_ATTRIBUTES = ("cls", "lm_head")  # BertForMaskedLM and its kin, RobertaForMaskedLM and its kin


class MaskedPositionsOnly:
    """Installs the hooks on ``model`` (a masked-LM PreTrainedModel); ``remove()`` takes them away again."""

    def __init__(self, model):
        self.head = next((getattr(model, a) for a in HEAD_ATTRIBUTES if hasattr(model, a)), None)
        self._mask = None
        self._handles = []
        if self.head is None:
            logger.info("%s has no `cls` / `lm_head`: its LM head runs on every position", type(model).__name__)
            return
        self._handles = [
            model.register_forward_pre_hook(self._take_labels, with_kwargs=True),
            self.head.register_forward_pre_hook(self._gather_positions),
            model.register_forward_hook(self._forget),
        ]

    @property
    def active(self) -> bool:
        return bool(self._handles)

    def _take_labels(self, module, args, kwargs):
        self._mask, labels = None, kwargs.get("labels")
        if not module.training or labels is None:
            return None
        self._mask = labels != IGNORE_INDEX
        return args, {**kwargs, "labels": labels[self._mask]}

    def _gather_positions(self, module, args):
        if self._mask is None:
            return None
        hidden = args[0]
        return (hidden[self._mask.to(hidden.device)], *args[1:])

    def _forget(self, module, args, output):
        self._mask = None

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
