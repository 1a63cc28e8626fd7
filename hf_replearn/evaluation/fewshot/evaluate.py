"""Evaluate a causal LM on a few-shot task for several k and seeds.

``evaluate_task`` runs one (k, seed); ``evaluate_grid`` runs every k for every seed and aggregates mean and
std over seeds (std with ddof=0; with one seed it is 0). The scorer is injectable (``scorer=``) so a masked
LM can be evaluated on the same tasks with pseudo-log-likelihoods (:mod:`.mlm`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot import metrics as M
from hf_replearn.evaluation.fewshot.filters import apply_filters
from hf_replearn.evaluation.fewshot.prompts import build_prompts
from hf_replearn.evaluation.fewshot.generation import generate_until
from hf_replearn.evaluation.fewshot.scoring import (
    encode_choices,
    max_context_length,
    prefix_token_id,
    rolling_windows,
    score_choices,
)
from hf_replearn.evaluation.fewshot.task import FewShotTask, load_docs
from hf_replearn.evaluation.fewshot.taskfile import run_task_code
from hf_replearn.evaluation.fast_inference import fast_inference


SCORED_CHOICES = ("multiple_choice", "loglikelihood")
"""Output types whose per-document value is a list of (log-likelihood, is_greedy), one per scored continuation."""


def load_model(path: str, device: str | None = None, masked: bool = False):
    """(model, tokenizer) from a local folder or hub id. A folder with ``adapter_config.json`` is a LoRA adapter: its
    run's merged model (``merged/``) when there is one, else the adapter loaded on its base and folded in.

    ``masked=True`` loads an ``AutoModelForMaskedLM`` (scored by pseudo-log-likelihood, see :mod:`.mlm`).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    from hf_replearn.data.tokenizer_training import check_vocabulary
    from hf_replearn.models.pretrained import adapter_base_problem, lora_merged_model
    from hf_replearn.utils.inputs import is_adapter_folder

    problem = adapter_base_problem(path)
    if problem:
        raise UserError(problem)
    folder = Path(path).expanduser()
    weights = lora_merged_model(path) or (None if is_adapter_folder(folder) else path)
    _check_lm_head_exists(weights or path, masked)
    auto = AutoModelForMaskedLM if masked else AutoModelForCausalLM
    try:
        if weights is None:
            model, missing = _adapter_on_base(folder, auto), ()
        else:
            model, info = auto.from_pretrained(str(weights), output_loading_info=True)
            missing = info["missing_keys"]
        tokenizer = AutoTokenizer.from_pretrained(str(path))  # a LoRA run keeps its tokenizer beside the adapter too
    except (OSError, ValueError) as err:
        kind = "a masked LM" if masked else "a causal LM"
        raise UserError(f"could not load {kind} and its tokenizer from {path!r}: {err}") from None
    _check_head(path, missing, masked)
    check_vocabulary(tokenizer, path, "--model")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return model.to(device).eval(), tokenizer


def _adapter_on_base(folder: Path, auto):
    """A PEFT adapter folder -> its base (``base_model_name_or_path``) loaded with ``auto``, the adapter folded in: a
    plain model, which scores faster than the wrapped one and takes :mod:`.fast_inference`'s packed layers."""
    from peft import PeftConfig, PeftModel

    base = auto.from_pretrained(PeftConfig.from_pretrained(str(folder)).base_model_name_or_path)
    return PeftModel.from_pretrained(base, str(folder)).merge_and_unload()


def _check_lm_head_exists(path, masked: bool) -> None:
    """A model whose architecture has no language-model head in transformers (a ViT, a wav2vec2): a short error
    that says which kind was given, where transformers lists every architecture that has one."""
    from hf_replearn.models.pretrained import head_problem

    problem = head_problem(path, "masked-LM" if masked else "causal-LM")
    if problem:
        kind, other = ("a masked LM", "drop --mlm for a causal LM") if masked else (
            "a causal LM", "pass --mlm for a masked LM such as BERT or RoBERTa")
        raise UserError(f"--model {path}: {problem}, so it cannot score or generate text; give {kind}, or {other}")


def _check_head(path, missing, masked: bool) -> None:
    """Refuse a checkpoint that lacks weights the scores need: newly initialized, they would give chance."""
    missing = sorted(missing)
    if missing:
        kind = "a masked LM" if masked else "a causal LM"
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise UserError(f"--model {path}: loaded as {kind}, {len(missing)} weight(s) are not in the checkpoint "
                        f"({shown}), so they would be random and score at chance; give a checkpoint saved with "
                        f"{kind}'s head (for example the output_dir of {'an mlm' if masked else 'a clm'} recipe)")


