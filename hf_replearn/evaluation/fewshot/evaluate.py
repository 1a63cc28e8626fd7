"""Evaluate a causal LM on a few-shot task for several k and seeds.

``evaluate_task`` runs one (k, seed); ``evaluate_grid`` runs every k for every seed and aggregates mean and
std over seeds (std with ddof=0; with one seed it is 0). The scorer is injectable (``scorer=``) so a masked
LM can be evaluated on the same tasks with pseudo-log-likelihoods (:mod:`.mlm`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot import metrics as M
from hf_replearn.evaluation.fewshot.prompts import build_prompts
from hf_replearn.evaluation.fewshot.scoring import encode_pair, generate_until, score_choices
from hf_replearn.evaluation.fewshot.task import FewShotTask, load_docs


def load_model(path: str, device: str | None = None, masked: bool = False):
    """(model, tokenizer) from a local folder or hub id; a folder with ``adapter_config.json`` is a LoRA adapter.

    ``masked=True`` loads an ``AutoModelForMaskedLM`` (scored by pseudo-log-likelihood, see :mod:`.mlm`).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    folder = Path(path).expanduser()
    try:
        if (folder / "adapter_config.json").is_file():
            from peft import AutoPeftModelForCausalLM

            model = AutoPeftModelForCausalLM.from_pretrained(str(folder))
        else:
            model = (AutoModelForMaskedLM if masked else AutoModelForCausalLM).from_pretrained(str(path))
        tokenizer = AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as err:
        raise UserError(f"could not load a causal LM and its tokenizer from {path!r}: {err}") from None
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return model.to(device).eval(), tokenizer


def evaluate_task(
    model,
    tokenizer,
    task: FewShotTask,
    k: int,
    seed: int = 0,
    batch_size: int = 8,
    truncation: str = "error",
    docs: tuple[list[dict], list[dict]] | None = None,
    scorer=None,
) -> dict[str, float]:
    """Mean of each of the task's metrics over its test documents, with k demonstrations each."""
    test_docs, shot_docs = docs if docs is not None else load_docs(task)
    if not test_docs:
        raise UserError(f"{task.source}: the test split `{task.eval_split}` is empty")
    prompts = build_prompts(task, test_docs, shot_docs, k, seed)
    names = [f"{task.source}: test document {p.doc_index}" for p in prompts]
    if task.output_type == "generate_until":
        preds = generate_until(
            model, tokenizer, [p.context for p in prompts], task.until, task.max_gen_toks, batch_size, truncation
        )
        refs = [task.target(d) for d in test_docs]
        rows = [{"exact_match": M.exact_match(p, r), "f1": M.f1(p, r)} for p, r in zip(preds, refs)]
    else:
        scorer = scorer or (lambda reqs, where: score_choices(model, reqs, batch_size, truncation, where))
        choices = [task.choices(d) for d in test_docs]
        requests = []
        for p, cs in zip(prompts, choices):
            pairs = [encode_pair(tokenizer, p.context, task.target_delimiter + c) for c in cs]
            requests.append((pairs[0][0], [cont for _, cont in pairs]))
        scores = scorer(requests, names)
        uncond = None
        if "acc_mutual_info" in task.metrics:
            # lm-eval scores the bare choice (no delimiter) after an empty context
            reqs = [(encode_pair(tokenizer, "", cs[0])[0], [encode_pair(tokenizer, "", c)[1] for c in cs]) for cs in choices]
            uncond = scorer(reqs, names)
        rows = []
        for i, (doc, cs) in enumerate(zip(test_docs, choices)):
            lls = [ll for ll, _ in scores[i]]
            un = [ll for ll, _ in uncond[i]] if uncond else None
            rows.append(M.multiple_choice_metrics(lls, task.target(doc), cs, un))
    return {m: float(np.mean([r[m] for r in rows])) for m in task.metrics}


def evaluate_grid(model, tokenizer, task: FewShotTask, shots: list[int], seeds: int, **kwargs) -> dict:
    """``{"k=K": {metric: {"mean", "std", "per_seed"}}}`` for each k in ``shots`` over seeds 0..seeds-1."""
    docs = load_docs(task)
    largest = max(shots)
    pool = len(docs[1]) - (1 if task.shot_split == task.eval_split else 0)
    if largest > pool:
        raise UserError(
            f"{task.source}: k={largest} demonstrations asked but the few-shot split `{task.shot_split}` holds "
            f"only {pool} usable documents; pass --shots with k <= {pool}"
        )
    results = {}
    for k in shots:
        # k = 0 draws nothing, so every seed gives the same prompts: evaluate once
        per_seed = [evaluate_task(model, tokenizer, task, k, s, docs=docs, **kwargs) for s in range(seeds if k else 1)]
        results[f"k={k}"] = {
            m: {
                "mean": float(np.mean([r[m] for r in per_seed])),
                "std": float(np.std([r[m] for r in per_seed])),
                "per_seed": [r[m] for r in per_seed],
            }
            for m in task.metrics
        }
    return results
