"""Demonstration sampling and prompt assembly.

Shots for test document ``i`` are drawn with ``numpy.random.default_rng([seed, i])``: the draw for one
document depends only on (seed, i), not on batch size, order of evaluation or ``--limit``. When the
few-shot split is the test split, document ``i`` itself is excluded (by position, so an identical
duplicate elsewhere in the split may still be shown, as in any real data set).

A prompt is lm-eval's: ``description + shot_1 + D + ... + shot_k + D + text(doc)`` where each shot is
``text(shot) + target_delimiter + target(shot)`` and ``D`` is ``fewshot_delimiter``. The continuation
that is scored (or generated) follows ``target_delimiter``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.task import FewShotTask


@dataclasses.dataclass
class Prompt:
    doc_index: int
    context: str
    shot_indices: list[int]


def sample_shots(n_pool: int, k: int, seed: int, doc_index: int, exclude: int | None = None) -> list[int]:
    """``k`` distinct indices into a pool of ``n_pool`` few-shot documents, never ``exclude``."""
    candidates = np.arange(n_pool)
    if exclude is not None:
        candidates = candidates[candidates != exclude]
    if k > len(candidates):
        raise UserError(
            f"k={k} demonstrations asked, but the few-shot split holds only {len(candidates)} usable documents; "
            f"pass --shots with k <= {len(candidates)} or use a larger fewshot_split"
        )
    rng = np.random.default_rng([seed, doc_index])
    return [int(i) for i in rng.choice(candidates, size=k, replace=False)]


def build_prompts(task: FewShotTask, test_docs: list[dict], shot_docs: list[dict], k: int, seed: int) -> list[Prompt]:
    same_split = task.shot_split == task.eval_split
    prompts = []
    for i, doc in enumerate(test_docs):
        shots = sample_shots(len(shot_docs), k, seed, i, exclude=i if same_split else None)
        parts = [task.text(shot_docs[j]) + task.target_delimiter + task.target_text(shot_docs[j]) for j in shots]
        parts.append(task.text(doc))
        prompts.append(Prompt(i, task.description + task.fewshot_delimiter.join(parts), shots))
    return prompts
