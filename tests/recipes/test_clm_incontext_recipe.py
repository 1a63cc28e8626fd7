import json
from pathlib import Path

import torch

from hf_replearn.tasks import load_recipe, run_recipe

REPO = Path(__file__).resolve().parents[2]


def test_clm_incontext_recipe_runs_two_steps(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    monkeypatch.chdir(REPO)  # the recipe names its task files relative to the repository root
    recipe = load_recipe(REPO / "recipes" / "clm_incontext.yaml", [
        "max_steps=2", "data.n_sequences=64", f"output_dir={tmp_path / 'run'}", "fewshot.limit=4",
        "fewshot.seeds=1", "fewshot.shots=[0,2]", "fewshot.tasks=[recipes/fewshot/incontext_binary.yaml]",
    ])
    results = run_recipe(recipe)
    assert results["train/loss"] > 3.0  # two steps from random init: near ln(vocab) = 4.6
    assert 0.0 <= results["incontext_binary/k=2/acc"] <= 1.0
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["incontext_binary/k=0/acc"] == results["incontext_binary/k=0/acc"]
    assert (tmp_path / "run" / "model.safetensors").is_file() and (tmp_path / "run" / "tokenizer.json").is_file()
    assert (tmp_path / "run" / "fewshot_incontext_binary.png").is_file()
    assert "### incontext_binary" in (tmp_path / "run" / "fewshot_card.md").read_text()
    assert "Few-shot evaluation" in (tmp_path / "run" / "README.md").read_text()
