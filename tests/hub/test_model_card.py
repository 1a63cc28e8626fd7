from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from hf_replearn.config import HubConfig, Recipe
from hf_replearn.errors import UserError
from hf_replearn.hub.model_card import (
    CardInfo,
    build_model_card,
    card_info_from_recipe,
    flatten,
    is_evaluation_metric,
    read_results,
    save_model_card,
    write_model_card,
)


@pytest.mark.parametrize("base, datasets, want_base, want_datasets", [
    ("team/start", ["digits", "team/reviews"], "team/start", ["digits", "team/reviews"]),
    ("all-MiniLM-L6-v2", ["polarity"], "sentence-transformers/all-MiniLM-L6-v2", ["polarity"]),
    ("{tmp}/models/bert", ["{tmp}/my_images"], None, None),  # local folders: the Hub refuses them as metadata
    (None, ["emoji (unicode-data, unicode-cldr-core)"], None, None),  # no repo id has spaces and brackets
])  # fmt: skip
def test_card_metadata_names_only_repo_ids_and_the_body_names_every_source(base, datasets, want_base, want_datasets,
                                                                           tmp_path):  # fmt: skip
    (tmp_path / "models" / "bert").mkdir(parents=True)
    (tmp_path / "my_images").mkdir()
    base = base and base.format(tmp=tmp_path)
    datasets = [d.format(tmp=tmp_path) for d in datasets]
    info = CardInfo(model_name="run", task="glue", results={"eval/accuracy": 0.8}, datasets=datasets, base_model=base)
    card = ModelCard.load(save_model_card(tmp_path / "out", build_model_card(info)))
    meta = card.data.to_dict()
    assert meta.get("base_model") == want_base and meta.get("datasets") == want_datasets
    assert f"trained with hf_replearn on {', '.join(datasets)}" in card.text  # the body keeps what the run read
    (result,) = card.data.eval_results  # model-index: the name as it is, the type id-shaped
    assert result.dataset_name == datasets[0]
    assert result.dataset_type == (want_datasets[0] if want_datasets else {"my_images": "my_images"}.get(
        Path(datasets[0]).name, "emoji-unicode-data-unicode-cldr-core"))
    if base:
        assert f"starting from `{base}`" in card.text


def test_card_metadata_round_trips_results_and_hyperparameters(tmp_path):
    info = CardInfo(model_name="team/simclr-digits", task="simclr",
                    results={"linear_probe_accuracy": 0.9125, "knn_accuracy": 0.875, "diverged": None},
                    datasets=["digits"], base_model=None, hyperparameters={"training.learning_rate": 0.001},
                    command="hf-replearn train recipes/simclr_digits.yaml", plots=["plots/tsne.png"])
    path = save_model_card(tmp_path, build_model_card(info))
    card = ModelCard.load(path)
    assert [(r.metric_type, r.metric_value, r.dataset_name, r.dataset_split, r.task_type)
            for r in card.data.eval_results] == [
        ("knn_accuracy", 0.875, "digits", "test", "representation-learning"),
        ("linear_probe_accuracy", 0.9125, "digits", "test", "representation-learning"),
    ]
    meta = card.data.to_dict()
    assert meta["datasets"] == ["digits"] and "base_model" not in meta
    assert meta["hyperparameters"] == {"training.learning_rate": 0.001}
    assert meta["reproduce"] == "hf-replearn train recipes/simclr_digits.yaml"
    assert meta["tags"] == ["hf_replearn", "simclr", "representation-learning"]
    assert meta["library_name"] == "hf_replearn"
    assert "![tsne](plots/tsne.png)" in card.text and "| linear_probe_accuracy | 0.9125 |" in card.text


