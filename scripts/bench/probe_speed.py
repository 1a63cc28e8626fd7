"""Wall and CPU time of the probe an image recipe runs after training, stage by stage, and its numbers.

    OMP_NUM_THREADS=2 PYTHONPATH=. python scripts/bench/probe_speed.py OUTPUT_DIR [RECIPE] [--json FILE] [KEY=VALUE ...]

OUTPUT_DIR holds a model trained by RECIPE (default recipes/simclr_fashion_mnist.yaml; how well it is trained
does not change the probe's cost, so a run of a few steps will do). The probe runs as ``tasks.common.probe_and_card``
runs it: the recipe's data and ``evaluation`` section (KEY=VALUE overrides it, e.g. ``tsne=false``), a random-init
baseline of the same architecture, the t-SNE picture (written to a temporary folder). Prints the probe's own stage
lines, then wall time, CPU time (user + system of this process and its children) and the 1-minute load average
before and after; ``--json`` writes the results and those timings. hf_replearn is imported from PYTHONPATH, so
pointing it at another checkout times that checkout's probe on the same model: a before/after pair, best run
back to back on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path


def cpu_seconds() -> float:
    return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))  # fmt: skip


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir")
    parser.add_argument("recipe", nargs="?", default="recipes/simclr_fashion_mnist.yaml")
    parser.add_argument("--json", default=None)
    parser.add_argument("overrides", nargs="*", help="evaluation keys, e.g. tsne=false seeds=1")
    args = parser.parse_args(argv)

    from hf_replearn.utils.threads import apply_thread_policy

    apply_thread_policy()  # as the CLI does, before torch is imported: OMP_NUM_THREADS, passive OpenMP waits
    import torch
    import yaml
    from transformers import AutoModel, set_seed

    import hf_replearn.models  # noqa: F401  (registers the Auto classes)
    from hf_replearn.data.images import ImageDataConfig, load_image_dataset
    from hf_replearn.evaluation.probe import ProbeConfig, evaluate_representations

    recipe = yaml.safe_load(Path(args.recipe).read_text())
    evaluation = {**recipe.get("evaluation", {}), **{k: yaml.safe_load(v) for k, v in (o.split("=", 1) for o in args.overrides)}}
    cfg = ProbeConfig(**evaluation)
    model = AutoModel.from_pretrained(args.model_dir).eval()
    dataset = load_image_dataset(ImageDataConfig(**recipe.get("data", {})))
    set_seed(recipe.get("seed", 0) + 1)  # as probe_and_card seeds its random-init baseline
    random_model = type(model)(model.config).eval() if "random_init" in cfg.baselines else None

    load_before, cpu_before, start = os.getloadavg()[0], cpu_seconds(), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        results, _ = evaluate_representations(model, dataset, cfg, random_init_model=random_model, plot_path=Path(tmp) / "tsne.png")
    timing = {"wall_s": time.perf_counter() - start, "cpu_s": cpu_seconds() - cpu_before, "load_before": load_before,
              "load_after": os.getloadavg()[0], "torch_threads": torch.get_num_threads()}  # fmt: skip
    for key, value in sorted(results.items()):
        print(f"{key:45s} {value:.4f}")
    print(" ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in timing.items()), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "timing": timing}, indent=1) + "\n")
    return results


if __name__ == "__main__":
    main()
