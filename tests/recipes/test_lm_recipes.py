"""bf16 against fp32 on the clm recipe (each text recipe's smoke run: tests/recipes/test_all_recipes.py)."""

import shutil
from pathlib import Path

import pytest

from hf_replearn.tasks import load_recipe, run_recipe
from hf_replearn.data import text

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
TINY = ["dataset_limit=200", "data.block_size=32", "tokenizer.vocab_size=300", "model.hidden_size=32",
        "model.num_layers=1", "model.num_heads=2", "model.intermediate_size=64", "max_steps=3",
        "per_device_train_batch_size=8", "per_device_eval_batch_size=32", "logging_steps=1"]

NEEDS = {"mlm_bert.yaml": shutil.which("bible"), "clm_gpt2.yaml": text.FORTUNES_DIR.is_dir(),
         "mlm_roberta.yaml": list(Path("/usr/share/doc").glob("python3*/html/_sources"))}


def _run(name, tmp_path, *extra):
    if not NEEDS[name]:
        pytest.skip(f"the corpus of {name} is not installed")
    recipe = load_recipe(RECIPES / name, TINY + [f"output_dir={tmp_path}", *extra])
    first = RECIPES.joinpath(name).read_text().splitlines()[0]
    assert first == f"# hf-replearn train recipes/{name}"
    return recipe, run_recipe(recipe)


def test_bf16_recipe_loss_close_to_fp32(tmp_path):
    _, fp32 = _run("clm_gpt2.yaml", tmp_path / "fp32")
    _, bf16 = _run("clm_gpt2.yaml", tmp_path / "bf16", "bf16=true")
    assert abs(bf16["train/loss"] - fp32["train/loss"]) / fp32["train/loss"] < 0.01
    assert abs(bf16["eval_loss"] - fp32["eval_loss"]) / fp32["eval_loss"] < 0.01
