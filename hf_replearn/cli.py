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

from hf_replearn.errors import UserError, exit_code
from hf_replearn.evaluation.fewshot.cli import add_fewshot_parser
from hf_replearn.hub.cli import add_hub_parser



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

    from hf_replearn.evaluation.features import Readout
    from hf_replearn.evaluation.probe import ProbeConfig
    from hf_replearn.evaluation.probe_runner import ProbeRequest, run_probe
    from hf_replearn.tasks.checks import check_probe_args

    def numbers(text, kind, flag, valid, example):
        try:
            values = [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            values = None
        if values is None or not all(map(valid, values)):
            raise UserError(f"eval probe: {flag} {text!r}: give comma-separated {example}")
        return values

    budgets = args.labels_per_class or ",".join(map(str, ProbeConfig().labels_per_class))
    budgets = numbers(budgets, int, "--labels-per-class", lambda k: k >= 1, "whole numbers >= 1, e.g. 1,10,100")
    fractions = numbers(args.label_fractions, float, "--label-fractions", lambda f: 0 < f <= 1,
                        "fractions in (0, 1], e.g. 0.01,0.1")
    check_probe_args(args)  # model folders or hub ids, data set, numbers: before any model or data is loaded

    baselines = [] if args.no_baselines else None if args.baselines is None else [b for b in args.baselines.split(",") if b]
    probe = ProbeConfig(labels_per_class=budgets, seeds=args.seeds, label_fractions=fractions, cv_c=not args.no_cv,
                        tsne=not args.no_tsne, feature_stages=args.feature_stages, feature_grid=args.feature_grid)  # fmt: skip
    readout = Readout(pooling=args.pooling, batch_size=args.batch_size, max_length=args.max_length,
                      precision=args.precision, cache=not args.no_cache)  # fmt: skip
    request = ProbeRequest(models=args.model, dataset=args.dataset, output_dir=args.output_dir, overwrite=args.overwrite,
                           baselines=baselines, probe=probe, default_budgets=args.labels_per_class is None,
                           readout=readout, layer=args.layer,
                           text_columns=args.text_column or [], label_column=args.label_column,
                           column_names=[c for c in args.column_names.split(",") if c] if args.column_names else None,
                           dataset_limit=args.dataset_limit, image_size=args.image_size,
                           trust_remote_code=args.trust_remote_code)  # fmt: skip
    if args.push:
        from hf_replearn.hub.probe_card import check_push_target

        check_push_target(args.push)
    results, section, out = run_probe(request)
    print(section)
    print(f"\nresults: {out / 'results.json'}")
    if args.push:
        from hf_replearn.hub.probe_card import push_probe_card

        push_probe_card(args.push, section, results, args.dataset)
        print(f"card: the probe section and {args.push}'s model-index entries updated")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def _list_recipes(args) -> int:
    from hf_replearn.config import RECIPES_DIR

    for path in sorted(RECIPES_DIR.glob("*.yaml")):
        first = next((line for line in path.read_text().splitlines() if line.startswith("# ") and "hf-replearn" not in line), "")
        print(f"{path.name:32s} {first[2:]}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import PackageNotFoundError, version

    parser = argparse.ArgumentParser(prog="hf-replearn", description="Representation learning on the Hugging Face stack.")
    try:
        parser.add_argument("--version", action="version", version=f"hf-replearn {version('hf_replearn')}")
    except PackageNotFoundError:  # run from a source tree that was never installed
        pass
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="run a recipe: train, evaluate, save, write results.json")
    train.add_argument("recipe", help="a recipe YAML file, e.g. recipes/quickstart.yaml")
    train.add_argument("overrides", nargs="*", default=[], help="key=value overrides, dotted for nested keys (model.widths=[16,32])")
    train.set_defaults(func=_train)

    ev = sub.add_parser("eval", help="evaluate a trained model").add_subparsers(dest="what", required=True)
    probe = ev.add_parser("probe", help="linear and k-NN probes on frozen features of any model, against baselines",
                          description="Probe this toolkit's checkpoints or any transformers model (text, images) on a "
                                      "labelled set: few-label linear probes (C fixed and C by cross-validation), k-NN, "
                                      "k-means NMI, against baselines of the same modality.")
    probe.add_argument("--model", required=True, action="append",
                       help="a training run's output_dir, a transformers model folder or a hub id (an image-text dual encoder: its "
                            "image tower on images, its text tower on text); repeat it to compare several")
    probe.add_argument("--dataset", required=True,
                       help="text: polarity, bible_paraphrase, wordnet_topic, a GLUE folder (.../SST-2), a csv/tsv/json/jsonl "
                            "file, a save_to_disk folder or hub id; images: digits, fashion_mnist, mnist_5k, an imagefolder")
    probe.add_argument("--text-column", action="append", help="text column of a file or datasets set (twice for pairs)")
    probe.add_argument("--label-column", default="label", help="label column of a file or datasets set")
    probe.add_argument("--column-names", help="the columns of a csv/tsv file without a header row, comma-separated "
                                              "(e.g. label,text)")
    probe.add_argument("--baselines", help="comma-separated; images: raw, pca, ica, dictionary, rbm, random_init "
                                           "(default raw,pca,random_init); text: tfidf_word, tfidf_char, random_init (all)")
    probe.add_argument("--no-baselines", action="store_true", help="probe the model(s) only")
    probe.add_argument("--labels-per-class", help="label budgets per class, comma-separated (default 1,10,100, less the "
                                                  "budgets the smallest class cannot fill)")
    probe.add_argument("--label-fractions", default="", help="also probe with these fractions of the labels, e.g. 0.01,0.1")
    probe.add_argument("--seeds", type=int, default=3, help="label subsets averaged per few-label budget")
    probe.add_argument("--no-cv", action="store_true", help="skip the probe whose C is chosen by cross-validation")
    probe.add_argument("--layer", help="hidden state to read: an index (0 = embeddings) or `all` for one row per layer "
                                       "(default: the last)")
    probe.add_argument("--pooling", choices=("mean", "cls", "last"),
                       help="tokens -> one vector (default: last for decoder LMs, mean otherwise)")
    probe.add_argument("--max-length", type=int, default=256, help="tokens kept per text")
    probe.add_argument("--batch-size", type=int, default=64, help="examples per forward pass")
    probe.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                       help="auto: bf16 autocast where the hardware has it")
    probe.add_argument("--no-cache", action="store_true", help="recompute features (default: cached on disk, "
                                                               "$HF_REPLEARN_CACHE/features)")
    probe.add_argument("--output-dir", help="where results.json and probe.md go (default: MODEL/probe-DATASET for one "
                                            "run of this toolkit, else outputs/probe-DATASET)")
    probe.add_argument("--overwrite", action="store_true", help="replace an existing output directory")
    probe.add_argument("--image-size", type=int, help="resize the dataset's images, which the pixel baselines read too "
                       "(default: a toolkit model's image_size, else as stored); a transformers model's image "
                       "processor then resizes them to its own size")
    probe.add_argument("--dataset-limit", type=int, help="use the first N training examples only")
    probe.add_argument("--feature-stages", type=int, nargs="+", default=[-1], metavar="STAGE",
                       help="this toolkit's image encoders: stages the probe reads, e.g. -2 -1 (default -1: h = f(x))")
    probe.add_argument("--feature-grid", type=int, default=1, help="pool each stage map to GRID x GRID (default 1: global pooling)")
    probe.add_argument("--no-tsne", action="store_true", help="skip the t-SNE picture")
    probe.add_argument("--trust-remote-code", action="store_true", help="allow a model's own code to run")
    probe.add_argument("--json", action="store_true", help="also print results as JSON")
    probe.add_argument("--push", metavar="REPO", help="add the table and model-index entries to this hub repo's card "
                                                      "(HF_ENDPOINT / HF_TOKEN as for `hub push`)")
    probe.set_defaults(func=_eval_probe)

    sub.add_parser("recipes", help="list the recipes that ship").set_defaults(func=_list_recipes)
    add_hub_parser(sub)
    fewshot = add_fewshot_parser(sub)
    for compute in (train, probe, fewshot):  # the commands that run torch
        compute.add_argument("--threads", type=int, default=None, metavar="N",
                             help="torch intra-op threads (default: OMP_NUM_THREADS if set, else the cores free "
                                  "now by load average; see the README's 'Threads' section)")
    return parser


def _run_command(args) -> int:
    if hasattr(args, "threads"):  # the commands that run torch
        from hf_replearn.utils.threads import apply_thread_policy

        apply_thread_policy(args.threads)  # before anything imports torch
    return args.func(args)


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
        return exit_code(_run_command, args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
