"""``hf-replearn``: run recipes and evaluate representations.

    hf-replearn train recipes/quickstart.yaml [key=value ...]
    hf-replearn eval probe --model DIR --dataset NAME
    hf-replearn fewshot --model M --task TASK.yaml --shots 0,1,4,8 --seeds 3
    hf-replearn hub serve --root DIR --port P | hf-replearn hub push DIR REPO_ID
    hf-replearn recipes
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.cli import add_fewshot_parser
from hf_replearn.hub.cli import add_hub_parser

RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"


def _train(args) -> int:
    from hf_replearn.tasks import load_recipe, run_recipe
    from hf_replearn.utils.distributed import is_main_process

    recipe = load_recipe(args.recipe, args.overrides)
    recipe.command = "hf-replearn train " + " ".join(shlex.quote(a) for a in [args.recipe, *args.overrides])
    results = run_recipe(recipe)
    if is_main_process():  # under `accelerate launch`, one line, not one per process
        print(f"results: {recipe.output_dir / 'results.json'} ({len(results)} metrics)")
    return 0


def _eval_probe(args) -> int:
    import json

    import hf_replearn.models  # noqa: F401
    from transformers import AutoModel

    from hf_replearn.data.images import ImageDataConfig, load_image_dataset
    from hf_replearn.evaluation.probe import ProbeConfig, evaluate_representations, features_note, probe_table
    from hf_replearn.utils.files import prepare_output_dir, write_results

    from hf_replearn.tasks.checks import check_probe_args

    check_probe_args(args)  # model folders, data set, numbers: before any model or data is loaded
    baselines = [] if args.no_baselines else [b for b in args.baselines.split(",") if b]
    if len(args.model) > 1:
        from hf_replearn.evaluation.compare import probe_many

        out = Path(args.output_dir or "outputs/probe-comparison")
        probe_many(args.model, args.dataset, out, baselines=baselines,
                   label_fractions=[float(f) for f in args.label_fractions.split(",")], dataset_limit=args.dataset_limit,
                   image_size=args.image_size, seeds=args.seeds, trust_remote_code=args.trust_remote_code, overwrite=args.overwrite,
                   feature_stages=args.feature_stages, feature_grid=args.feature_grid)  # fmt: skip
        print((out / "comparison.md").read_text())
        return 0
    model_dir = Path(args.model[0])
    if not (model_dir / "config.json").is_file():
        raise UserError(f"--model {model_dir}: no config.json there; pass the output_dir of a training run")
    model = AutoModel.from_pretrained(model_dir, trust_remote_code=args.trust_remote_code)
    if not hasattr(model, "get_representation"):
        raise UserError(f"--model {model_dir}: a {type(model).__name__} has no get_representation(); probe an image model")
    cfg = ImageDataConfig(name=args.dataset, image_size=args.image_size or model.config.image_size)
    dataset = load_image_dataset(cfg, args.dataset_limit)
    channels = dataset["train"][0]["pixel_values"].shape[0]
    if channels != model.config.num_channels:
        raise UserError(f"--dataset {args.dataset} has {channels}-channel images; the model takes {model.config.num_channels}")
    out = prepare_output_dir(Path(args.output_dir or model_dir / f"probe-{Path(args.dataset).name}"), overwrite=args.overwrite,
                             syntax=("--output-dir <a new directory>", "--overwrite", None))
    probe = ProbeConfig(seeds=args.seeds, baselines=baselines, feature_stages=args.feature_stages, feature_grid=args.feature_grid)
    random_model = type(model)(model.config) if "random_init" in baselines else None
    results, _ = evaluate_representations(model, dataset, probe, random_init_model=random_model, plot_path=out / "tsne.png")
    write_results(out, results)
    print(probe_table(results) + features_note(probe))
    print(f"results: {out / 'results.json'}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def _list_recipes(args) -> int:
    for path in sorted(RECIPES_DIR.glob("*.yaml")):
        first = next((line for line in path.read_text().splitlines() if line.startswith("# ") and "hf-replearn" not in line), "")
        print(f"{path.name:32s} {first[2:]}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hf-replearn", description="Representation learning on the Hugging Face stack.")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="run a recipe: train, evaluate, save, write results.json")
    train.add_argument("recipe", help="a recipe YAML file, e.g. recipes/quickstart.yaml")
    train.add_argument("overrides", nargs="*", help="key=value overrides, dotted for nested keys (model.widths=[16,32])")
    train.set_defaults(func=_train)

    ev = sub.add_parser("eval", help="evaluate a trained model").add_subparsers(dest="what", required=True)
    probe = ev.add_parser("probe", help="linear and k-NN probes on frozen features, against baselines")
    probe.add_argument("--model", required=True, action="append",
                       help="a model directory written by a training recipe; repeat it to compare several models in one table")
    probe.add_argument("--baselines", default="raw,pca,random_init", help="comma-separated: raw, pca, ica, dictionary, rbm, random_init")
    probe.add_argument("--label-fractions", default="0.01,0.1,1.0", help="label fractions for the several-model comparison")
    probe.add_argument("--dataset", required=True, help="digits, fashion_mnist, mnist_5k, an imagefolder dir or hub id")
    probe.add_argument("--output-dir", help="where results.json goes (default: MODEL/probe-DATASET)")
    probe.add_argument("--overwrite", action="store_true", help="replace an existing output directory")
    probe.add_argument("--image-size", type=int, help="resize images (default: the model's image_size)")
    probe.add_argument("--dataset-limit", type=int, help="use the first N training examples only")
    probe.add_argument("--seeds", type=int, default=3, help="subsets averaged per few-label budget")
    probe.add_argument("--feature-stages", type=int, nargs="+", default=[-1], metavar="STAGE",
                       help="encoder stages the probe reads, e.g. -2 -1 (default -1: h = f(x))")
    probe.add_argument("--feature-grid", type=int, default=1, help="pool each stage map to GRID x GRID (default 1: global pooling)")
    probe.add_argument("--no-baselines", action="store_true", help="probe the model only")
    probe.add_argument("--trust-remote-code", action="store_true", help="allow a model's own code to run")
    probe.add_argument("--json", action="store_true", help="also print results as JSON")
    probe.set_defaults(func=_eval_probe)

    sub.add_parser("recipes", help="list the recipes that ship").set_defaults(func=_list_recipes)
    add_hub_parser(sub)
    fewshot = add_fewshot_parser(sub)
    for compute in (train, probe, fewshot):  # the commands that run torch
        compute.add_argument("--threads", type=int, default=None, metavar="N",
                             help="torch intra-op threads (default: OMP_NUM_THREADS if set, else the cores free "
                                  "now by load average; see the README's 'Threads' section)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # Overrides may stand on both sides of an option (`train R.yaml a=1 --threads 1 b=2`): argparse stops
    # the positional list at the option, so the rest come back unknown and join the overrides here.
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "command", None) == "train" and not any(e.startswith("-") for e in extra):
        args.overrides = [*args.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if hasattr(args, "threads"):
            from hf_replearn.utils.threads import apply_thread_policy

            apply_thread_policy(args.threads)  # before anything imports torch
        return args.func(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