def evaluate_task(model, tokenizer, task: FewShotTask, k: int, seed: int = 0, batch_size: int = 8,
                  **kwargs) -> dict[str, float]:
    """Each of the task's metrics over its test documents, with k demonstrations each.

    Keys are metric names when the task has one filter pipeline (lm-eval's default ``none``), else
    ``metric,filter`` as in lm-eval's results.
    """
    results, _ = evaluate_items(model, tokenizer, task, k, seed, batch_size, **kwargs)
    return plain_keys(results)


def plain_keys(results: dict) -> dict[str, float]:
    """Metric names alone when there is one filter (lm-eval's ``none``), else ``metric,filter``; no stderrs."""
    single = len({key.split(",", 1)[1] for key in results}) == 1
    return {(key.split(",")[0] if single else key): v for key, v in results.items() if "_stderr," not in key}


def evaluate_items(
    model,
    tokenizer,
    task: FewShotTask,
    k: int,
    seed: int = 0,
    batch_size: int = 8,
    truncation: str = "error",
    docs: tuple[list[dict], list[dict]] | None = None,
    scorer=None,
    empty_context: list[int] | None = None,
) -> tuple[dict, list[dict]]:
    """(``{"metric,filter": value, "metric_stderr,filter": se}``, per-document samples in lm-eval's layout).

    ``empty_context``: the ids acc_mutual_info scores its unconditional choices after (``scoring.encode_choices``;
    ``[]`` for a masked LM's pseudo-log-likelihood ``scorer``).
    """
    test_docs, shot_docs = docs if docs is not None else load_docs(task)
    if not test_docs:
        raise UserError(f"{task.source}: the test split `{task.eval_split}` is empty")
    prompts = build_prompts(task, test_docs, shot_docs, k, seed)
    names = [f"{task.source}: test document {p.doc_index}" for p in prompts]
    with fast_inference(model, workload=None if scorer else lambda: _workload(task, tokenizer, prompts, test_docs, batch_size)):
        arguments, resps, filtered = _run_model(model, tokenizer, task, test_docs, prompts, names, batch_size,
                                                truncation, scorer, empty_context, seed, k)  # fmt: skip
    items, samples = {}, []
    for filter_name, values in filtered.items():
        for i, (doc, value) in enumerate(zip(test_docs, values)):
            row = _doc_metrics(task, doc, value)
            for metric, v in row.items():
                items.setdefault((metric, filter_name), []).append(v)
            target = task.raw_target(doc)
            samples.append({"doc_id": i, "doc": doc, "target": target, "arguments": arguments[i], "resps": resps[i],
                            "filtered_resps": value if task.output_type in SCORED_CHOICES else [value],
                            "filter": filter_name, "metrics": list(row), **row})  # fmt: skip
    results = {}
    for (metric, filter_name), values in items.items():
        aggregation = task.aggregation(metric)
        results[f"{metric},{filter_name}"] = M.aggregate(values, aggregation)
        results[f"{metric}_stderr,{filter_name}"] = M.mean_stderr(values) if aggregation == "mean" else "N/A"
    return results, samples


