"""Results and per-item samples in lm-evaluation-harness 0.4's layout, for tools that read lm-eval's output.

``results.json``::

    {"results": {task: {"alias": ..., "acc,none": 0.61, "acc_stderr,none": 0.02, ...}, group: {...}},
     "groups": {group: {...}}, "group_subtasks": {...}, "configs": {task: {...}}, "versions": {task: ...},
     "n-shot": {task: k}, "higher_is_better": {task: {metric: bool}}, "n-samples": {task: {"original", "effective"}},
     "config": {"model": ..., "fewshot_seed": ..., "batch_size": ..., "limit": ...}}

``samples_<task>.jsonl``: one line per (document, filter) with lm-eval's keys ``doc_id, doc, target, arguments,
resps, filtered_resps, filter, metrics, doc_hash, prompt_hash, target_hash`` and each metric's value. A
standard error is lm-eval's for a mean (sample std over sqrt(n)); for other aggregations lm-eval
bootstraps, and this writes "N/A".
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

from hf_replearn.evaluation.fewshot.task import FewShotTask

HIGHER_IS_BETTER = {"ter": False, "perplexity": False, "word_perplexity": False, "byte_perplexity": False,
                    "bits_per_byte": False, "brier_score": False}  # fmt: skip


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _jsonable(value):
    if callable(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def task_config(task: FewShotTask, k: int) -> dict:
    out = {}
    for f in dataclasses.fields(task):
        value = getattr(task, f.name)
        if not f.metadata.get("internal") and value not in (None, "", {}, []):
            out[f.name] = _jsonable(value)
    out["num_fewshot"] = k
    out["metric_list"] = [_jsonable(e) for e in task.metric_entries]
    return out


def task_entry(task: FewShotTask, results: dict) -> dict:
    return {"alias": task.task_alias or task.task, **results}


def higher_is_better(task: FewShotTask) -> dict:
    own = {e["metric"]: e.get("higher_is_better", HIGHER_IS_BETTER.get(e["metric"], True)) for e in task.metric_entries}
    return {**own, **{key: own[metric] for key, metric in task.expanded_from.items() if metric in own}}


def samples_lines(samples: list[dict]) -> str:
    lines = []
    for s in samples:
        row = dict(s)
        row["doc_hash"] = _sha256(json.dumps(s["doc"], indent=2, default=str, ensure_ascii=False))
        row["prompt_hash"] = _sha256(s["arguments"][0][0])
        row["target_hash"] = _sha256(str(s["target"]))
        lines.append(json.dumps(_jsonable(row), default=str, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


def group_aggregate(name: str, alias: str | None, aggregate_metric_list: list[dict], members: list[tuple[dict, int]]):
    """lm-eval's group score: each metric's subtask values weighted by size (or not), pooled standard error.

    ``members``: (task results, number of documents) for every task under the group.
    """
    out = {"alias": alias or name}
    for entry in aggregate_metric_list:
        weight = entry.get("weight_by_size", True)
        filters = entry.get("filter_list")
        if filters is None:  # lm-eval: every filter under which a member reports the metric
            filters = sorted({key.split(",", 1)[1] for r, _ in members for key in r
                              if key.startswith(entry["metric"] + ",")})  # fmt: skip
        for filt in [filters] if isinstance(filters, str) else filters:
            key, se_key = f"{entry['metric']},{filt}", f"{entry['metric']}_stderr,{filt}"
            rows = [(r[key], r.get(se_key), n) for r, n in members if key in r]
            if not rows:
                continue
            values, stderrs, sizes = zip(*rows)
            w = np.asarray(sizes if weight else [1] * len(sizes), dtype=np.float64)
            out[key] = float((np.asarray(values) * w).sum() / w.sum())
            if any(isinstance(s, str) or s is None for s in stderrs):
                out[se_key] = "N/A"
            elif weight:  # lm-eval's pooled_sample_stderr
                n = np.asarray(sizes, dtype=np.float64)
                pooled = ((n - 1) * np.asarray(stderrs) ** 2 * n).sum() / (n.sum() - len(n))
                out[se_key] = float(np.sqrt(pooled / n.sum()))
            else:
                out[se_key] = float(np.sqrt((np.asarray(stderrs) ** 2).sum()) / len(stderrs))
    return out
