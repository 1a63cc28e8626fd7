"""Which of lm-eval 0.4's task keys, metrics, filters and samplers this evaluator implements.

A key lm-eval knows but this evaluator does not implement is an error that names it, so a task file never
runs with part of its meaning silently dropped. Keys whose only effect lies outside scoring
(``should_decontaminate``, ``doc_to_decontamination_query``, ``unsafe_code``) are accepted and ignored.
"""

from __future__ import annotations

import importlib.util

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.metrics import AGGREGATIONS as _AGGREGATION_FUNCTIONS

# lm-eval 0.4 TaskConfig fields this evaluator reads (``include`` is merged away by the reader)
IMPLEMENTED = (
    "task", "task_alias", "tag", "group", "dataset_path", "custom_dataset", "dataset_name", "dataset_kwargs",
    "training_split",
    "validation_split", "test_split", "fewshot_split", "process_docs", "doc_to_text", "doc_to_target",
    "doc_to_choice", "description", "target_delimiter", "fewshot_delimiter", "fewshot_config", "num_fewshot",
    "metric_list", "output_type", "generation_kwargs", "repeats", "filter_list", "metadata",
    "should_decontaminate", "doc_to_decontamination_query", "unsafe_code", "process_results", "gen_prefix",
)  # fmt: skip
# Keys lm-eval knows that this evaluator does not run, with what they would need
NOT_IMPLEMENTED = {
    "class": "a custom Python task class",
    "use_prompt": "promptsource templates",
    "doc_to_image": "image inputs",
    "doc_to_audio": "audio inputs",
    "recipe": "a unitxt recipe (a custom task class)",
    "aggregate_metric_list": "group aggregation (only in a group file)",
}
OWN_KEYS = ("limit", "shuffle_seed")
"""This evaluator's own keys (not lm-eval's)."""

OUTPUT_TYPES = ("multiple_choice", "generate_until", "loglikelihood", "loglikelihood_rolling")  # all of lm-eval 0.4's
METRICS = {
    "multiple_choice": ("acc", "acc_norm", "acc_bytes", "acc_mutual_info", "exact_match", "f1", "mcc", "brier_score",
                        "likelihood"),
    "generate_until": ("exact_match", "f1", "bleu", "chrf", "ter"),
    "loglikelihood": ("perplexity", "acc"),  # of the target after the context; acc: it is the greedy continuation
    "loglikelihood_rolling": ("word_perplexity", "byte_perplexity", "bits_per_byte"),  # of the whole target text
}
DEFAULT_METRICS = {"multiple_choice": ["acc", "acc_norm"], "generate_until": ["exact_match"],
                   "loglikelihood": list(METRICS["loglikelihood"]),
                   "loglikelihood_rolling": list(METRICS["loglikelihood_rolling"])}  # fmt: skip
EXACT_MATCH_OPTIONS = {"ignore_case", "ignore_punctuation", "ignore_numbers", "regexes_to_ignore"}
METRIC_OPTIONS = {"metric", "aggregation", "higher_is_better"} | EXACT_MATCH_OPTIONS
IGNORED_METRIC_OPTIONS = {"weight_by_size"}
"""Accepted and ignored, as lm-eval ignores them on a task's metric (they matter on a group's)."""
AGGREGATIONS = tuple(_AGGREGATION_FUNCTIONS)
DEFAULT_AGGREGATION = {"f1": "f1", "mcc": "matthews_corrcoef", "brier_score": "brier_score", "bleu": "bleu",
                       "chrf": "chrf", "ter": "ter",
                       "perplexity": "perplexity", "word_perplexity": "weighted_perplexity",
                       "byte_perplexity": "weighted_perplexity", "bits_per_byte": "bits_per_byte"}  # fmt: skip
"""Per-item values aggregated over the test set: a mean, or (gold, prediction) pairs given to scikit-learn."""
FEWSHOT_CONFIG_KEYS = {"gen_prefix", "sampler", "split", "process_docs", "fewshot_indices", "samples", "doc_to_text",
                       "doc_to_choice", "doc_to_target", "fewshot_delimiter", "target_delimiter"}  # fmt: skip
SAMPLERS = ("default", "first_n", "per_document")
FILTERS = ("take_first", "remove_whitespace", "regex", "lowercase", "uppercase", "multi_choice_regex", "map", "custom",
           "take_first_k", "majority_vote")
