"""Agreement and speed against lm-evaluation-harness, on the same model, task and demonstrations.

    PYTHONPATH=. python scripts/bench/run.py fewshot_vs_lmeval      # after fewshot_incontext_curve
    PYTHONPATH=. python scripts/bench/fewshot_vs_lmeval.py --model outputs/bench_clm_incontext

lm-eval is a benchmark-only dependency and lives in its own venv, whose python ``LMEVAL_PYTHON`` names
(made with ``python -m venv --system-site-packages`` then ``pip install lm-eval``, which reuses the
installed torch and transformers). For each task the prompts of one (k, seed)
are exported with their demonstrations fixed (``hf_replearn.evaluation.fewshot.export``), both evaluators
score them with the same batch size on one CPU thread, and the table compares acc, acc_norm, the largest
per-choice log-likelihood difference and examples/s (test documents per second of evaluation, model load
excluded, best of 3).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.bench.common import ROOT, benchmark  # noqa: E402

LMEVAL_PYTHON = os.environ.get("LMEVAL_PYTHON", "/work/venvs/lmeval/bin/python")
TASKS = ["recipes/fewshot/incontext_binary.yaml", "recipes/fewshot/incontext_4way.yaml"]


def ours(model, tokenizer, task, batch_size: int, repeats: int):
    """(metrics, per-document choice log-likelihoods, best seconds) with this package's evaluator."""
    from hf_replearn.evaluation.fewshot.evaluate import evaluate_task
    from hf_replearn.evaluation.fewshot.scoring import encode_pair, score_choices
    from hf_replearn.evaluation.fewshot.task import load_docs

    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        docs = load_docs(task)
        metrics = evaluate_task(model, tokenizer, task, k=0, batch_size=batch_size, docs=docs)
        best = min(best, time.perf_counter() - start)
    reqs = []
    for doc in docs[0]:
        pairs = [encode_pair(tokenizer, task.text(doc), task.target_delimiter + c) for c in task.choices(doc)]
        reqs.append((pairs[0][0], [c for _, c in pairs]))
    lls = [[ll for ll, _ in row] for row in score_choices(model, reqs, batch_size)]
    return metrics, lls, best, len(docs[0])


def lm_eval(model_dir: Path, folder: Path, name: str, batch_size: int, repeats: int) -> dict:
    cmd = [LMEVAL_PYTHON, str(ROOT / "scripts" / "bench" / "lmeval_runner.py"), "--model", str(model_dir),
           "--include-path", str(folder), "--task", name, "--batch-size", str(batch_size), "--repeats", str(repeats)]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", HF_DATASETS_OFFLINE="1",
               HF_HUB_OFFLINE="1", PYTHONPATH="")  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=folder)
    if out.returncode != 0:
        raise RuntimeError(f"lm-eval failed ({' '.join(cmd)}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(model_dir: Path, k: int = 8, seed: int = 0, batch_size: int = 32, repeats: int = 3) -> str:
    import torch

    from hf_replearn.evaluation.fewshot.evaluate import evaluate_task, load_model
    from hf_replearn.evaluation.fewshot.export import export_with_demonstrations, fixed_prompt_task
    from hf_replearn.evaluation.fewshot.task import load_task

    torch.set_num_threads(1)
    if not (model_dir / "config.json").is_file():
        raise SystemExit(f"no model in {model_dir}: run `python scripts/bench/run.py fewshot_incontext_curve` first "
                         "(or pass --model DIR)")  # fmt: skip
    model, tokenizer = load_model(str(model_dir), "cpu")
    rows = ["| task | evaluator | acc | acc_norm | examples/s |", "|---|---|---|---|---|"]
    notes, ratios, agree = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for path in TASKS:
            task = load_task(ROOT / path, metric_list=[{"metric": "acc"}, {"metric": "acc_norm"}])
            fixed = fixed_prompt_task(task, k, seed, tmp)
            export_with_demonstrations(task, k, seed, tmp)
            # the fixed prompts are this package's own k-shot prompts: same scores as evaluating the task at k
            assert evaluate_task(model, tokenizer, task, k, seed, batch_size=batch_size) == evaluate_task(
                model, tokenizer, fixed, 0, batch_size=batch_size)
            m, lls, secs, n = ours(model, tokenizer, fixed, batch_size, repeats)
            theirs = lm_eval(model_dir, Path(tmp), fixed.task, batch_size, repeats)
            diff = max(abs(a - b) for ra, rb in zip(lls, theirs["loglikelihoods"]) for a, b in zip(ra, rb))
            same = m["acc"] == theirs["acc"] and m["acc_norm"] == theirs["acc_norm"]
            agree.append(same)
            ratios.append((n / secs) / (theirs["n_docs"] / theirs["seconds"]))
            rows.append(f"| {task.task} (k = {k}) | hf-replearn | {m['acc']:.4f} | {m['acc_norm']:.4f} | {n / secs:.0f} |")
            rows.append(f"| {task.task} (k = {k}) | lm-eval {theirs['lm_eval_version']} | {theirs['acc']:.4f} | "
                        f"{theirs['acc_norm']:.4f} | {theirs['n_docs'] / theirs['seconds']:.0f} |")  # fmt: skip
            notes.append(f"- {task.task}: {n} documents, max |log-likelihood difference| per choice {diff:.1e}; "
                         f"acc and acc_norm {'identical' if same else 'DIFFERENT'}; speed ratio {ratios[-1]:.1f}x")
    return "\n".join([
        f"Model `{model_dir.relative_to(ROOT) if model_dir.is_relative_to(ROOT) else model_dir}` (from "
        f"fewshot_incontext_curve); demonstrations of k = {k}, seed {seed} fixed by "
        "`hf_replearn.evaluation.fewshot.export.export_with_demonstrations` and read by lm-eval from local files "
        f"(`--include_path`, num_fewshot 0); batch size {batch_size} for both, one CPU thread, model load excluded, "
        f"best of {repeats}. lm-eval runs in its own venv (`{LMEVAL_PYTHON}`) through "
        "`scripts/bench/lmeval_runner.py`.", "",
        *rows, "", *notes, "",
        f"Targets: same acc and acc_norm as lm-eval: **{'met' if all(agree) else 'NOT met'}**; examples/s >= 2x "
        f"lm-eval's: **{'met' if min(ratios) >= 2 else 'NOT met'}** ({', '.join(f'{r:.1f}x' for r in ratios)}).",
    ])  # fmt: skip


@benchmark("fewshot_vs_lmeval")
def fewshot_vs_lmeval() -> str:
    """acc/acc_norm and examples/s against lm-evaluation-harness on the in-context GPT (targets: equal, >= 2x)."""
    from scripts.bench.bench_fewshot import CHECKPOINT

    return compare(CHECKPOINT)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default=None, help="a causal LM folder (default: the fewshot_incontext_curve checkpoint)")
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=32)
    args = p.parse_args()
    from scripts.bench.bench_fewshot import CHECKPOINT

    print(compare(Path(args.model).resolve() if args.model else CHECKPOINT, args.k, batch_size=args.batch_size))


if __name__ == "__main__":
    main()
