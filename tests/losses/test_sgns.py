import math

import pytest
import torch

from hf_replearn.losses.sgns import SGNSLoss


def test_against_naive_loop():
    g = torch.Generator().manual_seed(0)
    v, u, neg = torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g), torch.randn(4, 3, 8, generator=g)
    naive = 0.0
    for b in range(4):
        naive += -math.log(1 / (1 + math.exp(-(v[b] @ u[b]).item())))
        for k in range(3):
            naive += -math.log(1 / (1 + math.exp((v[b] @ neg[b, k]).item())))
    assert SGNSLoss(reduction="sum")(v, u, neg).item() == pytest.approx(naive, rel=1e-5)
    assert SGNSLoss()(v, u, neg).item() == pytest.approx(naive / 4, rel=1e-5)


def test_zero_output_vectors_give_k_plus_one_log_two():
    loss = SGNSLoss()(torch.randn(2, 5), torch.zeros(2, 5), torch.zeros(2, 7, 5))
    assert loss.item() == pytest.approx(8 * math.log(2))


def test_bad_reduction():
    with pytest.raises(ValueError):
        SGNSLoss(reduction="max")


def test_from_tables_matches_autograd_through_embeddings():
    from hf_replearn.losses.sgns import sgns_loss_from_tables

    g = torch.Generator().manual_seed(1)
    w_in, w_out = torch.randn(7, 4, generator=g), torch.randn(7, 4, generator=g)
    center, context = torch.tensor([0, 3, 3, 6, 1]), torch.tensor([1, 1, 2, 0, 1])
    negative = torch.randint(0, 7, (5, 3), generator=g)  # repeated ids: their gradients must add up
    a_in, a_out = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
    reference = SGNSLoss()(a_in[center], a_out[context], a_out[negative])
    (2 * reference).backward()
    b_in, b_out = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
    loss, logits = sgns_loss_from_tables(b_in, b_out, center, context, negative, chunk_size=2)
    (2 * loss).backward()
    assert loss.item() == pytest.approx(reference.item(), rel=1e-6)
    assert torch.allclose(logits[:, 0], (w_in[center] * w_out[context]).sum(-1), atol=1e-6)
    assert torch.allclose(b_in.grad, a_in.grad, atol=1e-6) and torch.allclose(b_out.grad, a_out.grad, atol=1e-6)
    with pytest.raises(ValueError):
        sgns_loss_from_tables(b_in, b_out, center, context, negative, chunk_size=0)


def test_from_tables_threads_give_the_same_result():
    from hf_replearn.losses.sgns import sgns_loss_from_tables

    g = torch.Generator().manual_seed(2)
    w_in, w_out = torch.randn(9, 6, generator=g), torch.randn(9, 6, generator=g)
    center, context, negative = torch.randint(0, 9, (50,), generator=g), torch.randint(0, 9, (50,), generator=g), \
        torch.randint(0, 9, (50, 4), generator=g)
    results = []
    threads = torch.get_num_threads()
    for n in (1, 2):
        torch.set_num_threads(n)
        a, b = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
        loss, logits = sgns_loss_from_tables(a, b, center, context, negative, chunk_size=8)
        loss.backward()
        results.append((loss, logits, a.grad, b.grad))
    torch.set_num_threads(threads)
    assert torch.get_num_threads() == threads
    for x, y in zip(*results):
        assert torch.allclose(x, y, atol=1e-6)


def test_compiled_kernel_gives_the_same_result():
    from hf_replearn.losses.sgns import sgns_loss_from_tables

    g = torch.Generator().manual_seed(3)
    w_in, w_out = torch.randn(9, 6, generator=g), torch.randn(9, 6, generator=g)
    center, context, negative = torch.randint(0, 9, (21,), generator=g), torch.randint(0, 9, (21,), generator=g), \
        torch.randint(0, 9, (21, 4), generator=g)
    results = []
    for compile in (False, True):  # 21 pairs in chunks of 8: the compiled path pads the last chunk
        a, b = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
        loss, logits = sgns_loss_from_tables(a, b, center, context, negative, chunk_size=8, workers=1, compile=compile)
        loss.backward()
        results.append((loss, logits, a.grad, b.grad))
    assert results[1][1].shape == (21, 5)
    for x, y in zip(*results):
        assert torch.allclose(x, y, atol=1e-5)