"""Filter functions implemented here, by name; a step's ``function`` may also be a ``!function`` (lm-eval's Filter
protocol) or another name of lm-eval's filter registry (run from lm-eval, when it is installed)."""


MAX_TOKEN_KEYS = ("max_gen_toks", "max_new_tokens", "max_tokens", "max_completion_tokens")
"""lm-eval's names for the most tokens to generate, first given first (``normalize_gen_kwargs``)."""
SAMPLING_DEFAULTS = {"temperature": 1.0, "top_k": 50, "top_p": 1.0}
"""transformers' ``generate`` defaults for what a task or the model's generation config leaves unset, applied in
this order (temperature, then top-k, then top-p), as ``generate`` applies them."""
GENERATION_KEYS = ("until", "do_sample", "num_beams", *MAX_TOKEN_KEYS, *SAMPLING_DEFAULTS)


def check_generation_kwargs(kwargs: dict, source: str) -> None:
    """A UserError naming each ``generation_kwargs`` key that decoding here would not honour."""
    problems = [f"`{k}` is not implemented" for k in kwargs if k not in GENERATION_KEYS]
    beams = kwargs.get("num_beams", 1)
    if isinstance(beams, bool) or not isinstance(beams, int) or beams < 1:
        problems.append(f"`num_beams: {beams!r}` must be a whole number >= 1 (1: no beam search)")
    elif beams > 1 and kwargs.get("do_sample"):
        problems.append(f"`num_beams: {beams}` with `do_sample: true` (beam sampling) is not implemented; beam search "
                        "here is deterministic (do_sample: false)")  # fmt: skip
    if kwargs.get("do_sample") and not float(kwargs.get("temperature", 1.0)) > 0:
        problems.append("`do_sample: true` needs a temperature above 0 (transformers refuses 0 when sampling)")
    if problems:
        raise UserError(f"{source}: generation_kwargs: " + "; ".join(problems) +
                        f" (implemented: {', '.join(GENERATION_KEYS)})")


def check_keys(raw: dict, source: str) -> None:
    """Every problem with the keys of a task file at once: unknown, not implemented, missing."""
    import difflib

    problems = []
    known = set(IMPLEMENTED) | set(NOT_IMPLEMENTED) | set(OWN_KEYS)
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            problems.append(f"unknown key `{key}`{hint}")
        elif key in NOT_IMPLEMENTED and raw[key] not in (None, False):
            problems.append(f"`{key}` ({NOT_IMPLEMENTED[key]}) is an lm-eval key that hf-replearn fewshot "
                            "does not implement")  # fmt: skip
    output_type = raw.get("output_type", "generate_until")
    if output_type not in OUTPUT_TYPES:
        problems.append(f"output_type must be one of {OUTPUT_TYPES}, got {output_type!r}")
    repeats = raw.get("repeats", 1)
    if not (isinstance(repeats, int) and repeats >= 1):
        problems.append(f"`repeats` must be a whole number >= 1, got {repeats!r}")
    elif repeats != 1 and output_type != "generate_until":
        problems.append(f"`repeats: {repeats}` is implemented for generate_until (several sampled answers per "
                        f"document), not {output_type}")  # fmt: skip
    required = ["task", *([] if raw.get("custom_dataset") else ["dataset_path"]), "doc_to_text", "doc_to_target"]
    if raw.get("custom_dataset") is not None and not callable(raw["custom_dataset"]):
        problems.append(f"custom_dataset must be a !function (module.name) that returns the splits, got "
                        f"{raw['custom_dataset']!r}")  # fmt: skip
    if output_type == "multiple_choice":
        required.append("doc_to_choice")
    missing = [k for k in required if raw.get(k) is None]
    if missing:
        problems.append("missing required key(s) " + ", ".join(f"`{k}`" for k in missing))
    problems += _check_fewshot_config(raw.get("fewshot_config"))
    problems += _check_metrics(raw.get("metric_list"), output_type, custom=raw.get("process_results") is not None)
    problems += _check_filters(raw.get("filter_list"))
    if problems:
        if any(p.startswith("unknown key") for p in problems):
            problems.append(f"valid keys: {', '.join(sorted(set(IMPLEMENTED) | set(OWN_KEYS)))}")
        raise UserError(f"{source}: " + "; ".join(problems))


