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

    c (n,) centre ids, t (n (1+K),) context then noise ids per pair, weight (n,): 1/B (the mean's factor).
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
    return per_pair.sum(), z


@torch.no_grad()  # grad mode is per thread: worker threads start with it on
def _chunk_pass(w_in, w_out, center, targets, weight, logits, chunks, chunk_size):
    """Summed loss and (V, D) gradients of the mean loss over the batch, from the pairs in ``chunks``
    (start offsets); fills ``logits``."""
    grad_in, grad_out = torch.zeros_like(w_in), torch.zeros_like(w_out)
    loss = 0.0
    for s in chunks:
        c, t = center[s : s + chunk_size], targets[s : s + chunk_size].reshape(-1)
        chunk_loss, z = _chunk_step(w_in, w_out, c, t, weight[s : s + chunk_size], grad_in, grad_out)
        logits[s : s + chunk_size] = z
        loss += float(chunk_loss)
    return loss, grad_in, grad_out


def _part_step(w_in, w_out, c, t, scale):
    """A whole part of a batch at once, for torch.compile: its summed loss, logits and (V, D) table gradients.

    c (n,) centre ids, t (n, 1+K) context then noise ids, scale (): 1/B of the whole batch (the mean).
    Eager, this would hold (n, 1+K, D) rows; compiled, inductor fuses the gathers, products and scatters
    into loops over the pairs that keep no such buffer, so no chunking is needed.
    """
    d = w_in.shape[1]
    v = w_in[c]  # (n, D)
    u = w_out[t]  # (n, 1+K, D)
    z = (u * v.unsqueeze(1)).sum(-1)  # (n, 1+K)
    per_pair = F.softplus(-z[:, 0]) + F.softplus(z[:, 1:]).sum(-1)
    s = torch.sigmoid(z)
    g = torch.cat([s[:, :1] - 1, s[:, 1:]], dim=1) * scale
    grad_in = torch.zeros_like(w_in).index_add_(0, c, (g.unsqueeze(-1) * u).sum(1))
    grad_out = torch.zeros_like(w_out).index_add_(0, t.reshape(-1), (g.unsqueeze(-1) * v.unsqueeze(1)).reshape(-1, d))
    return per_pair.sum(), z, grad_in, grad_out


_COMPILED = {}


def _compiled_part_step():
    # One C++ kernel per part: measured 2x less CPU per pair than the chunked kernel compiled before
    # (whose in-place scatters made inductor copy both (V, D) buffers in and out per chunk), 0.5 us per pair
    # on one thread. cpp_wrapper makes the compiled call release the GIL (the default Python binding holds
    # it), so parts run in parallel on Python threads; cpp.threads=1 keeps OpenMP out of the kernel, whose
    # barriers spin on a busy machine. The pair count is the one dynamic size (one compile for all batches).
    if "part" not in _COMPILED:
        _COMPILED["part"] = torch.compile(_part_step, dynamic=False,
                                          options={"cpp_wrapper": True, "cpp.threads": 1})
    return _COMPILED["part"]


@torch.no_grad()
def _compiled_pass(w_in, w_out, center, targets, scale):
    step = _compiled_part_step()
    torch._dynamo.mark_dynamic(center, 0)
    torch._dynamo.mark_dynamic(targets, 0)
    loss, z, grad_in, grad_out = step(w_in, w_out, center, targets, scale)
    return float(loss), z, grad_in, grad_out


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _on_threads(fn, jobs: list) -> list:
    """[fn(job) for job in jobs], the first job on the calling thread and the others on a kept pool
    (starting threads anew each step cost more than the step)."""
    if len(jobs) == 1:
        return [fn(jobs[0])]
    workers = len(jobs) - 1
    if workers not in _POOLS:
        _POOLS[workers] = ThreadPoolExecutor(workers)
    futures = [_POOLS[workers].submit(fn, job) for job in jobs[1:]]
    first = fn(jobs[0])
    return [first] + [f.result() for f in futures]


def _sum_parts(parts):
    loss, grad_in, grad_out = sum(p[0] for p in parts), parts[0][1], parts[0][2]
    for p in parts[1:]:
        grad_in += p[1]
        grad_out += p[2]
    return loss, grad_in, grad_out


def _chunked_parts(w_in, w_out, center, targets, chunk_size, workers):
    """Eager: chunks of ``chunk_size`` pairs dealt round-robin to ``workers`` threads."""
    n_pairs = len(center)
    weight = torch.full((n_pairs,), 1.0 / n_pairs, dtype=w_in.dtype)
    logits = torch.empty(targets.shape, dtype=w_in.dtype)
    starts = list(range(0, n_pairs, chunk_size))
    workers = max(1, min(workers, len(starts)))
    parts = _on_threads(lambda k: _chunk_pass(w_in, w_out, center, targets, weight, logits, starts[k::workers],
                                              chunk_size), list(range(workers)))
    loss, grad_in, grad_out = _sum_parts(parts)
    return loss, logits, grad_in, grad_out


def _compiled_parts(w_in, w_out, center, targets, workers):
    """Compiled: ``workers`` contiguous parts of the batch, one compiled kernel call each, on as many threads.

    The first call compiles on the calling thread alone; later calls run the parts in parallel.
    """
    n_pairs = len(center)
    workers = max(1, min(workers, n_pairs // 2))  # a part of one pair would specialise the compiled shape
    bounds = [n_pairs * k // workers for k in range(workers + 1)]
    scale = torch.tensor(1.0 / n_pairs, dtype=w_in.dtype)
    jobs = [(center[a:b], targets[a:b]) for a, b in zip(bounds, bounds[1:])]
    run = lambda job: _compiled_pass(w_in, w_out, job[0], job[1], scale)  # noqa: E731
    if "warm" not in _COMPILED:
        parts = [run(job) for job in jobs]
        _COMPILED["warm"] = True
    else:
        parts = _on_threads(run, jobs)
    logits = torch.cat([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
    loss, grad_in, grad_out = _sum_parts([(p[0], p[2], p[3]) for p in parts])
    return loss, logits, grad_in, grad_out


class _SGNSFromTables(torch.autograd.Function):
    """Mean SGNS loss over pairs and its gradients to the (V, D) tables in one pass over chunks of pairs.

    Written by hand because autograd through ``nn.Embedding`` keeps the (B, 1+K, D) gathered rows and their
    gradient alive for the whole batch and then scatters them again: on a 2-core CPU that ran about 2x
    slower per pair than this chunked pass, which stays in cache (8k-pair batches, D=100, K=5).
    The table gradients are dense (V, D): cheap next to the batch for vocabularies up to ~10^5 words.

    With ``workers`` = T > 1 (default ``torch.get_num_threads()``), T Python threads take disjoint parts
    of the batch (eager: chunks dealt round-robin; compiled: T contiguous parts, one kernel call each), each
    with its own gradient buffers (summed at the end), and every op runs single-threaded, as gensim's
    workers do: intra-op threads meet at a barrier after each op, which a busy machine turns into spinning
    (2 intra-op threads on a loaded 2-core machine: 30-60 us per pair against 2.6 us with one). Eager torch
    ops and the cpp_wrapper-compiled kernel release the GIL, so the threads run in parallel.
    """

    @staticmethod
    def forward(ctx, w_in, w_out, center, targets, chunk_size, workers, compile):
        # center (B,); targets (B, 1+K): the context, then the K noise words
        n_pairs = len(center)
        threads = torch.get_num_threads()
        workers = max(1, workers or threads)
        torch.set_num_threads(1)
        try:
            if compile and n_pairs >= 2:
                loss, logits, grad_in, grad_out = _compiled_parts(w_in, w_out, center, targets, workers)
            else:
                loss, logits, grad_in, grad_out = _chunked_parts(w_in, w_out, center, targets, chunk_size, workers)
        finally:
            torch.set_num_threads(threads)
        ctx.save_for_backward(grad_in, grad_out)
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
    (default: ``torch.get_num_threads()``), or with ``compile`` by one torch.compile'd kernel call per
    thread (``chunk_size`` unused; the first call compiles, about a minute on 2 cores, then cached on disk).
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    targets = torch.cat([context_ids.unsqueeze(1), negative_ids], dim=1)
    return _SGNSFromTables.apply(w_in, w_out, center_ids, targets, chunk_size, workers, compile)
