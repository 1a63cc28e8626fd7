"""Demonstration sampling and prompt assembly, with lm-eval 0.4's samplers and this evaluator's own.

Samplers (``fewshot_config.sampler``):

- ``default`` (lm-eval's): one ``random.Random(seed)`` per task, drawn from in test-document order:
  ``rnd.sample(pool, k)``; when lm-eval leaves the test document out (``excludes_eval_doc``), it draws
  ``k + 1``, drops every copy equal to the document and keeps the first ``k`` (redrawing ``k`` from the pool
  without it in the rare case that too few remain). The same calls on the same pool give lm-eval's prompts
  for the same ``--fewshot-seed`` (lm-eval's default seed is 1234).
- ``first_n`` (lm-eval's): the first ``k`` documents of the pool (those equal to the test document removed).
- ``per_document`` (this evaluator's): shots for test document ``i`` are drawn with
  ``numpy.random.default_rng([seed, i])``, so the draw depends only on (seed, i), not on the order of
  evaluation or ``--limit``; when the few-shot split is the test split, document ``i`` itself is excluded
  (by position).

A prompt is lm-eval's: ``description + shot_1 + D + ... + shot_k + D + text(doc)`` where each shot is
``text(shot) + target_delimiter + target(shot)`` and ``D`` is ``fewshot_delimiter`` (the shots' own
delimiters and templates come from ``fewshot_config`` when it sets them). The continuation that is scored
(or generated) follows ``target_delimiter``.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.task import FewShotTask

LM_EVAL_DEFAULT_SEED = 1234


@dataclasses.dataclass
class Prompt:
    doc_index: int
    context: str
    shot_indices: list[int]


def sample_shots(n_pool: int, k: int, seed: int, doc_index: int, exclude: int | None = None) -> list[int]:
    """``per_document``: ``k`` distinct indices into a pool of ``n_pool`` few-shot documents, never ``exclude``."""
    candidates = np.arange(n_pool)
    if exclude is not None:
        candidates = candidates[candidates != exclude]
    _check_pool(k, len(candidates))
    rng = np.random.default_rng([seed, doc_index])
    return [int(i) for i in rng.choice(candidates, size=k, replace=False)]


def _check_pool(k: int, n: int) -> None:
    if k > n:
        raise UserError(
            f"k={k} demonstrations asked, but the few-shot split holds only {n} usable documents; "
            f"pass --shots with k <= {n} or use a larger fewshot_split"
        )


def lm_eval_default_shots(rnd: random.Random, shot_docs: list[dict], k: int, eval_doc: dict | None) -> list[int]:
    """lm-eval's ``ContextSampler.sample``: the same ``rnd`` calls, returning indices into ``shot_docs``."""
    if k == 0:
        return []
    n = len(shot_docs)
    if eval_doc is None:
        _check_pool(k, n)
        return rnd.sample(range(n), k)
    _check_pool(k + 1, n)
    drawn = [i for i in rnd.sample(range(n), k + 1) if shot_docs[i] != eval_doc][:k]
    if len(drawn) < k:
        pool = [i for i in range(n) if shot_docs[i] != eval_doc]
        _check_pool(k, len(pool))
        drawn = rnd.sample(pool, k)
    return drawn


def first_n_shots(shot_docs: list[dict], k: int, eval_doc: dict | None) -> list[int]:
    pool = [i for i in range(len(shot_docs)) if eval_doc is None or shot_docs[i] != eval_doc]
    _check_pool(k, len(pool))
    return pool[:k]


def demonstration(task: FewShotTask, doc: dict) -> str:
    """One shot as lm-eval writes it: text, target delimiter, answer, few-shot delimiter."""
    text = task.text(doc, task.shot("doc_to_text"))
    if not isinstance(text, str):
        raise UserError(f"{task.source}: doc_to_text gave {text!r}; multiple-input tasks are not implemented")
    answer = task.raw_target(doc, task.shot("doc_to_target"))
    prefix = task.prefix(doc, task.shot("gen_prefix"))
    if answer is None or answer == "":  # lm-eval writes no answer turn
        return text + (task.shot("target_delimiter") + prefix if prefix and _needs_space(text, prefix) else prefix or "")
    answer = _join(prefix, task.target_text(doc))
    return text + task.shot("target_delimiter") + answer + task.shot("fewshot_delimiter")


def _needs_space(prefix: str, suffix: str) -> bool:
    """lm-eval's ``requires_delimiter``: neither side has whitespace at the join."""
    return bool(prefix) and not (prefix[-1].isspace() or suffix[:1].isspace())


def _join(prefix: str | None, suffix: str) -> str:
    """lm-eval's ``maybe_delimit(gen_prefix, answer, " ")``."""
    if not prefix:
        return suffix
    return prefix + " " + suffix if suffix and _needs_space(prefix, suffix) else prefix + suffix


def final_turn(task: FewShotTask, doc: dict, text: str) -> str:
    """The test document's text, followed by ``gen_prefix`` when the task sets one (as lm-eval writes it)."""
    prefix = task.prefix(doc, task.gen_prefix)
    if not prefix:
        return text
    return text + (task.target_delimiter if _needs_space(text, prefix) else "") + prefix


def build_prompts(task: FewShotTask, test_docs: list[dict], shot_docs: list[dict], k: int, seed: int) -> list[Prompt]:
    sampler = task.sampler
    rnd = random.Random(seed)
    same_split = task.shot_split == task.eval_split
    prompts = []
    for i, doc in enumerate(test_docs):
        eval_doc = doc if task.excludes_eval_doc else None
        if sampler == "per_document":
            shots = sample_shots(len(shot_docs), k, seed, i, exclude=i if same_split else None)
        elif sampler == "first_n":
            shots = first_n_shots(shot_docs, k, eval_doc) if k else []
        else:
            shots = lm_eval_default_shots(rnd, shot_docs, k, eval_doc)
        text = task.text(doc)
        if not isinstance(text, str):
            raise UserError(f"{task.source}: doc_to_text gave {text!r}; multiple-input tasks are not implemented")
        shots_text = "".join(demonstration(task, shot_docs[j]) for j in shots)
        context = task.description_text(doc) + shots_text + final_turn(task, doc, text)
        prompts.append(Prompt(i, context, shots))
    return prompts
