"""scripts/bench/gpu_check.sh in its dry mode: every recipe is a step, the FSDP steps name their layer class."""

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_dry_run_lists_every_recipe_and_the_fsdp_steps(tmp_path):
    env = {**os.environ, "GPU_CHECK_DRY": "1", "OUT": str(tmp_path)}
    out = subprocess.run(["bash", str(ROOT / "scripts/bench/gpu_check.sh")], env=env, capture_output=True,
                         text=True, check=True, timeout=120).stdout
    steps = dict(re.findall(r"^(?:DRY  |SKIP .*?s  )(\S+?):? (.*)$", out, flags=re.M))
    recipes = {p.stem for p in (ROOT / "recipes").glob("*.yaml")}
    assert recipes <= set(steps), recipes - set(steps)
    for recipe, layer in (("mlm_bert", "BertLayer"), ("mlm_roberta", "RobertaLayer"), ("clm_gpt2", "GPT2Block"),
                          ("clm_incontext", "LlamaDecoderLayer")):
        command = steps[f"fsdp_{recipe}"]
        assert "--config_file recipes/accelerate/fsdp.yaml --num_processes 1" in command
        assert f"--fsdp_transformer_layer_cls_to_wrap {layer} " in command and f"recipes/{recipe}.yaml" in command
    assert "simclr_throughput" in steps and "mlm_throughput" in steps
    assert "max_steps=5 dataset_limit=256" in steps["quickstart"]
    assert (tmp_path / "gpu_check.log").read_text() == out
