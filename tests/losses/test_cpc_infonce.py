import math

import pytest
import torch

from hf_replearn.losses.cpc_infonce import CPCInfoNCELoss, sample_negatives


def naive_infonce(z, predictions, negative_indices):
    """The paper's eq. 4, one prediction at a time."""
    B, T, K, D = predictions.shape
    flat = z.reshape(B * T, D)
    per_step = []
    for k in range(1, K + 1):
        terms = []
        for b in range(B):
            for t in range(T - k):
                pred = predictions[b, t, k - 1]
                scores = [torch.dot(pred, z[b, t + k])] + [torch.dot(pred, flat[j]) for j in negative_indices[b, t + k]]
                scores = torch.stack(scores)
                terms.append(-(scores[0] - torch.logsumexp(scores, 0)))
        per_step.append(torch.stack(terms).mean())
    return torch.stack(per_step).mean()


@pytest.mark.parametrize("strategy", ["same_sequence", "same_speaker", "mixed"])
def test_matches_a_naive_loop(strategy):
    g = torch.Generator().manual_seed(0)
    z, predictions = torch.randn(3, 7, 5, generator=g), torch.randn(3, 7, 3, 5, generator=g)
    speakers = torch.tensor([0, 1, 0])
    idx = sample_negatives(3, 7, 4, strategy, speakers, generator=g)
    loss, acc = CPCInfoNCELoss(4, strategy)(z, predictions, speakers, negative_indices=idx)
    assert loss.item() == pytest.approx(naive_infonce(z, predictions, idx).item(), rel=1e-5)
    assert acc.shape == (3,) and ((0 <= acc) & (acc <= 1)).all()


def test_indistinguishable_frames_give_log_of_n_plus_one():
    z, predictions = torch.ones(2, 6, 4), torch.ones(2, 6, 2, 4)
    loss, _ = CPCInfoNCELoss(num_negatives=9)(z, predictions, generator=torch.Generator().manual_seed(0))
    assert loss.item() == pytest.approx(math.log(10), rel=1e-6)


def test_perfect_predictions_give_near_zero_loss_and_full_accuracy():
    z = 10 * torch.eye(8).expand(2, 8, 8)  # orthogonal frames
    predictions = torch.stack([torch.roll(z, -k, dims=1) for k in (1, 2)], dim=2)  # pred[t, k] = z[t+k]
    idx = sample_negatives(2, 8, 5, "same_sequence", generator=torch.Generator().manual_seed(1))
    idx = torch.where(idx % 8 == torch.arange(8).view(1, 8, 1), (idx + 1) % 8 + (idx // 8) * 8, idx)  # no collisions
    loss, acc = CPCInfoNCELoss(5)(z, predictions, negative_indices=idx)
    assert loss.item() < 1e-6 and acc.tolist() == [1.0, 1.0]


def test_sampling_strategies_stay_in_their_pool():
    g = torch.Generator().manual_seed(0)
    speakers = torch.tensor([0, 1, 0, 2])
    seq = sample_negatives(4, 10, 50, "same_sequence", generator=g) // 10
    assert (seq == torch.arange(4).view(4, 1, 1)).all()
    spk = speakers[sample_negatives(4, 10, 50, "same_speaker", speakers, generator=g) // 10]
    assert (spk == speakers.view(4, 1, 1)).all()
    assert set((sample_negatives(4, 10, 50, "same_speaker", speakers, generator=g)[0] // 10).unique().tolist()) == {0, 2}
    assert len((sample_negatives(4, 10, 50, "mixed", generator=g)[0] // 10).unique()) == 4


def test_bad_hyperparameters_raise():
    with pytest.raises(ValueError, match="num_negatives"):
        CPCInfoNCELoss(0)
    with pytest.raises(ValueError, match="same_sequence"):
        CPCInfoNCELoss(4, "random")
    with pytest.raises(ValueError, match="speaker_ids"):
        sample_negatives(2, 5, 3, "same_speaker")
