"""NT-Xent over several views per sample: two global crops and any number of small local crops (multi-crop).

Multi-crop (Caron et al., "Unsupervised Learning of Visual Features by Contrasting Cluster Assignments" (SwAV),
NeurIPS 2020, Sec. 3.2) adds V - 2 low-resolution crops to the two standard-resolution ones: each sees a part of
the object at a fraction of the compute (a 14x14 crop costs about a quarter of a 28x28 one), and each is asked to
match the global views. The paper applies it to SimCLR as well and reports that it gains there too.

With several positives per anchor, the contrastive loss is the multi-positive form (Khosla et al., "Supervised
Contrastive Learning", NeurIPS 2020, Eq. 2, with "same sample" in place of "same class"). For V views of N
samples (VN embeddings, s(u, v) = u.v / (|u| |v|), temperature tau), the loss of anchor a is

    l(a) = -1/|P(a)| sum_{p in P(a)} log( exp(s(z_a, z_p) / tau) / sum_{k != a} exp(s(z_a, z_k) / tau) )

where k runs over the other VN - 1 embeddings and P(a) holds the global views of a's sample other than a itself
(as in SwAV, local crops are matched to global views only, never to each other). The batch loss is the mean of
l over all VN anchors. With two global views and no local crop P(a) is a's other view, and this is SimCLR's
NT-Xent exactly (``losses/ntxent.py``).

Under P processes the negatives are the embeddings of all P*N samples (gathered with gradient,
``utils/distributed.py``) and each process averages over its own anchors, as NT-Xent does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hf_replearn.utils.distributed import gather_with_grad, world


class MultiCropNTXentLoss(nn.Module):
    """Multi-positive NT-Xent over 2 global views and V - 2 local views of each sample.

    Args:
        temperature: tau > 0.
        gather_distributed: under several processes, take negatives from every process's batch.

    Shapes:
        views: a list of V >= 2 tensors (N, D); the first two are the global views. Returns a scalar.
    """

    num_global = 2

    def __init__(self, temperature: float = 0.5, gather_distributed: bool = True):
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"MultiCropNTXentLoss temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)
        self.gather_distributed = gather_distributed

    def forward(self, views: list[torch.Tensor]) -> torch.Tensor:
        if len(views) < self.num_global or len({tuple(v.shape) for v in views}) != 1:
            raise ValueError(f"MultiCropNTXentLoss needs >= 2 views of one shape (N, D), got {[tuple(v.shape) for v in views]}")
        n, n_views = views[0].shape[0], len(views)
        rank, _ = world() if self.gather_distributed else (0, 1)
        gathered = [gather_with_grad(v) for v in views] if self.gather_distributed else views
        big_n = gathered[0].shape[0]
        candidates = F.normalize(torch.cat(gathered), dim=1)  # (V*N, D): view 0 of all samples, then view 1, ...
        anchors = F.normalize(torch.cat(views), dim=1)  # (V*n, D): this process's samples, view by view
        logits = (anchors @ candidates.T).float() / self.temperature  # (V*n, V*N)

        view_of_anchor = torch.arange(n_views, device=logits.device).repeat_interleave(n)  # (V*n,)
        sample = rank * n + torch.arange(n, device=logits.device).repeat(n_views)  # global sample index per anchor
        self_col = view_of_anchor * big_n + sample
        rows = torch.arange(n_views * n, device=logits.device)
        # An anchor is never its own negative: drop it from the softmax denominator.
        logits = logits.index_put((rows, self_col), torch.tensor(float("-inf"), device=logits.device))
        log_prob = logits.log_softmax(dim=1)

        # Positives: the global views of the anchor's sample, other than the anchor itself.
        positive_cols = torch.stack([g * big_n + sample for g in range(self.num_global)], dim=1)  # (V*n, 2)
        is_self = positive_cols == self_col[:, None]
        positive_log_prob = log_prob.gather(1, positive_cols).masked_fill(is_self, 0.0)
        return -(positive_log_prob.sum(1) / (~is_self).sum(1)).mean()
