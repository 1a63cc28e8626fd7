"""Examples/s of multiple_choice scoring: shared prompt encoded once (cache) vs one sequence per choice.

    PYTHONPATH=. python scripts/bench/fewshot_speed.py --model outputs/clm_incontext --task recipes/fewshot/incontext_4way.yaml --k 8

Both paths score the same requests; the script checks they agree and prints examples/s of each.
"""

import argparse
import time

from hf_replearn.evaluation.fewshot.evaluate import load_model
from hf_replearn.evaluation.fewshot.prompts import build_prompts
from hf_replearn.evaluation.fewshot.scoring import encode_pair, score_choices
from hf_replearn.evaluation.fewshot.task import load_docs, load_task


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--task", required=True)
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default=None)
    args = p.parse_args()
    model, tok = load_model(args.model, args.device)
    task = load_task(args.task)
    test, shots = load_docs(task)
    reqs = []
    for prompt, doc in zip(build_prompts(task, test, shots, args.k, 0), test):
        pairs = [encode_pair(tok, prompt.context, task.target_delimiter + c) for c in task.choices(doc)]
        reqs.append((pairs[0][0], [c for _, c in pairs]))
    results = {}
    for shared in (True, False):
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            results[shared] = score_choices(model, reqs, args.batch_size, shared_prefix=shared)
            best = min(best, time.perf_counter() - start)
        print(f"shared_prefix={shared}: {len(reqs) / best:.1f} examples/s ({len(reqs)} examples, best of {args.repeats})")
    diff = max(abs(a[0] - b[0]) for ra, rb in zip(results[True], results[False]) for a, b in zip(ra, rb))
    print(f"max |log-likelihood difference| = {diff:.2e}")


if __name__ == "__main__":
    main()
