"""The benchmark registry shared by scripts/bench/run.py and the bench_* modules."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REGISTRY: dict = {}


def best_ms(fn, calls: int, runs: int = 5) -> float:
    """Milliseconds per call of ``fn``: the best of ``runs`` runs of ``calls`` calls, after one untimed run."""
    from hf_replearn.utils.timing import best_seconds

    return best_seconds(lambda: [fn() for _ in range(calls)], repeats=runs) / calls * 1e3


def benchmark(name: str):
    def decorator(fn):
        REGISTRY[name] = fn
        return fn

    return decorator


def train_side_by_side(recipe_file: str, data_names: list[str], out: Path, *overrides: str) -> list[dict]:
    """``recipes/RECIPE_FILE`` trained once per ``data.name`` in ``data_names``, all at once, one thread each (into
    ``out/run<i>``); their results.json, in order. A run that fails stops the bench."""
    import json
    import os
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-m", "hf_replearn", "train", str(ROOT / "recipes" / recipe_file),
                               f"data.name={data}", f"output_dir={out}/run{i}", *overrides],
                              env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL)
             for i, data in enumerate(data_names)]  # fmt: skip
    for proc in procs:
        if proc.wait():
            raise SystemExit(f"a {recipe_file} run failed (exit {proc.returncode})")
    return [json.loads((out / f"run{i}" / "results.json").read_text()) for i in range(len(data_names))]


def run_probe_recipe(recipe_file: str, *overrides: str) -> tuple[dict, float, str]:
    """Train and probe ``recipes/RECIPE_FILE`` as shipped (plus overrides); return (results, wall s, probe table).

    The run goes to a temporary directory, or to ``$BENCH_KEEP_DIR/<recipe name>`` when that is set, so the
    checkpoint can be probed again (``hf-replearn eval probe``) without training it twice.
    """
    import os
    import tempfile
    import time

    from hf_replearn.tasks import load_recipe, run_recipe
    from hf_replearn.evaluation.probe import features_note, probe_table

    keep = os.environ.get("BENCH_KEEP_DIR")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(keep) / Path(recipe_file).stem if keep else Path(tmp) / "run"
        recipe = load_recipe(ROOT / "recipes" / recipe_file, [f"output_dir={out}", "disable_tqdm=true", *overrides])
        start = time.perf_counter()
        results = run_recipe(recipe)
        wall = time.perf_counter() - start
    return results, wall, probe_table(results) + features_note(recipe.evaluation)


def probe_report(results: dict, wall: float, table: str, target_lines: list[str]) -> str:
    """The probe table, where the time went, and the target lines, as one Markdown block."""
    lines = [table, "", f"Training {results['train/runtime_s']:.0f} s ({results['train/samples_per_second']:.0f} images/s, "
             f"{results['train/steps']} steps), evaluation {results['eval/runtime_s']:.0f} s, wall time {wall:.0f} s.", ""]  # fmt: skip
    return "\n".join(lines + target_lines)


def load_probe_inputs(model_dir: str, dataset: str):
    """For the probe_* scripts: a kept image recipe's model (eval mode, one torch thread) and the dataset's
    (pixels, labels) train and test splits."""
    import torch
    from transformers import AutoModel

    import hf_replearn.models  # noqa: F401  (registers the Auto classes)
    from hf_replearn.data.images import ImageDataConfig, load_image_dataset, split_arrays

    torch.set_num_threads(1)
    model = AutoModel.from_pretrained(model_dir).eval()
    data = load_image_dataset(ImageDataConfig(name=dataset))
    return model, split_arrays(data["train"]), split_arrays(data["test"])
