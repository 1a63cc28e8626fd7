"""``hf-replearn fewshot``: evaluate a causal LM on a few-shot task (or group) for several k and seeds.

    hf-replearn fewshot --model outputs/clm_incontext --task recipes/fewshot/incontext_binary.yaml \\
        --shots 0,1,4,8 --seeds 3

--task takes a task file in lm-evaluation-harness 0.4's format (an lm-eval task file runs unchanged, with
its `include` files beside it), a group file (`group:` with a `task:` list), or names as lm-eval's --tasks takes
them (found under --include-path and, with lm-eval installed, among its own task files). Writes, under --output-dir:
fewshot_results.json (mean, std and per-seed value of each metric per k), accuracy_vs_k.png (for a group: its
score and its members' against k), and for each k
lm_eval/k<K>/results.json in lm-eval's layout (from the first seed), with --log-samples also
lm_eval/k<K>/samples_<task>.jsonl. --export-lm-eval FILE writes the task as an lm-eval task file instead
(no model needed).

Demonstrations follow the file's fewshot_config.sampler: lm-eval's `default` (seeded by --fewshot-seed,
1234 unless given, as lm-eval) or `first_n`, or this toolkit's `per_document` (seeds 0, 1, ...).

A task file may name Python functions (`!function utils.process_docs`, a filter class such as
`!function utils.MultiChoiceRegexFilter`): evaluating it imports that module and runs its code, so only run task
files you trust. A module written against lm-eval (`from lm_eval.filters.extraction import RegexFilter`, as
lm-eval's own bbh files are), and a filter named from lm-eval's registry (`function: format_span`), need lm-eval
installed beside this toolkit.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from hf_replearn.errors import UserError, exit_code
from hf_replearn.evaluation.fewshot.lmeval_output import (
    group_aggregate,
    higher_is_better,
    samples_lines,
    task_config,
    task_entry,
)
from hf_replearn.evaluation.fewshot.prompts import LM_EVAL_DEFAULT_SEED


def _shots(text: str) -> list[int]:
    try:
        shots = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shots must be comma-separated integers like 0,1,4,8, got {text!r}")
    if not shots or min(shots) < 0:
        raise argparse.ArgumentTypeError(f"--shots needs one or more integers >= 0, got {text!r}")
    return sorted(set(shots))


def _metadata(text: str) -> dict:
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"--metadata must be a JSON object like '{{\"key\": 1}}': {err}")
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"--metadata must be a JSON object like '{{\"key\": 1}}', got {text!r}")
    return value


def add_fewshot_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("fewshot", help="few-shot prompt evaluation (GPT-3 style, lm-eval task files)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True,
                   help="task or group YAML in lm-eval 0.4's format (see recipes/fewshot/), or the name of a task, group "
                        "or tag defined under --include-path or, when lm-eval is installed, by its own task files "
                        "(lm-eval's --tasks NAME; several names, comma separated)")
    p.add_argument("--include-path", action="append", default=[], metavar="DIR",
                   help="a folder of task files a group's members or --task names may come from, besides the group "
                        "file's own (lm-eval's --include_path; repeatable)")
    p.add_argument("--metadata", type=_metadata, default={}, metavar="JSON",
                   help="keys merged over every task's metadata (lm-eval's --metadata), e.g. '{\"max_seq_lengths\": "
                        "[4096]}': what a task's custom_dataset function is called with")
    p.add_argument("--model", help="local folder or hub id of an AutoModelForCausalLM, or a LoRA adapter folder")
    p.add_argument("--shots", type=_shots, default=None,
                   help="numbers of demonstrations k (default: the file's num_fewshot, else 0,1,4,8)")
    p.add_argument("--seeds", type=int, default=None,
                   help="demonstration draws per k (and answer draws, for a task that samples its answers); mean and "
                        "std over them (default 3 for per_document, else 1)")
    p.add_argument("--fewshot-seed", type=int, default=None,
                   help="seed of the first draw (default 1234 for lm-eval's samplers, 0 for per_document)")
    p.add_argument("--batch-size", type=int, default=8,
                   help="questions per forward pass; results do not depend on it (but for beam search with a stop "
                        "string, as in lm-eval)")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N test documents only")
    p.add_argument("--truncation", choices=["error", "left"], default="error",
                   help="a prompt longer than the model's context: error (default) or drop its oldest tokens")
    p.add_argument("--mlm", action="store_true",
                   help="--model is a masked LM saved with its MLM head (an encoder alone, as a sentence-transformers "
                        "model, is refused): score choices by pseudo-log-likelihood (multiple_choice tasks)")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--output-dir", default=None, help="default: outputs/fewshot/<task name>")
    p.add_argument("--overwrite-output-dir", action="store_true", help="replace results already in --output-dir")
    p.add_argument("--log-samples", action="store_true",
                   help="also write each document's prompt, responses and metrics (lm-eval's samples JSONL)")
    p.add_argument("--export-lm-eval", metavar="FILE", default=None, help="write the task as an lm-eval YAML and exit")
    p.set_defaults(func=run_fewshot_command)
    return p


def run_fewshot_command(args) -> int:
    from hf_replearn.evaluation.fast_inference import fast_inference
    from hf_replearn.evaluation.fewshot.evaluate import evaluate_grid, grid_runs, grid_workload, load_model
    from hf_replearn.evaluation.fewshot.groups import Group, is_group_file, load_by_name, load_group
    from hf_replearn.evaluation.fewshot.plot import plot_accuracy_vs_k, plot_group_vs_k
    from hf_replearn.evaluation.fewshot.export import export_lm_eval
    from hf_replearn.evaluation.fewshot.task import load_docs, load_task
    from hf_replearn.utils.files import atomic_write_text, check_output_dir, prepare_output_dir
    from hf_replearn.utils.hardware import check_device
    from hf_replearn.utils.inputs import check_folder, check_local_or_hub, check_number, model_in_cache

    check_number(args.batch_size, "--batch-size", "fewshot", minimum=1)
    check_number(args.limit, "--limit", "fewshot", minimum=1, fix="it counts test documents (leave it out for all)")
    for folder in args.include_path:
        check_folder(folder, "--include-path", "fewshot", needs=(), what="folder of lm-eval task files")
    as_file = Path(args.task).expanduser()
    if as_file.suffix in (".yaml", ".yml") or as_file.exists():
        group = load_group(args.task, args.include_path, limit=args.limit) if is_group_file(args.task) else None
        tasks = group.tasks() if group else [load_task(args.task, limit=args.limit)]
    else:  # a name, as lm-eval's --tasks takes one
        found = load_by_name(args.task, args.include_path, limit=args.limit)
        group = found if isinstance(found, Group) else None
        tasks = group.tasks() if group else [found]
    for task in tasks:
        task.metadata = {**task.metadata, **args.metadata}
    if args.export_lm_eval:
        if group:
            raise UserError(f"--export-lm-eval writes one task file; {args.task} is a group")
        print(f"wrote {export_lm_eval(tasks[0], args.export_lm_eval)}")
        return 0
    if not args.model:
        raise UserError("--model is required to evaluate (only --export-lm-eval works without one)")
    for task in tasks:
        task.resolve_functions()
    check_number(args.seeds, "--seeds", "fewshot", minimum=1)
    check_device(args.device)
    check_local_or_hub(args.model, "--model", "fewshot", [], cached=model_in_cache, needs=())
    if Path(args.model).expanduser().is_dir() and not any((Path(args.model).expanduser() / f).is_file()
                                                           for f in ("config.json", "adapter_config.json")):
        raise UserError(f"fewshot: --model {args.model}: no config.json (nor adapter_config.json) in this folder; "
                        "give the output_dir of a causal-LM run or a save_pretrained folder")
    if args.mlm and any(t.output_type != "multiple_choice" for t in tasks):
        raise UserError(f"--mlm scores multiple_choice tasks only; {args.task} has a generate_until task")
    name = group.name if group else tasks[0].task
    out_path = Path(args.output_dir or f"outputs/fewshot/{name}")
    syntax = ("--output-dir <a new directory>", "--overwrite-output-dir", None)
    check_output_dir(out_path, overwrite=args.overwrite_output_dir, syntax=syntax)
    model, tokenizer = load_model(args.model, args.device, masked=args.mlm)  # before the folder: a failed load leaves none
    check_scorable(args, tokenizer, tasks)
    # every task's documents and (k, seed) runs before the output folder: a missing dataset or a k larger than a
    # few-shot split stops here, with nothing written
    plans = {task.task: grid_plan(args, task) for task in tasks}
    docs = {task.task: load_docs(task) for task in tasks}
    runs = {task.task: grid_runs(task, *plans[task.task], docs[task.task]) for task in tasks}
    workload = None if args.mlm else lambda: [load for task in tasks for load in grid_workload(
        task, tokenizer, docs[task.task], runs[task.task], args.batch_size)]  # fmt: skip
    out_dir = prepare_output_dir(out_path, overwrite=args.overwrite_output_dir, syntax=syntax)
    scorer = None
    if args.mlm:
        from hf_replearn.evaluation.fewshot.mlm import score_choices_pll

        scorer = lambda reqs, names: score_choices_pll(model, tokenizer, reqs, 4 * args.batch_size,  # noqa: E731
                                                       args.truncation, names)
    start = time.perf_counter()
    layouts: dict[int, dict] = {}
    results = {}
    with fast_inference(model, workload=workload):  # packed or not, once for every task, k and seed
        for number, task in enumerate(tasks, 1):
            shots, seeds, first = plans[task.task]
            clock = [time.perf_counter()]

            def on_run(k, seed, run, samples, task=task, first=first, number=number, clock=clock):
                # a line per run as it ends: a suite of many tasks (MMLU: 57) is never silent until the end
                scores = "  ".join(f"{m}={v:.3f}" for m, v in run.items() if isinstance(v, float) and "_stderr" not in m)
                where = f" [task {number}/{len(tasks)}]" if len(tasks) > 1 else ""
                n_docs = len({s["doc_id"] for s in samples})
                print(f"[fewshot] {task.task} k={k} seed {seed}: {scores} ({n_docs} documents, "
                      f"{time.perf_counter() - clock[0]:.1f} s){where}", flush=True)  # fmt: skip
                clock[0] = time.perf_counter()
                if seed != first:
                    return
                layout = layouts.setdefault(k, new_layout(args))
                add_task(layout, task, k, run, n_docs)
                if args.log_samples:
                    path = out_dir / "lm_eval" / f"k{k}" / f"samples_{task.task}.jsonl"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    atomic_write_text(path, samples_lines(samples))

            results[task.task] = evaluate_grid(model, tokenizer, task, shots, seeds, first_seed=first, on_run=on_run,
                                               docs=docs[task.task], batch_size=args.batch_size,
                                               truncation=args.truncation, scorer=scorer,
                                               empty_context=[] if args.mlm else None)  # fmt: skip
    seconds = time.perf_counter() - start
    for k, layout in layouts.items():
        if group:
            add_group(layout, group)
        del layout["_sizes"]
        path = out_dir / "lm_eval" / f"k{k}" / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(layout, indent=2, default=str) + "\n")
    single = results[tasks[0].task] if not group else results
    report = {"task": name, "task_file": str(args.task), "model": str(args.model),
              "scoring": "pseudo-log-likelihood" if args.mlm else "log-likelihood", "shots": args.shots or shots,
              "seeds": args.seeds or seeds, "seconds": round(seconds, 2), "results": single}
    atomic_write_text(out_dir / "fewshot_results.json", json.dumps(report, indent=2) + "\n")
    if group:  # one figure of the group and its members; every task's numbers are in the JSON files
        plot_group_vs_k(layouts, group, out_dir / "accuracy_vs_k.png")
    else:
        plot_accuracy_vs_k(results[tasks[0].task], out_dir / "accuracy_vs_k.png", title=tasks[0].task)
    for task in tasks if not group else []:  # a group's tasks each had their line above; its scores follow
        for key, metrics in results[task.task].items():
            print(task.task, key, "  ".join(f"{m}={v['mean']:.3f}±{v['std']:.3f}" for m, v in metrics.items()))
    for k, layout in layouts.items():
        for gname, row in layout.get("groups", {}).items():
            print(gname, f"k={k}", "  ".join(f"{m}={v:.3f}" for m, v in row.items() if isinstance(v, float) and "_stderr" not in m))
    print(f"wrote {out_dir / 'fewshot_results.json'} and {out_dir / 'lm_eval'} ({seconds:.1f}s)")
    return 0


def grid_plan(args, task) -> tuple[list[int], int, int]:
    """(shots, seeds, first seed) of ``task``: the command line's, else the task's and its sampler's defaults."""
    own = task.sampler == "per_document"
    shots = args.shots or ([task.num_fewshot] if task.num_fewshot is not None else [0, 1, 4, 8])
    seeds = args.seeds or (3 if own else 1)
    first = args.fewshot_seed if args.fewshot_seed is not None else (0 if own else LM_EVAL_DEFAULT_SEED)
    return shots, seeds, first


