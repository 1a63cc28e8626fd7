"""InfoNCE over future time steps, as in Contrastive Predictive Coding.

van den Oord, Li & Vinyals, "Representation Learning with Contrastive Predictive Coding", 2018
(arXiv:1807.03748), eq. 4. An encoder maps audio to frames ``z_t``; a recurrent context network
summarises ``z_{<=t}`` in ``c_t``; a linear map ``W_k`` per step predicts ``z_{t+k}``. With the score
``f_k(z, c_t) = z^T W_k c_t`` and a set ``X`` holding the true ``z_{t+k}`` and ``N`` negatives,

    L_k = - E_t [ log( exp(f_k(z_{t+k}, c_t)) / sum_{z_j in X} exp(f_k(z_j, c_t)) ) ]

and the loss is the mean of ``L_k`` over ``k = 1..K`` (the paper sums; the mean keeps the scale
independent of ``K``). The paper predicts K = 12 steps (120 ms) with 10 negatives (Sec. 3.1).

Negatives (the paper's Table 2 compares these): ``same_sequence`` draws frames of the same clip,
``same_speaker`` frames of any clip of the same speaker in the batch, ``mixed`` frames of any clip in the
batch. Negatives are drawn per target frame ``(b, t+k)``, uniformly and with replacement; as in the paper
a draw may hit the positive itself.

Shapes: ``z`` (B, T, D); ``predictions`` (B, T, K, D) with ``predictions[:, t, k-1] = W_k c_t``;
negative indices (B, T, N) into the flattened ``B * T`` frames.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

NEGATIVE_SAMPLING = ("same_sequence", "same_speaker", "mixed")


def sample_negatives(batch_size: int, num_frames: int, num_negatives: int, strategy: str = "same_sequence",
                     speaker_ids: torch.Tensor | None = None, generator: torch.Generator | None = None,
                     device=None) -> torch.Tensor:
    """Indices (B, T, N) into the B*T flattened frames, drawn for each target frame under ``strategy``."""
    B, T, N = batch_size, num_frames, num_negatives
    times = torch.randint(0, T, (B, T, N), generator=generator)
    if strategy == "same_sequence":
        seqs = torch.arange(B).view(B, 1, 1).expand(B, T, N)
    elif strategy == "mixed":
        seqs = torch.randint(0, B, (B, T, N), generator=generator)
    elif strategy == "same_speaker":
        if speaker_ids is None:
            raise ValueError("negative_sampling='same_speaker' needs speaker_ids for the batch")
        speaker_ids = speaker_ids.cpu()
        seqs = torch.empty(B, T, N, dtype=torch.long)
        for b in range(B):  # B is a batch size: a short loop
            pool = torch.nonzero(speaker_ids == speaker_ids[b]).view(-1)  # includes b itself
            seqs[b] = pool[torch.randint(0, len(pool), (T, N), generator=generator)]
    else:
        raise ValueError(f"negative sampling {strategy!r} is not one of {NEGATIVE_SAMPLING}")
    return (seqs * T + times).to(device)


class CPCInfoNCELoss(nn.Module):
    """Mean over steps k of the InfoNCE loss L_k; also returns the top-1 accuracy of each step."""

    def __init__(self, num_negatives: int = 10, negative_sampling: str = "same_sequence"):
        super().__init__()
        if num_negatives < 1:
            raise ValueError(f"num_negatives must be >= 1, got {num_negatives}")
        if negative_sampling not in NEGATIVE_SAMPLING:
            raise ValueError(f"negative_sampling must be one of {NEGATIVE_SAMPLING}, got {negative_sampling!r}")
        self.num_negatives = num_negatives
        self.negative_sampling = negative_sampling

    def forward(self, z: torch.Tensor, predictions: torch.Tensor, speaker_ids: torch.Tensor | None = None,
                negative_indices: torch.Tensor | None = None, generator: torch.Generator | None = None):
        B, T, K, D = predictions.shape
        if K >= T:
            raise ValueError(f"predicting {K} steps needs more than {K} frames, got {T}")
        if negative_indices is None:
            negative_indices = sample_negatives(B, T, self.num_negatives, self.negative_sampling, speaker_ids,
                                                generator, device=z.device)
        negatives = z.reshape(B * T, D)[negative_indices]  # (B, T, N, D)
        losses, accuracies = [], []
        for k in range(1, K + 1):
            pred = predictions[:, : T - k, k - 1]  # (B, T-k, D): W_k c_t
            pos = (pred * z[:, k:]).sum(-1, keepdim=True)  # (B, T-k, 1)
            neg = torch.einsum("btd,btnd->btn", pred, negatives[:, k:])  # (B, T-k, N)
            logits = torch.cat([pos, neg], dim=-1).reshape(-1, 1 + negatives.shape[2])
            target = torch.zeros(len(logits), dtype=torch.long, device=logits.device)  # the positive is column 0
            losses.append(F.cross_entropy(logits, target))
            accuracies.append((logits.argmax(-1) == 0).float().mean())
        return torch.stack(losses).mean(), torch.stack(accuracies)