def _check_fewshot_config(cfg) -> list[str]:
    if cfg is None:
        return []
    if not isinstance(cfg, dict):
        return [f"fewshot_config must be a mapping, got {cfg!r}"]
    problems = [f"fewshot_config: unknown or not implemented key `{k}`" for k in cfg if k not in FEWSHOT_CONFIG_KEYS]
    sampler = cfg.get("sampler", "default")
    if sampler not in SAMPLERS:
        problems.append(f"fewshot_config.sampler `{sampler}` is not implemented (one of {', '.join(SAMPLERS)})")
    if "samples" in cfg and not (isinstance(cfg["samples"], list) or callable(cfg["samples"])):
        problems.append(f"fewshot_config.samples must be a list of documents or a !function returning one, got "
                        f"{cfg['samples']!r}")  # fmt: skip
    return problems


def _check_metrics(metric_list, output_type: str, custom: bool = False) -> list[str]:
    problems = []
    for entry in metric_list or []:
        entry = entry if isinstance(entry, dict) else {"metric": entry}
        name = entry.get("metric")
        if callable(name) and output_type == "generate_until":
            # lm-eval calls it on each answer with the entry's other keys (evaluate.task_metric)
            aggregation = entry.get("aggregation", "mean")
            if not (callable(aggregation) or aggregation in AGGREGATIONS):
                problems.append(f"metric {name!r}: aggregation {aggregation!r} is not implemented "
                                f"(one of {', '.join(AGGREGATIONS)}, or a !function)")  # fmt: skip
            continue
        if not isinstance(name, str):
            problems.append(f"metric_list: metric {name!r} (a Python function) is not implemented for {output_type} "
                            "(lm-eval calls a task's metric function on generate_until answers only)")  # fmt: skip
            continue
        if output_type in METRICS and name not in METRICS[output_type] and not custom:
            problems.append(f"metric `{name}` is not implemented for {output_type} "
                            f"(available: {', '.join(METRICS[output_type])})")  # fmt: skip
        aggregation = entry.get("aggregation", DEFAULT_AGGREGATION.get(name, "mean"))
        if name == "likelihood" and not callable(aggregation) and not custom:
            problems.append("metric `likelihood` gives each document's (gold, log-likelihoods), which needs the "
                            "task's own aggregation: `aggregation: !function module.fn` (lm-eval's mean fails on it)")
        elif not (callable(aggregation) or aggregation in AGGREGATIONS):
            problems.append(f"metric `{name}`: aggregation {aggregation!r} is not implemented "
                            f"(one of {', '.join(AGGREGATIONS)}, or a !function)")  # fmt: skip
        # lm-eval passes a metric's options to generate_until metrics only; multiple_choice ignores them
        extra = sorted(set(entry) - METRIC_OPTIONS - IGNORED_METRIC_OPTIONS)
        if output_type == "generate_until" and extra:
            problems.append(f"metric `{name}`: option(s) {extra} not implemented")
        # on f1, bleu, chrf and ter lm-eval passes the ignore_* options to a function that takes none, falls back to
        # calling it without them, and so ignores them: accepted and ignored here too (evaluate._doc_metrics)
    return problems


def _check_filters(filter_list) -> list[str]:
    problems = []
    for pipeline in filter_list or []:
        if not isinstance(pipeline, dict) or "name" not in pipeline or "filter" not in pipeline:
            problems.append(f"filter_list: each entry needs `name` and `filter`, got {pipeline!r}")
            continue
        for step in pipeline["filter"]:
            fn = step.get("function") if isinstance(step, dict) else None
            if callable(fn):
                continue
            if not isinstance(fn, str):
                problems.append(f"filter `{pipeline['name']}`: each step needs `function:` (one of {', '.join(FILTERS)}, "
                                f"a name lm-eval registers, or a !function), got {step!r}")  # fmt: skip
            elif fn not in FILTERS and importlib.util.find_spec("lm_eval") is None:
                problems.append(f"filter `{pipeline['name']}`: function {fn!r} is not one of this evaluator's filters "
                                f"({', '.join(FILTERS)}); other names run from lm-eval's filter registry, which needs "
                                "lm-eval installed: pip install lm_eval")  # fmt: skip
            elif fn == "custom" and not callable(step.get("filter_fn")):
                problems.append(f"filter `{pipeline['name']}`: function `custom` needs `filter_fn: !function "
                                f"module.name` (called as filter_fn(resps, docs)), got {step.get('filter_fn')!r}")  # fmt: skip
    return problems
