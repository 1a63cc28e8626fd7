"""Per-document few-shot metrics, as lm-eval and the GPT-3 paper (Brown et al., 2020, sec. 2.4) define them.

multiple_choice, with ll_i the log-likelihood of choice i given the prompt:
- ``acc``: argmax_i ll_i is the gold choice;
- ``acc_norm``: argmax_i ll_i / len(choice_i in characters) (lm-eval's length normalisation);
- ``acc_mutual_info``: argmax_i ll_i - ll_i^uncond, where ll_i^uncond is the choice's log-likelihood after
  an empty context (GPT-3's "unconditional probability of each completion");
- ``brier_score``: sum_i (p_i - [i = gold])^2 with p = softmax(ll), averaged over documents (lower is better).

generate_until: ``exact_match`` after stripping whitespace; ``f1`` over lower-cased, punctuation- and
article-free word bags (the SQuAD definition).
"""

from __future__ import annotations

import collections
import re
import string

import numpy as np


def multiple_choice_metrics(lls, gold, choices: list[str], lls_uncond=None) -> dict[str, float]:
    """``gold`` is an index, or a list of them (any counts, as lm-eval's multiple targets)."""
    golds = gold if isinstance(gold, list) else [gold]
    lls = np.asarray(lls, dtype=np.float64)
    lengths = np.array([float(len(c)) for c in choices])
    n_bytes = np.array([float(len(c.encode("utf-8"))) for c in choices])
    out = {"acc": float(np.argmax(lls) in golds), "acc_norm": float(np.argmax(lls / lengths) in golds),
           "acc_bytes": float(np.argmax(lls / n_bytes) in golds)}  # fmt: skip
    if lls_uncond is not None:
        out["acc_mutual_info"] = float(np.argmax(lls - np.asarray(lls_uncond)) in golds)
    return out


def choice_probabilities(lls) -> list[float]:
    """softmax of the choices' log-likelihoods (what ``brier_score`` compares with the gold one-hot)."""
    lls = np.asarray(lls, dtype=np.float64)
    probs = np.exp(lls - lls.max())
    return (probs / probs.sum()).tolist()


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


def exact_match_lm_eval(prediction: str, reference: str, ignore_case=False, ignore_punctuation=False,
                        ignore_numbers=False, regexes_to_ignore=None) -> float:
    """lm-eval's ``exact_match`` (Hugging Face evaluate's definition): equality after the options, no strip."""
    for pattern in regexes_to_ignore or []:
        prediction, reference = re.sub(pattern, "", prediction), re.sub(pattern, "", reference)
    if ignore_case:
        prediction, reference = prediction.lower(), reference.lower()
    for flag, chars in ((ignore_punctuation, string.punctuation), (ignore_numbers, string.digits)):
        if flag:
            table = str.maketrans("", "", chars)
            prediction, reference = prediction.translate(table), reference.translate(table)
    return float(prediction == reference)


def _pairs(items):
    golds, preds = zip(*items)
    return list(golds), list(preds)


def _sacrebleu(name: str):
    def corpus(items):
        try:
            import sacrebleu
        except ImportError:
            from hf_replearn.errors import UserError

            raise UserError(f"metric `{name}` needs sacrebleu: pip install sacrebleu") from None
        refs, preds = _pairs(items)
        fn = {"bleu": sacrebleu.corpus_bleu, "chrf": sacrebleu.corpus_chrf, "ter": sacrebleu.corpus_ter}[name]
        return fn([str(p) for p in preds], [[str(r) for r in refs]]).score

    return corpus


def _f1_agg(items):
    from sklearn.metrics import f1_score

    return float(np.max(f1_score(*_pairs(items))))


def _mcc_agg(items):
    from sklearn.metrics import matthews_corrcoef

    return float(matthews_corrcoef(*_pairs(items)))


def _weighted_mean(pairs) -> float:
    lls, counts = zip(*pairs)
    return float(np.sum(lls) / np.sum(counts))


def _nanmean(items) -> float:
    values = np.asarray(items, dtype=np.float64)
    return float("nan") if values.size == 0 or np.isnan(values).all() else float(np.nanmean(values))


def _brier_score(items) -> float:
    """Mean over documents of sum_i (p_i - [i = gold])^2, p the softmax of the choices' log-likelihoods."""
    golds, probs = _pairs(items)
    probs = np.asarray(probs, dtype=np.float64)
    return float(np.mean(np.sum((probs - np.eye(probs.shape[1])[golds]) ** 2, axis=1)))


AGGREGATIONS = {"mean": lambda items: float(np.mean(items)), "nanmean": _nanmean,
                "median": lambda items: float(sorted(items)[len(items) // 2]),
                "f1": _f1_agg, "matthews_corrcoef": _mcc_agg, "brier_score": _brier_score,
                "bleu": _sacrebleu("bleu"), "chrf": _sacrebleu("chrf"), "ter": _sacrebleu("ter"),
                "perplexity": lambda lls: float(np.exp(-np.mean(lls))),
                "weighted_perplexity": lambda pairs: float(np.exp(-_weighted_mean(pairs))),
                "bits_per_byte": lambda pairs: float(-_weighted_mean(pairs) / np.log(2))}  # fmt: skip
"""lm-eval's: ``nanmean``, the mean of the values that are not NaN (NaN when none is); ``median``, the upper middle
value (lm-eval's ``sorted(items)[n // 2]``); ``perplexity``, exp of minus the mean log-likelihood of the targets
(one per document); ``weighted_perplexity`` and ``bits_per_byte`` of (log-likelihood, words or bytes) pairs, the
log-likelihoods summed over the documents and divided by the summed counts."""


def aggregate(items: list, aggregation) -> float:
    """One metric over the test set; ``aggregation`` is a name of :data:`AGGREGATIONS` or a task's function."""
    fn = aggregation if callable(aggregation) else AGGREGATIONS[aggregation]
    return float(fn(items))


def mean_stderr(items) -> float | str:
    """lm-eval's standard error of a mean: sample std (ddof 1) over sqrt(n); "N/A" for a single item."""
    values = np.asarray(items, dtype=np.float64)
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else "N/A"