def _workload(task: FewShotTask, tokenizer, prompts, test_docs, batch_size: int) -> list[tuple[int, int]]:
    """The forward passes ``_run_model`` will make, as ``fast_inference``'s ``(rows, calls)``: one per batch over
    its prompts (the texts, for loglikelihood_rolling; their mean length in tokens read off the first 32), and for
    generate_until one per generated token (at most ``max_gen_toks``) at one row per prompt of the batch."""
    rolling = task.output_type == "loglikelihood_rolling"
    sample = [task.target(d) for d in test_docs[:32]] if rolling else [p.context for p in prompts[:32]]
    tokens = sum(len(ids) for ids in tokenizer(sample, add_special_tokens=False)["input_ids"]) / max(len(sample), 1)
    generating = task.output_type == "generate_until"
    contexts = len(prompts) * (task.generations if generating else 1)  # _run_model generates each answer once
    rows, batches = min(batch_size, len(prompts)), -(-contexts // batch_size)
    load = [(max(round(rows * tokens), 1), batches)]
    return load + [(rows, batches * task.max_gen_toks)] if generating else load


def _run_model(model, tokenizer, task, test_docs, prompts, names, batch_size, truncation, scorer, empty_context,
               seed: int = 0, k: int = 0):
    """(arguments, resps, filtered responses) of every prompt: its generation (sampled ones drawn with ``seed``),
    or each choice's log-likelihood."""
    label = f"{task.task} k={k} seed {seed}"  # the progress bar of a long run
    scorer = scorer or (lambda reqs, where: score_choices(model, reqs, batch_size, truncation, where, progress=label))
    if task.output_type == "loglikelihood_rolling":  # every token of the text, in windows of the model's context
        texts = [task.target(d) for d in test_docs]
        prefix, max_len = prefix_token_id(tokenizer), max_context_length(model, tokenizer)
        windows = [rolling_windows(tokenizer(t, add_special_tokens=False)["input_ids"], prefix, max_len) for t in texts]
        flat = [(ctx, [cont]) for doc_windows in windows for ctx, cont in doc_windows]
        scores = iter(scorer(flat, [name for name, w in zip(names, windows) for _ in w]))
        lls = [sum(next(scores)[0][0] for _ in w) for w in windows]
        return [[[t]] for t in texts], [[[ll]] for ll in lls], {"none": lls}
    if task.output_type == "generate_until":
        # `repeats` answers per document (lm-eval's self-consistency tasks): R draws when sampled, one greedy answer
        # repeated otherwise; draw r of document i is context i * R + r, seeded by that position
        draws = task.generations
        preds = generate_until(model, tokenizer, [p.context for p in prompts for _ in range(draws)], task.until,
                               task.max_gen_toks, batch_size, truncation, sampling=task.sampling, seed=seed,
                               progress=label, num_beams=task.num_beams)  # fmt: skip
        answers = [preds[i * draws : (i + 1) * draws] * (task.repeats // draws) for i in range(len(prompts))]
        arguments = [[[p.context, dict(task.generation_kwargs)]] for p in prompts]
        resps = [[a] for a in answers]
        filtered = apply_filters(task.filters, answers, test_docs)
    else:
        if task.output_type == "loglikelihood":  # one continuation, the target itself (lm-eval adds no delimiter)
            conts = [[task.target(d)] for d in test_docs]
        else:
            conts = [[task.target_delimiter + c for c in task.choices(d)] for d in test_docs]
        requests = [encode_choices(tokenizer, p.context, cs) for p, cs in zip(prompts, conts)]
        scores = scorer(requests, names)
        arguments = [[[p.context, c] for c in cs] for p, cs in zip(prompts, conts)]
        if "acc_mutual_info" in task.metrics:
            # lm-eval 0.4.13 scores target_delimiter + choice after an empty context
            reqs = [encode_choices(tokenizer, "", cs, empty_context) for cs in conts]
            scores = [s + u for s, u in zip(scores, scorer(reqs, names))]
            arguments = [a + [["", c] for c in cs] for a, cs in zip(arguments, conts)]
        resps = [[[[ll, bool(g)]] for ll, g in s] for s in scores]
        filtered = {"none": [[(ll, bool(g)) for ll, g in s] for s in scores]}
    return arguments, resps, filtered


def _doc_metrics(task: FewShotTask, doc: dict, value) -> dict:
    if callable(task.process_results):
        return dict(task.process_results(doc, value if task.output_type in SCORED_CHOICES else [value]))
    gold = task.target(doc)
    if task.output_type == "loglikelihood_rolling":  # lm-eval's counts: words split on whitespace, UTF-8 bytes
        words, size = len(re.split(r"\s+", gold)), len(gold.encode("utf-8"))
        row = {"word_perplexity": (value, words), "byte_perplexity": (value, size), "bits_per_byte": (value, size)}
        return {m: row[m] for m in task.metrics}
    if task.output_type == "loglikelihood":
        ((ll, greedy),) = value
        row = {"perplexity": ll, "acc": int(greedy)}
        return {m: row[m] for m in task.metrics}
    if task.output_type == "generate_until":
        golds = gold if isinstance(gold, list) else [gold]
        row = {}
        for entry in task.metric_entries:
            name = entry["metric"]
            if "function" in entry:
                scores = task_metric(entry, gold, value)
                task.expanded_from.update({key: name for key in scores if key != name})
                row.update(scores)
            elif name == "exact_match":
                opts = {k: v for k, v in entry.items() if k in ("ignore_case", "ignore_punctuation", "ignore_numbers",
                                                                "regexes_to_ignore")}  # fmt: skip
                row[name] = max(M.exact_match_lm_eval(str(value), g, **opts) for g in golds)
            elif name == "f1" and not callable(task.aggregation(name)):
                # a per-answer token F1, averaged: lm-eval's own f1 hands (gold, answer) strings to scikit-learn's
                # binary f1_score, which free-text answers fail
                row[name] = max(M.f1(str(value), g) for g in golds)
            else:  # (reference, answer) pairs for the aggregation: corpus metrics (bleu, chrf, ter), a task's own
                row[name] = (golds[0], value)
        return row
    n = len(task.choices(doc))
    lls = [ll for ll, _ in value[:n]]
    uncond = [ll for ll, _ in value[n:]] or None
    row = M.multiple_choice_metrics(lls, gold, task.choices(doc), uncond)
    golds = gold if isinstance(gold, list) else [gold]
    row["exact_match"] = int(any(value[g][1] for g in golds))
    pred = int(np.argmax(lls))
    row["f1"] = row["mcc"] = (golds[0], pred)
    row["brier_score"] = (gold, M.choice_probabilities(lls))  # pairs, as lm-eval gives its aggregations
    row["likelihood"] = (gold, lls)
    return {m: row[m] for m in task.metrics}


def task_metric(entry: dict, gold, answer) -> dict:
    """A task's own metric function on one answer, called as lm-eval 0.4 calls it: ``fn(references=[gold],
    predictions=[answer], **options)``, else (a function of one argument) ``fn([gold, answer])``; with several
    gold answers, 1.0 when any of them scores. A dict result gives one value per key."""
    fn, name = entry["function"], entry["metric"]
    options = {k: v for k, v in entry.items() if k not in ("metric", "function", "aggregation", "higher_is_better")}

    def call(reference):
        try:
            return fn(references=[reference], predictions=[answer], **options)
        except TypeError:
            return fn([reference, answer])

    def score(reference):
        return run_task_code(call, reference, failed=f"metric `{name}` ({fn!r}) failed on answer {answer!r} "
                                                      f"(gold {reference!r})")  # fmt: skip

    if isinstance(gold, list):
        scores = [score(g) for g in gold]
        return {name: 1.0 if any(s[name] if isinstance(s, dict) else s for s in scores) else 0.0}
    result = score(gold)
    return dict(result) if isinstance(result, dict) else {name: result}


def evaluate_grid(model, tokenizer, task: FewShotTask, shots: list[int], seeds: int, first_seed: int = 0,
                  on_run=None, docs: tuple[list[dict], list[dict]] | None = None, **kwargs) -> dict:
    """``{"k=K": {metric: {"mean", "std", "per_seed"}}}`` for each k in ``shots`` over seeds
    ``first_seed .. first_seed + seeds - 1``; ``on_run(k, seed, results, samples)`` sees every run's
    lm-eval-layout results and per-item samples. ``docs``: :func:`load_docs`'s, when the caller has them.

    The weights are packed (``fast_inference``) when the whole grid's forward passes repay it, judged once (unless
    the caller's block has judged already)."""
    docs = docs if docs is not None else load_docs(task)
    runs = grid_runs(task, shots, seeds, first_seed, docs)
    batch_size = kwargs.get("batch_size", 8)
    workload = None if kwargs.get("scorer") else lambda: grid_workload(task, tokenizer, docs, runs, batch_size)
    results, done = {}, {}
    with fast_inference(model, workload=workload):
        for k in shots:
            per_seed = []
            for key in runs[k]:
                if key not in done:
                    done[key] = evaluate_items(model, tokenizer, task, key[0], key[1], docs=docs, **kwargs)
                run, samples = done[key]
                if on_run is not None:
                    on_run(k, key[1], run, samples)
                per_seed.append(plain_keys(run))
            results[f"k={k}"] = {
                m: {
                    "mean": float(np.mean([r[m] for r in per_seed])),
                    "std": float(np.std([r[m] for r in per_seed])),
                    "per_seed": [r[m] for r in per_seed],
                }
                for m in per_seed[0]
            }
    return results


def grid_runs(task: FewShotTask, shots: list[int], seeds: int, first_seed: int, docs) -> dict[int, list[tuple[int, int]]]:
    """k -> the (k evaluated, seed) runs :func:`evaluate_grid` reads for it; checks the few-shot split holds k."""
    rolling = task.output_type == "loglikelihood_rolling"  # scores each text alone: every k reads as k = 0
    largest = 0 if rolling else max(shots)
    pool = len(docs[1]) - (1 if task.shot_split == task.eval_split else 0)
    if largest > pool:
        raise UserError(
            f"{task.source}: k={largest} demonstrations asked but the few-shot split `{task.shot_split}` holds "
            f"only {pool} usable documents; pass --shots with k <= {pool}"
        )
    # k = 0 draws no demonstrations, so every seed gives the same prompts: evaluated once, unless answers are sampled
    drawn = lambda k: (k or task.sampling is not None) and not rolling  # noqa: E731
    return {k: [(0 if rolling else k, seed) for seed in range(first_seed, first_seed + (seeds if drawn(k) else 1))]
            for k in shots}  # fmt: skip


def grid_workload(task: FewShotTask, tokenizer, docs, runs: dict, batch_size: int) -> list[tuple[int, int]]:
    """``fast_inference``'s workload of every distinct run in ``runs`` (:func:`grid_runs`)."""
    test_docs, shot_docs = docs
    distinct = dict.fromkeys(key for keys in runs.values() for key in keys)
    return [load for k, seed in distinct
            for load in _workload(task, tokenizer, build_prompts(task, test_docs, shot_docs, k, seed), test_docs, batch_size)]  # fmt: skip
