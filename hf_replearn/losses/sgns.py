"""Skip-gram negative-sampling loss (Mikolov et al. 2013, "Distributed Representations of Words and
Phrases and their Compositionality", eq. 4).

For a centre word c with input vector v_c, an observed context word o with output vector u_o, and K
noise words w_1..w_K drawn from the unigram distribution raised to the 3/4 (normalised):

    L = -log sigma(u_o . v_c) - sum_{k=1..K} log sigma(-u_{w_k} . v_c)

averaged over the pairs of a batch. Shapes: v_c (B, D), u_o (B, D), u_neg (B, K, D) -> scalar.
Its gradients, with s_o = sigma(u_o . v_c) and s_k = sigma(u_{w_k} . v_c):

    dL/dv_c = (s_o - 1) u_o + sum_k s_k u_{w_k}      dL/du_o = (s_o - 1) v_c      dL/du_{w_k} = s_k v_c

:func:`sgns_loss_from_tables` computes L and these gradients straight from the two embedding tables.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import torch
import torch.nn.functional as F
from torch import nn


class SGNSLoss(nn.Module):
    """``reduction``: ``mean`` (over pairs; the default) or ``sum`` (word2vec.c's per-pair SGD scale)."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.reduction = reduction

    def forward(self, v_center: torch.Tensor, u_context: torch.Tensor, u_negative: torch.Tensor) -> torch.Tensor:
        positive = (v_center * u_context).sum(-1)  # (B,)
        negative = torch.einsum("bd,bkd->bk", v_center, u_negative)  # (B, K)
        per_pair = -F.logsigmoid(positive) - F.logsigmoid(-negative).sum(-1)  # (B,)
        return per_pair.mean() if self.reduction == "mean" else per_pair.sum()


def _scatter_rows(table: torch.Tensor, index: torch.Tensor, rows: torch.Tensor) -> None:
    """table[index[i]] += rows[i]; scatter_add_ ran ~2x faster than index_add_ here on CPU."""
    table.scatter_add_(0, index.unsqueeze(1).expand(-1, table.shape[1]), rows)


def _chunk_step(w_in, w_out, c, t, weight, grad_in, grad_out):
    """One chunk: adds its table gradients to grad_in / grad_out; returns its summed loss and logits.

    c (n,) centre ids, t (n (1+K),) context then noise ids per pair, weight (n,): 1/B for a pair of the
    batch (the mean's factor), 0 for padding.
    """
    n, d = c.shape[0], w_in.shape[1]
    v = w_in.index_select(0, c)  # (n, D)
    u = w_out.index_select(0, t).view(n, -1, d)  # (n, 1+K, D)
    z = (u * v.unsqueeze(1)).sum(-1)  # (n, 1+K); a bmm of (1+K, D) x (D, 1) blocks is 4x slower on CPU
    per_pair = F.softplus(-z[:, 0]) + F.softplus(z[:, 1:]).sum(-1)
    s = torch.sigmoid(z)  # dL/dz: s - 1 for the context, s for the noise words, times 1/B for the mean
    g = torch.cat([s[:, :1] - 1, s[:, 1:]], dim=1) * weight.unsqueeze(1)
    _scatter_rows(grad_in, c, (g.unsqueeze(-1) * u).sum(1))  # (n, D)
    _scatter_rows(grad_out, t, (g.unsqueeze(-1) * v.unsqueeze(1)).view(-1, d))  # (n (1+K), D)
    return (per_pair * (weight > 0)).sum(), z


_COMPILED = {}


def _compiled_chunk_step():
    # inductor fuses the gathers, products and scatters of a chunk into one loop: measured 3.4x less CPU
    # per pair than the eager ops (0.73 vs 2.45 us, 2048-pair chunks, one thread), for ~1 min of compiling
    # the first time (then cached on disk). Chunks are padded to one shape so it compiles once.
    if "step" not in _COMPILED:
        _COMPILED["step"] = torch.compile(_chunk_step, dynamic=False)
    return _COMPILED["step"]


@torch.no_grad()  # grad mode is per thread: worker threads start with it on
def _chunk_pass(w_in, w_out, center, targets, weight, logits, chunks, chunk_size, step=_chunk_step):
    """Summed loss and (V, D) gradients of the mean loss over the batch, from the pairs in ``chunks``
    (start offsets); fills ``logits``."""
    grad_in, grad_out = torch.zeros_like(w_in), torch.zeros_like(w_out)
    loss = 0.0
    for s in chunks:
        c, t = center[s : s + chunk_size], targets[s : s + chunk_size].reshape(-1)
        chunk_loss, z = step(w_in, w_out, c, t, weight[s : s + chunk_size], grad_in, grad_out)
        logits[s : s + chunk_size] = z
        loss += float(chunk_loss)
    return loss, grad_in, grad_out


_POOLS: dict[int, ThreadPoolExecutor] = {}


class _SGNSFromTables(torch.autograd.Function):
    """Mean SGNS loss over pairs and its gradients to the (V, D) tables in one pass over chunks of pairs.

    Written by hand because autograd through ``nn.Embedding`` keeps the (B, 1+K, D) gathered rows and their
    gradient alive for the whole batch and then scatters them again: on a 2-core CPU that ran about 2x
    slower per pair than this chunked pass, which stays in cache (8k-pair batches, D=100, K=5).
    The table gradients are dense (V, D): cheap next to the batch for vocabularies up to ~10^5 words.

    With ``workers`` = T > 1 (default ``torch.get_num_threads()``), T Python threads take disjoint chunks,
    each with its own gradient buffers (summed at the end), and every op runs single-threaded, as gensim's
    workers do:
    intra-op threads meet at a barrier after each op, which a busy machine turns into spinning (2 intra-op
    threads on a loaded 2-core machine: 30-60 us per pair against 2.6 us with one). torch ops release
    the GIL, so the threads run in parallel.
    """

    @staticmethod
    def forward(ctx, w_in, w_out, center, targets, chunk_size, workers, compile):
        # center (B,); targets (B, 1+K): the context, then the K noise words
        n_pairs = len(center)
        weight = torch.full((n_pairs,), 1.0 / n_pairs, dtype=w_in.dtype)
        step = _chunk_step
        if compile:  # pad to whole chunks (id 0, weight 0) so that every chunk has one shape
            step, pad = _compiled_chunk_step(), -n_pairs % chunk_size
            center, weight = F.pad(center, (0, pad)), F.pad(weight, (0, pad))
            targets = F.pad(targets, (0, 0, 0, pad))
            workers = 1  # one compiled kernel per step: from 2 threads it ran 0.7x as fast (dynamo per call)
        logits = torch.empty(targets.shape, dtype=w_in.dtype)
        starts = list(range(0, len(center), chunk_size))
        threads = torch.get_num_threads()
        workers = min(workers or threads, len(starts))
        if workers <= 1:
            loss, grad_in, grad_out = _chunk_pass(w_in, w_out, center, targets, weight, logits, starts, chunk_size,
                                                  step)
        else:
            if workers not in _POOLS:  # kept across steps: starting threads anew each step cost more than the step
                _POOLS[workers] = ThreadPoolExecutor(workers)
            pool = _POOLS[workers]
            torch.set_num_threads(1)
            try:
                parts = list(pool.map(lambda k: _chunk_pass(w_in, w_out, center, targets, weight, logits,
                                                            starts[k::workers], chunk_size), range(workers)))
                loss = sum(p[0] for p in parts)
                grad_in, grad_out = parts[0][1], parts[0][2]
                for p in parts[1:]:
                    grad_in += p[1]
                    grad_out += p[2]
            finally:
                torch.set_num_threads(threads)
        ctx.save_for_backward(grad_in, grad_out)
        logits = logits[:n_pairs]
        ctx.mark_non_differentiable(logits)
        return torch.tensor(loss / n_pairs, dtype=w_in.dtype), logits

    @staticmethod
    def backward(ctx, grad_loss, grad_logits):
        grad_in, grad_out = ctx.saved_tensors
        if grad_loss.item() != 1.0:  # 1 when the loss is what is minimised: no pass over the tables
            grad_in, grad_out = grad_in * grad_loss, grad_out * grad_loss
        return grad_in, grad_out, None, None, None, None, None


def sgns_loss_from_tables(w_in: torch.Tensor, w_out: torch.Tensor, center_ids: torch.Tensor, context_ids: torch.Tensor,
                          negative_ids: torch.Tensor, chunk_size: int = 2048,
                          workers: int | None = None, compile: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean SGNS loss of (centre, context, K negatives) id triples and the (B, 1+K) logits u . v_c.

    w_in (V, D) holds the v vectors, w_out (V, D) the u vectors; center_ids (B,), context_ids (B,),
    negative_ids (B, K). The same value as :class:`SGNSLoss` on the gathered rows; the gradient reaches
    w_in and w_out as dense tensors, computed ``chunk_size`` pairs at a time by ``workers`` threads
    (default: ``torch.get_num_threads()``), or with ``compile`` by one torch.compile'd kernel per chunk.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    targets = torch.cat([context_ids.unsqueeze(1), negative_ids], dim=1)
    return _SGNSFromTables.apply(w_in, w_out, center_ids, targets, chunk_size, workers, compile)
