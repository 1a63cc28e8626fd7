"""Run lm-evaluation-harness on one local task and model; print a JSON line. Runs in the lm-eval venv only.

    $LMEVAL_PYTHON scripts/bench/lmeval_runner.py --model DIR --include-path DIR --task NAME

The model is loaded before the clock starts, so ``seconds`` is lm-eval's evaluation alone (request building,
scoring, metrics), the quantity compared with ``hf-replearn fewshot`` in scripts/bench/fewshot_vs_lmeval.py.
Not imported by the project: lm-eval is a benchmark-only dependency.
"""

import argparse
import json
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--include-path", required=True)
    p.add_argument("--task", required=True)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()

    import torch
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    torch.set_num_threads(1)
    lm = HFLM(pretrained=args.model, batch_size=args.batch_size, device="cpu", dtype="float32")
    manager = TaskManager(include_path=args.include_path, include_defaults=False)
    best, out = float("inf"), None
    for _ in range(args.repeats):
        start = time.perf_counter()
        out = simple_evaluate(model=lm, tasks=[args.task], num_fewshot=0, task_manager=manager, log_samples=True,
                              bootstrap_iters=0)
        best = min(best, time.perf_counter() - start)
    metrics = out["results"][args.task]
    samples = out["samples"][args.task]
    # per document: the log-likelihood of each choice, in the task's choice order
    lls = {int(s["doc_id"]): [float(r[0]) for r in s["filtered_resps"]] for s in samples}
    print(json.dumps({
        "acc": metrics["acc,none"], "acc_norm": metrics["acc_norm,none"], "seconds": best, "n_docs": len(samples),
        "loglikelihoods": [lls[i] for i in sorted(lls)], "lm_eval_version": __import__("lm_eval").__version__,
    }))


if __name__ == "__main__":
    main()
