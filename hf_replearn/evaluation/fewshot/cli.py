"""``hf-replearn fewshot``: evaluate a causal LM on a few-shot task for several k and seeds.

    hf-replearn fewshot --model outputs/clm_incontext --task recipes/fewshot/incontext_binary.yaml \\
        --shots 0,1,4,8 --seeds 3

writes ``<output-dir>/fewshot_results.json`` (mean, std and per-seed value of each metric per k) and
``<output-dir>/accuracy_vs_k.png``. ``--export-lm-eval FILE`` writes the task as an lm-eval task YAML
instead (no model needed). The lead wires ``add_fewshot_parser`` into ``hf_replearn/cli.py``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from hf_replearn.errors import UserError


def _shots(text: str) -> list[int]:
    try:
        shots = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shots must be comma-separated integers like 0,1,4,8, got {text!r}")
    if not shots or min(shots) < 0:
        raise argparse.ArgumentTypeError(f"--shots needs one or more integers >= 0, got {text!r}")
    return sorted(set(shots))


def add_fewshot_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("fewshot", help="few-shot prompt evaluation (GPT-3 style, lm-eval task files)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, help="task YAML in lm-eval style (see recipes/fewshot/)")
    p.add_argument("--model", help="local folder or hub id of an AutoModelForCausalLM, or a LoRA adapter folder")
    p.add_argument("--shots", type=_shots, default=[0, 1, 4, 8], help="numbers of demonstrations k (default 0,1,4,8)")
    p.add_argument("--seeds", type=int, default=3, help="demonstration draws per k; mean and std over them (default 3)")
    p.add_argument("--batch-size", type=int, default=8, help="questions per forward pass; results do not depend on it")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N test documents only")
    p.add_argument("--truncation", choices=["error", "left"], default="error",
                   help="a prompt longer than the model's context: error (default) or drop its oldest tokens")
    p.add_argument("--mlm", action="store_true",
                   help="--model is a masked LM: score choices by pseudo-log-likelihood (multiple_choice tasks)")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--output-dir", default=None, help="default: outputs/fewshot/<task name>")
    p.add_argument("--overwrite-output-dir", action="store_true", help="replace results already in --output-dir")
    p.add_argument("--export-lm-eval", metavar="FILE", default=None, help="write the task as an lm-eval YAML and exit")
    p.set_defaults(func=run_fewshot_command)
    return p


def run_fewshot_command(args) -> int:
    from hf_replearn.evaluation.fewshot.evaluate import evaluate_grid, load_model
    from hf_replearn.evaluation.fewshot.plot import plot_accuracy_vs_k
    from hf_replearn.evaluation.fewshot.task import export_lm_eval, load_task
    from hf_replearn.utils.files import atomic_write_text, prepare_output_dir

    task = load_task(args.task, limit=args.limit)
    if args.export_lm_eval:
        print(f"wrote {export_lm_eval(task, args.export_lm_eval)}")
        return 0
    if not args.model:
        raise UserError("--model is required to evaluate (only --export-lm-eval works without one)")
    if args.seeds < 1:
        raise UserError(f"--seeds must be >= 1, got {args.seeds}")
    from hf_replearn.utils.inputs import check_local_or_hub, model_in_cache

    check_local_or_hub(args.model, "--model", "fewshot", [], cached=model_in_cache, needs=())
    if Path(args.model).expanduser().is_dir() and not any((Path(args.model).expanduser() / f).is_file()
                                                           for f in ("config.json", "adapter_config.json")):
        raise UserError(f"fewshot: --model {args.model}: no config.json (nor adapter_config.json) in this folder; "
                        "give the output_dir of a causal-LM run or a save_pretrained folder")
    out_dir = prepare_output_dir(Path(args.output_dir or f"outputs/fewshot/{task.task}"), overwrite=args.overwrite_output_dir,
                                 syntax=("--output-dir <a new directory>", "--overwrite-output-dir", None))
    model, tokenizer = load_model(args.model, args.device, masked=args.mlm)
    scorer = None
    if args.mlm:
        from hf_replearn.evaluation.fewshot.mlm import score_choices_pll

        if task.output_type != "multiple_choice":
            raise UserError(f"--mlm scores multiple_choice tasks only; {args.task} is {task.output_type}")
        scorer = lambda reqs, names: score_choices_pll(model, tokenizer, reqs, 4 * args.batch_size,  # noqa: E731
                                                       args.truncation, names)
    start = time.perf_counter()
    results = evaluate_grid(model, tokenizer, task, args.shots, args.seeds, batch_size=args.batch_size,
                            truncation=args.truncation, scorer=scorer)
    seconds = time.perf_counter() - start
    report = {"task": task.task, "task_file": str(args.task), "model": str(args.model),
              "scoring": "pseudo-log-likelihood" if args.mlm else "log-likelihood", "shots": args.shots,
              "seeds": args.seeds, "seconds": round(seconds, 2), "results": results}
    atomic_write_text(out_dir / "fewshot_results.json", json.dumps(report, indent=2) + "\n")
    plot_accuracy_vs_k(results, out_dir / "accuracy_vs_k.png", title=task.task)
    for key, metrics in results.items():
        print(key, "  ".join(f"{m}={v['mean']:.3f}±{v['std']:.3f}" for m, v in metrics.items()))
    print(f"wrote {out_dir / 'fewshot_results.json'} and {out_dir / 'accuracy_vs_k.png'} ({seconds:.1f}s)")
    return 0


def main(argv=None) -> int:
    """Standalone entry point until the lead wires the subcommand into ``hf-replearn``."""
    import sys

    parser = argparse.ArgumentParser(prog="hf-replearn")
    add_fewshot_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
