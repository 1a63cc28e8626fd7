"""The benchmark registry shared by scripts/bench/run.py and the bench_* modules."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REGISTRY: dict = {}


def benchmark(name: str):
    def decorator(fn):
        REGISTRY[name] = fn
        return fn

    return decorator


def run_probe_recipe(recipe_file: str, *overrides: str) -> tuple[dict, float, str]:
    """Train and probe ``recipes/RECIPE_FILE`` as shipped (plus overrides); return (results, wall s, probe table).

    The run goes to a temporary directory, or to ``$BENCH_KEEP_DIR/<recipe name>`` when that is set, so the
    checkpoint can be probed again (``hf-replearn eval probe``) without training it twice.
    """
    import os
    import tempfile
    import time

    from hf_replearn.config import load_recipe
    from hf_replearn.evaluation.probe import features_note, probe_table
    from hf_replearn.tasks import run_recipe

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