def test_card_from_recipe_flattens_the_recipe(tmp_path):
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "loss.png").write_bytes(b"\x89PNG")
    (tmp_path / "checkpoint-5").mkdir()
    (tmp_path / "checkpoint-5" / "old.png").write_bytes(b"\x89PNG")
    recipe = Recipe(task="simclr", seed=3, training={"output_dir": str(tmp_path), "learning_rate": 0.5},
                    hub=HubConfig(push_to_hub=True, hub_model_id="team/run"))
    recipe.command = "hf-replearn train recipes/simclr.yaml seed=3"
    info = card_info_from_recipe(recipe, {"loss": 1.25})
    assert info.model_name == "team/run" and info.plots == ["plots/loss.png"]
    assert info.hyperparameters["seed"] == 3 and info.hyperparameters["training.learning_rate"] == 0.5
    assert not any(k.startswith("hub.") for k in info.hyperparameters)
    from pathlib import Path

    from hf_replearn.tasks import load_recipe

    quickstart = Path(__file__).resolve().parents[2] / "recipes" / "quickstart.yaml"
    card_for = lambda *overrides: card_info_from_recipe(load_recipe(quickstart, [f"output_dir={tmp_path}", *overrides]), {})  # noqa: E731
    assert card_for().base_model is None
    assert card_for("model.init_from=runs/simclr").base_model == "runs/simclr"  # not "from scratch"
    assert card_for("model.backbone=google/vit-base-patch16-224").base_model is None  # the architecture, fresh weights
    assert card_for("model.backbone=google/vit-base-patch16-224",
                    "model.backbone_pretrained=true").base_model == "google/vit-base-patch16-224"
    assert flatten({"a": {"b": {"c": 1}, "d": None}, "e": [1, 2], "f": [{"g": 1}]}) == {"a.b.c": 1, "e": [1, 2],
                                                                                       "f": "[{'g': 1}]"}


def test_read_results_bad_file_is_a_user_error(tmp_path):
    assert read_results(tmp_path) == {}
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(UserError, match="results.json is not valid JSON"):
        read_results(tmp_path)
    (tmp_path / "results.json").write_text(json.dumps([1, 2]))
    with pytest.raises(UserError, match="JSON object"):
        read_results(tmp_path)


def test_write_model_card_for_a_recipe_run_keeps_task_sections(tmp_path):
    (tmp_path / "tsne.png").write_bytes(b"\x89PNG")
    (tmp_path / "loss.png").write_bytes(b"\x89PNG")
    recipe = Recipe(task="simclr", training={"output_dir": str(tmp_path), "max_steps": 7})
    recipe.command = "hf-replearn train recipes/quickstart.yaml"
    sections = {"Representation quality": "| model | linear |\n|---|---|\n| simclr | 0.9 |",
                "t-SNE": "![t-SNE](tsne.png)"}
    path = write_model_card(tmp_path, recipe, {"probe/linear": 0.9, "train/loss": 1.5}, sections,
                            dataset_name="digits")
    card = ModelCard.load(path)
    assert str(card).startswith("---\n") and "model-index" in str(card) and "| model |" in card.text
    # model-index holds evaluation results (as transformers' Trainer cards); the body lists the training loss too
    assert [(r.metric_type, r.metric_value) for r in card.data.eval_results] == [("probe/linear", 0.9)]
    assert "| train/loss | 1.5 |" in card.text
    assert card.data.to_dict()["hyperparameters"]["training.max_steps"] == 7
    assert card.data.to_dict()["datasets"] == ["digits"]
    assert card.text.count("(tsne.png)") == 1 and "![loss](loss.png)" in card.text  # plots listed once
    assert "## Recipe" in card.text and "max_steps: 7" in card.text
    assert "## Hyperparameters" not in card.text  # the recipe's YAML holds them: the settings once in the body


def test_one_evaluation_section_and_a_description_that_fits_the_task():
    from hf_replearn.hub.model_card import CardInfo, build_model_card

    results = {"eval_loss": 2.0, "train_loss": 2.5}
    shown = "| metric | value |\n|---|---|\n| eval_loss | 2 |"
    card = str(build_model_card(CardInfo(model_name="m", task="clm", results=results, sections={"Evaluation": shown})))
    assert card.count("## Evaluation") == 1 and "## Training run" in card and card.count("| eval_loss |") == 1
    assert card.index("## Training run") > card.index("## Evaluation") and card.count("| train_loss |") == 1
    assert "A causal language model trained" in card and "representation model" not in card
    every = "| metric | value |\n|---|---|\n| eval_loss | 2 |\n| train_loss | 2.5 |"
    card = str(build_model_card(CardInfo(model_name="m", task="glue", results=results, sections={"Evaluation": every})))
    assert card.count("| train_loss |") == 1 and "Other results" not in card  # no number printed twice
    assert "A sentence classifier trained with hf_replearn on" in card  # not "fine-tuned trained"
    probed = {"linear_probe/model/all": 0.9, "knn/model": 0.8, "zero_shot/group/model": 0.5, "train/loss": 2.0}
    table = "| features | all labels | k-NN (all) |\n|---|---|---|\n| model | 0.900 | 0.800 |"
    card = str(build_model_card(CardInfo(model_name="m", task="simclr", results=probed, sections={"Probe": table},
                                         shown={"linear_probe/model/all", "knn/model"})))
    assert "| linear_probe/model/all |" not in card and "| knn/model |" not in card  # shown by the probe table
    assert "## Evaluation\n\n| metric | value |\n|---|---|\n| zero_shot/group/model | 0.5 |\n\n## Training run" in card
    card = str(build_model_card(CardInfo(model_name="m", task="finetune_images", results=results)))
    assert "An image classifier (a pretrained or fresh encoder" in card and "representation model" not in card
    card = str(build_model_card(CardInfo(model_name="m", task="simclr", results=results)))
    assert card.count("## Evaluation") == 1 and "An image encoder (SimCLR: contrastive, augmented views of each image) trained" in card