def check_scorable(args, tokenizer, tasks) -> None:
    """What the scorer will need of the tokenizer, asked before any output is written."""
    from hf_replearn.evaluation.fewshot.scoring import prefix_token_id

    if args.mlm and tokenizer.mask_token_id is None:
        raise UserError(f"--mlm: the tokenizer of {args.model} has no mask token; pseudo-log-likelihood scoring "
                        "needs a masked LM's (drop --mlm for a causal LM)")
    mutual = [t.task for t in tasks if "acc_mutual_info" in t.metrics]
    rolling = [t.task for t in tasks if t.output_type == "loglikelihood_rolling"]
    if (mutual or rolling) and not args.mlm:
        try:
            prefix_token_id(tokenizer)
        except UserError:
            if mutual:
                raise UserError(f"{', '.join(mutual)}: acc_mutual_info scores each choice after an empty context, which "
                                f"the tokenizer of {args.model} has no BOS or EOS token to stand for; remove "
                                "acc_mutual_info from the task's metric_list") from None
            raise UserError(f"{', '.join(rolling)}: loglikelihood_rolling predicts a text's first token after a BOS or "
                            f"EOS token, and the tokenizer of {args.model} has neither; give it one "
                            "(tokenizer.add_special_tokens) or use a model whose tokenizer has") from None


