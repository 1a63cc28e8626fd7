"""A real recipe (SimCLR quickstart, a few steps) trained through Trainer, pushed to the local hub with
its model card, and loaded back with from_pretrained equal to what the run saved."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub as hh
import torch
from huggingface_hub import ModelCard
from transformers import AutoModel

from conftest import TOKEN
from hf_replearn.config import load_recipe
from hf_replearn.hub.push import push_recipe
from hf_replearn.tasks import run_recipe

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
TINY = ["max_steps=2", "dataset_limit=64", "per_device_train_batch_size=32", "save_steps=1",
        "model.widths=[8,16]", "model.projection_dim=8", "evaluation.seeds=1", "evaluation.labels_per_class=[1]",
        "evaluation.baselines=[]", "evaluation.tsne=false"]  # fmt: skip


def test_quickstart_recipe_pushes_and_loads_back(hub, tmp_path):
    import hf_replearn.models  # noqa: F401 - registers the simclr family with AutoModel

    overrides = [f"output_dir={tmp_path / 'run'}", *TINY, "hub.push_to_hub=true", "hub.hub_model_id=team/quick"]
    recipe = load_recipe(RECIPES / "quickstart.yaml", overrides)
    recipe.command = "hf-replearn train recipes/quickstart.yaml " + " ".join(overrides)
    results = run_recipe(recipe)
    info = push_recipe(recipe, results, endpoint=hub.url, token=TOKEN)

    files = {f.rfilename for f in hh.HfApi().repo_info("team/quick").siblings}
    assert {"README.md", "config.json", "model.safetensors", "results.json"} <= files
    assert not any(f.startswith("checkpoint-") for f in files)  # resume state stays local
    saved = AutoModel.from_pretrained(tmp_path / "run")
    pulled = AutoModel.from_pretrained("team/quick", revision=info.oid)
    assert type(pulled) is type(saved)
    for key, value in saved.state_dict().items():
        assert torch.equal(value, pulled.state_dict()[key]), key
    card = ModelCard.load(hh.hf_hub_download("team/quick", "README.md"))
    indexed = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert indexed["train/steps"] == 2 and indexed == {k: v for k, v in results.items() if v is not None}
    assert card.data.to_dict()["reproduce"] == recipe.command
    assert card.data.to_dict()["datasets"] == ["digits"]