def test_clm_card_explains_empty_samples(tmp_path):
    from hf_replearn.tasks import load_recipe
    from hf_replearn.tasks.lm import write_lm_card

    from pathlib import Path

    recipes = Path(__file__).resolve().parents[2] / "recipes"
    recipe = load_recipe(recipes / "clm_gpt2.yaml", [f"output_dir={tmp_path}"])
    results = {"eval_loss": 3.0, "eval_token_loss": 2.9957, "eval_perplexity": 20.0, "model/total_params": 1000}
    write_lm_card(recipe, results, ["The", "A computer says hi"], causal=True)
    card = (tmp_path / "README.md").read_text()
    assert "> The *(nothing generated" in card and "> A computer says hi\n" in card
    assert "A causal language model" in card and card.count("| eval_loss |") == 1  # in the task's Validation table
    assert card.count("| eval_token_loss | 2.996 |") == 1  # the loss its perplexity is the exp of, shown there too
    assert "## Evaluation" not in card and "## Training run\n\n| metric | value |\n|---|---|\n| model/total_params | 1000 |" in card
    recipe.generation.prompts = []
    write_lm_card(recipe, results, [], causal=True)
    assert "None: generation.prompts is empty" in (tmp_path / "README.md").read_text()


def test_model_index_holds_evaluation_results_not_bookkeeping():
    kept = ["linear_probe/model/10_per_class", "linear_probe/raw/all", "linear_probe_cv/model/5_per_class", "knn/model",
            "kmeans_nmi/model", "eval/accuracy", "eval/loss", "eval_loss", "eval_token_loss", "eval_perplexity",
            "validation/f1", "validation/loss", "validation/best_f1", "validation/NoAns_exact", "zero_shot/group/model",
            "retrieval/image_to_text/recall@5/model", "disentanglement/mig", "incontext_binary/k=4/acc_norm",
            "probe/linear_probe/finetuned/all", "eval/analogy_accuracy",
            "linear_probe/cpc/speaker_mean_std"]  # the mean-and-std pooling's accuracy, not a spread
    dropped = ["train/loss", "train/runtime_s", "train/steps", "train/tokens", "train/samples_per_second", "train_loss",
               "model/total_params", "data/labels_used", "data/vocab_size", "epoch", "eval_tokens",
               "eval/runtime_s", "eval/features_s", "validation/runtime", "validation/steps_per_second",
               "eval/supervised_steps", "eval/supervised_last_loss",
               "linear_probe_std/model/all", "linear_probe_cv_std/model/5_per_class", "linear_probe_cv_C/model/5_per_class",
               "probe/linear_probe_std/finetuned/10_per_class", "incontext_binary/k=4/acc_std",
               "retrieval/chance", "retrieval/chance/recall@1", "zero_shot/group/majority",
               "validation/windows", "validation/HasAns_total", "validation/total", "validation/best_f1_thresh"]
    assert [k for k in kept if not is_evaluation_metric(k)] == []
    assert [k for k in dropped if is_evaluation_metric(k)] == []


def test_every_task_opens_its_card_with_what_it_made():
    from hf_replearn.hub.model_card import DESCRIPTIONS
    from hf_replearn.tasks import TASKS

    assert set(TASKS) <= set(DESCRIPTIONS), set(TASKS) - set(DESCRIPTIONS)