def new_layout(args) -> dict:
    return {"results": {}, "group_subtasks": {}, "configs": {}, "versions": {}, "n-shot": {},
            "higher_is_better": {}, "n-samples": {},
            "config": {"model": str(args.model), "batch_size": args.batch_size, "limit": args.limit,
                       "fewshot_seed": args.fewshot_seed}}  # fmt: skip


def add_task(layout: dict, task, k: int, run: dict, n_docs: int) -> None:
    layout["results"][task.task] = task_entry(task, run)
    layout["configs"][task.task] = task_config(task, k)
    layout["versions"][task.task] = (task.metadata or {}).get("version")
    layout["n-shot"][task.task] = k
    layout["higher_is_better"][task.task] = higher_is_better(task)
    layout["n-samples"][task.task] = {"original": n_docs, "effective": n_docs}
    layout.setdefault("_sizes", {})[task.task] = n_docs


def add_group(layout: dict, group) -> None:
    from hf_replearn.evaluation.fewshot.groups import Group

    sizes = layout["_sizes"]
    for member in group.members:
        if isinstance(member, Group):
            add_group(layout, member)
    if group.listed:  # a tag or a --task list: its tasks (and groups) are reported alone, as lm-eval reports them
        return
    members = [(layout["results"][t.task], sizes[t.task]) for t in group.tasks()]
    row = group_aggregate(group.name, group.alias, group.aggregate_metric_list, members)
    layout["results"][group.name] = row
    layout["group_subtasks"][group.name] = [m.name if isinstance(m, Group) else m.task for m in group.members]
    if group.aggregate_metric_list:
        layout.setdefault("groups", {})[group.name] = row


def main(argv=None) -> int:
    """``python -m hf_replearn.evaluation.fewshot.cli fewshot ...``: the subcommand on its own."""
    parser = argparse.ArgumentParser(prog="hf-replearn")
    add_fewshot_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return exit_code(args.func, args)


if __name__ == "__main__":
    raise SystemExit(main())
