"""Per-document few-shot metrics, as lm-eval and the GPT-3 paper (Brown et al., 2020, sec. 2.4) define them.

multiple_choice, with ll_i the log-likelihood of choice i given the prompt:
- ``acc``: argmax_i ll_i is the gold choice;
- ``acc_norm``: argmax_i ll_i / len(choice_i in characters) (lm-eval's length normalisation);
- ``acc_mutual_info``: argmax_i ll_i - ll_i^uncond, where ll_i^uncond is the choice's log-likelihood after
  an empty context (GPT-3's "unconditional probability of each completion").

generate_until: ``exact_match`` after stripping whitespace; ``f1`` over lower-cased, punctuation- and
article-free word bags (the SQuAD definition).
"""

from __future__ import annotations

import collections
import re
import string

import numpy as np


def multiple_choice_metrics(lls, gold: int, choices: list[str], lls_uncond=None) -> dict[str, float]:
    lls = np.asarray(lls, dtype=np.float64)
    lengths = np.array([float(len(c)) for c in choices])
    out = {"acc": float(np.argmax(lls) == gold), "acc_norm": float(np.argmax(lls / lengths) == gold)}
    if lls_uncond is not None:
        out["acc_mutual_info"] = float(np.argmax(lls - np.asarray(lls_uncond)) == gold)
    return out


def _normalize(text: str) -> list[str]:
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    return re.sub(r"\b(a|an|the)\b", " ", text).split()


def exact_match(prediction: str, reference: str) -> float:
    return float(prediction.strip() == reference.strip())


def f1(prediction: str, reference: str) -> float:
    pred, ref = _normalize(prediction), _normalize(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)
