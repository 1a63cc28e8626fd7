from pathlib import Path

import pytest

from hf_replearn.tasks import build_recipe, load_recipe
from hf_replearn.errors import UserError

BASE = {"task": "simclr", "data": {"name": "digits"}, "training": {"output_dir": "out", "max_steps": 5}}


def test_shipped_recipes_parse(tmp_path):
    from pathlib import Path

    recipes = sorted(Path(__file__).resolve().parent.parent.joinpath("recipes").glob("*.yaml"))
    assert recipes, "no recipes found"
    for path in recipes:
        text = path.read_text()
        assert text.startswith("# hf-replearn "), f"{path.name} must open with the command that runs it"
        recipe = load_recipe(path)
        assert recipe.task


def test_nested_and_training_overrides():
    recipe = build_recipe(BASE, ["model.widths=[8,16]", "max_steps=7", "learning_rate=1e-3", "dataset_limit=50", "output_dir=/tmp/x"])
    assert recipe.model.widths == [8, 16]
    assert recipe.training["max_steps"] == 7
    assert recipe.training["learning_rate"] == pytest.approx(1e-3)
    assert recipe.dataset_limit == 50
    assert str(recipe.output_dir) == "/tmp/x"
    assert recipe.evaluation.labels_per_class == [1, 10, 100]  # untouched default


def test_unknown_key_names_closest_valid_one():
    with pytest.raises(UserError, match=r"unknown key `model.widht`.*did you mean `model.widths`"):
        build_recipe(BASE, ["model.widht=[8]"])
    with pytest.raises(UserError, match=r"unknown key `datset_limit`.*did you mean `dataset_limit`"):
        build_recipe({**BASE, "datset_limit": 3})
    with pytest.raises(UserError, match=r"unknown key `training.max_step`.*did you mean `training.max_steps`"):
        build_recipe(BASE, ["training.max_step=3"])


def test_wrong_type_names_key_and_expected_type():
    with pytest.raises(UserError, match=r"`model.blocks_per_stage` must be int, got 'two'"):
        build_recipe(BASE, ["model.blocks_per_stage=two"])
    with pytest.raises(UserError, match=r"`training.max_steps` must be int"):
        build_recipe(BASE, ["max_steps=ten"])
    with pytest.raises(UserError, match=r"`augment.crop_scale` must be a list, got 0.5; write it in brackets, "
                                         r"e.g. augment.crop_scale=\[0.5\]"):
        build_recipe(BASE, ["augment.crop_scale=0.5"])
    with pytest.raises(UserError, match=r"`model.contrastive_temperature` must be float"):
        build_recipe(BASE, ["model.contrastive_temperature=true"])


def test_unknown_task_and_missing_file(tmp_path):
    with pytest.raises(UserError, match=r"unknown task `simclrr`; did you mean `simclr`"):
        build_recipe({"task": "simclrr"})
    with pytest.raises(UserError, match="does not exist"):
        load_recipe(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_recipe(bad)
    with pytest.raises(UserError, match="not of the form key=value"):
        build_recipe(BASE, ["max_steps"])


def test_optional_section_keeps_its_own_error_and_strategy_no():
    recipe = build_recipe(BASE, ["save_strategy=no", "eval_strategy=no"])
    assert recipe.training["save_strategy"] == "no" and recipe.training["eval_strategy"] == "no"
    with pytest.raises(UserError, match=r"`model.projection_hidden_dim` must be int, got 'wide'"):
        build_recipe(BASE, ["model.projection_hidden_dim=wide"])


def test_bf16_auto_follows_the_hardware(monkeypatch, tmp_path):
    from hf_replearn.training import args as args_module

    with pytest.raises(UserError, match=r"`training.bf16` must be bool, got 'sometimes'"):
        build_recipe(BASE, ["bf16=sometimes"])
    recipe = build_recipe(BASE, ["bf16=auto", f"output_dir={tmp_path}"])
    for native in (True, False):
        monkeypatch.setattr(args_module, "bf16_native", lambda native=native: native)
        training_args = args_module.make_training_args(recipe)
        assert training_args.bf16 is native
        # without an accelerator bf16 runs on the CPU, which transformers only allows with use_cpu
        assert training_args.use_cpu is (native and args_module.on_cpu_only())


def test_a_file_the_recipe_names_is_found_from_any_directory(tmp_path, monkeypatch):
    """Working directory first, then the recipe's folder, then the shipped recipes; else the value as given."""
    from hf_replearn.config import RECIPES_DIR, Recipe

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "task.yaml").write_text("x: 1\n")
    recipe = Recipe(task="t", source=str(tmp_path / "mine" / "recipe.yaml"))
    monkeypatch.chdir(tmp_path)
    assert recipe.resolve_path("task.yaml") == tmp_path / "mine" / "task.yaml"  # beside the recipe
    (tmp_path / "task.yaml").write_text("x: 2\n")
    assert recipe.resolve_path("task.yaml") == Path("task.yaml")  # the working directory's comes first
    assert recipe.resolve_path("fewshot/incontext_binary.yaml") == RECIPES_DIR / "fewshot" / "incontext_binary.yaml"
    assert recipe.resolve_path("nowhere.yaml") == Path("nowhere.yaml")


def test_lora_on_a_task_that_trains_from_scratch_says_why_it_is_refused():
    recipe = {"task": "word2vec", "training": {"output_dir": "out"}}
    with pytest.raises(UserError, match=r"command-line override `lora.r=4`.*this task trains its model from scratch"):
        build_recipe(recipe, ["lora.r=4"])
