"""The symmetric image-text InfoNCE loss of CLIP.

Radford et al., "Learning Transferable Visual Models From Natural Language Supervision", ICML 2021,
Figure 3. For a batch of N (image, text) pairs with L2-normalised embeddings I_i, T_j and a learned
log-scale t (the inverse temperature is exp(t)):

    logits = exp(t) * I T^T                                       # (N, N), pair i on the diagonal
    L = ( CE(logits, arange(N)) + CE(logits^T, arange(N)) ) / 2    # image->text and text->image

t starts at log(1 / 0.07) and exp(t) is clipped at 100, as in the paper ("to prevent scaling the logits
by more than 100"). The learnable t is the model's own parameter (``CLIPModel.logit_scale``), so that it
is saved with the checkpoint and scores zero-shot prompts the way training did; this module takes it as
an input. Where exp(t) is clipped the gradient to t is zero, which holds t where the paper's in-place
clamp would.

Under P processes each holding B pairs, every local image is scored against the texts of all P*B pairs
and every local text against all P*B images (gathered with gradient, ``utils/distributed.py``, as
NT-Xent gathers its negatives); the mean over processes is then the loss of one batch of N = P*B.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from hf_replearn.losses.checks import check_paired_batch
from hf_replearn.utils.distributed import gather_with_grad, world

INIT_LOGIT_SCALE = math.log(1 / 0.07)  # the paper's initial temperature 0.07
MAX_LOGIT_SCALE = math.log(100.0)


class CLIPLoss(nn.Module):
    """CLIP's symmetric InfoNCE.

    Args:
        max_logit_scale: exp(t) is clipped at exp(max_logit_scale) (the paper: 100).
        gather_distributed: under several processes, take negatives from every process's batch.

    Shapes:
        image_embeds, text_embeds: (N, D), row i of each from pair i (normalised here).
        logit_scale: a scalar tensor t (learnable). Returns a scalar.
    """

    def __init__(self, max_logit_scale: float = MAX_LOGIT_SCALE, gather_distributed: bool = True):
        super().__init__()
        if not math.isfinite(max_logit_scale):
            raise ValueError(f"CLIPLoss max_logit_scale must be finite, got {max_logit_scale}")
        self.max_logit_scale = float(max_logit_scale)
        self.gather_distributed = gather_distributed

    def forward(self, image_embeds: torch.Tensor, text_embeds: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
        check_paired_batch("CLIPLoss", image_embeds, text_embeds, items="pairs")
        n = image_embeds.shape[0]
        rank, _ = world() if self.gather_distributed else (0, 1)
        images = F.normalize(image_embeds.float(), dim=1)  # (n, D) this process's pairs
        texts = F.normalize(text_embeds.float(), dim=1)
        all_images = gather_with_grad(images) if self.gather_distributed else images  # (N, D), N = n * processes
        all_texts = gather_with_grad(texts) if self.gather_distributed else texts
        scale = logit_scale.float().clamp(max=self.max_logit_scale).exp()
        targets = rank * n + torch.arange(n, device=images.device)  # pair i's global row
        logits_per_image = scale * images @ all_texts.T  # (n, N)
        logits_per_text = scale * texts @ all_images.T  # (n, N): the transpose's rows for this process
        return (F.cross_entropy(logits_per_image, targets) + F.cross_entropy(logits_per_text, targets)) / 2
