import numpy as np
import pytest
import torch

from hf_replearn.errors import UserError
from hf_replearn.evaluation.zero_shot import ZeroShotConfig, majority_rate, recall_at_k, zero_shot_accuracy


def naive_recall(sim, k):
    hits = 0
    for i in range(len(sim)):
        order = sorted(range(len(sim)), key=lambda j: -float(sim[i, j]))
        hits += i in order[:k]
    return hits / len(sim)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_recall_matches_naive_ranking(k):
    sim = torch.randn(7, 7, generator=torch.Generator().manual_seed(0))
    assert recall_at_k(sim, [k])[k] == pytest.approx(naive_recall(sim, k))


def test_recall_exact_values():
    assert recall_at_k(torch.eye(4), [1, 4]) == {1: 1.0, 4: 1.0}
    reversed_ranks = torch.tensor([[0.0, 1.0, 2.0], [2.0, 0.0, 1.0], [1.0, 2.0, 0.0]])  # every match ranks last
    assert recall_at_k(reversed_ranks, [1, 2, 3]) == {1: 0.0, 2: 0.0, 3: 1.0}


def test_zero_shot_accuracy_and_majority():
    images = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.6, 0.8]])
    classes = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert zero_shot_accuracy(images, classes, np.array([0, 1, 1, 1])) == 0.75
    assert majority_rate(np.array([0, 1, 1, 1])) == 0.75


def test_prompt_and_validation():
    cfg = ZeroShotConfig()
    assert cfg.prompt("animal-mammal") == "an emoji of animal mammal"
    assert cfg.prompt("Smileys & Emotion") == "an emoji of smileys and emotion"
    with pytest.raises(UserError, match="prompt_template"):
        ZeroShotConfig(prompt_template="an emoji").validate()
    with pytest.raises(UserError, match="recall_ks"):
        ZeroShotConfig(recall_ks=[0]).validate()


def test_zero_shot_table_rows_and_the_keys_it_shows():
    from hf_replearn.evaluation.zero_shot import zero_shot_table

    results = {"zero_shot/group/model": 0.5, "zero_shot/group/random_init": 0.2, "zero_shot/group/majority": 0.3,
               "zero_shot/group/chance": 0.111, "retrieval/image_to_text/recall@5/model": 0.25,
               "retrieval/image_to_text/recall@5/random_init": 0.05, "retrieval/chance/recall@5": 0.018,
               "linear_probe/model/all": 0.9}
    shown = set()
    table = zero_shot_table(results, ["model", "random_init"], shown)
    assert "| zero_shot/group | 0.500 | 0.200 | 0.300 | 0.111 |" in table
    assert "| retrieval/image_to_text/recall@5 | 0.250 | 0.050 | - | 0.018 |" in table
    assert shown == set(results) - {"linear_probe/model/all"}
