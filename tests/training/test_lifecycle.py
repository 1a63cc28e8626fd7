"""training/lifecycle.py: one train -> metrics -> save step for every task, in one results schema."""

from __future__ import annotations

import json
import math
import time
from types import SimpleNamespace

import pytest
from datasets import Dataset
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainerCallback, TrainingArguments

from hf_replearn.training.lifecycle import TRAIN_KEYS, bounded_by_max_steps, train_and_save
from hf_replearn.training.trainer import ReplearnTrainer, fit_batch_to_dataset


def _tiny(tmp_path, n=16, **training):
    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=16, n_positions=8))
    ids = [[(i + j) % 16 for j in range(8)] for i in range(n)]
    data = Dataset.from_dict({"input_ids": ids, "labels": ids})
    training = {"max_steps": 3, "per_device_train_batch_size": 4, "logging_steps": 1, "report_to": "none",
                "save_strategy": "no", **training}  # fmt: skip
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, **training)
    recipe = SimpleNamespace(task="clm", training={}, output_dir=tmp_path)
    return recipe, model, data, args


def test_train_and_save_returns_the_schema_and_saves(tmp_path):
    recipe, model, data, args = _tiny(tmp_path)
    trainer = ReplearnTrainer(model=model, args=args, train_dataset=data)
    saved, results = train_and_save(recipe, trainer, model)
    assert saved is model and set(TRAIN_KEYS) <= set(results)
    assert results["train/steps"] == 3 and results["train/processes"] == 1
    n_params = sum(p.numel() for p in model.parameters())  # the LM head is tied to the embeddings: counted once
    assert results["model/total_params"] == results["model/trainable_params"] == n_params
    logged = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    # train/loss is the mean over the run; with logging_steps=1 every step's loss was logged
    assert math.isclose(results["train/loss"], sum(logged) / len(logged), rel_tol=1e-3)
    assert results["train/first_logged_loss"] == logged[0] and results["train/last_logged_loss"] == logged[-1]
    assert results["train/samples_per_second"] > 0 and results["train/runtime_s"] > 0
    assert (tmp_path / "model.safetensors").is_file()


def test_a_custom_save_replaces_the_default(tmp_path):
    recipe, model, data, args = _tiny(tmp_path)
    calls = []
    _, results = train_and_save(recipe, ReplearnTrainer(model=model, args=args, train_dataset=data), model,
                                save=lambda m, out: calls.append((m, out)))
    assert calls == [(model, tmp_path)] and not (tmp_path / "model.safetensors").exists()
    assert results["train/steps"] == 3


def test_a_plain_trainer_is_refused_before_training(tmp_path):
    recipe, model, data, args = _tiny(tmp_path)
    with pytest.raises(TypeError, match="not a ReplearnTrainer"):
        train_and_save(recipe, Trainer(model=model, args=args, train_dataset=data), model)
    assert not (tmp_path / "model.safetensors").exists()


@pytest.mark.parametrize("examples, drop_last, expected", [(100, True, 64), (40, True, 32), (300, True, 256),
                                                            (100, False, 256), (0, True, 256)])  # fmt: skip
def test_batch_fits_a_dataset_smaller_than_one_batch(tmp_path, capsys, examples, drop_last, expected):
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=256, dataloader_drop_last=drop_last,
                             report_to="none", use_cpu=True)  # fmt: skip
    fit_batch_to_dataset(args, list(range(examples)))
    assert args.per_device_train_batch_size == expected
    assert ("batches of" in capsys.readouterr().out) == (expected != 256)


def test_trainer_on_a_smoke_dataset_trains_every_step(tmp_path):
    """A batch of 256 with drop_last on 20 examples: every step used to drop its only batch (0 steps)."""
    recipe, model, data, args = _tiny(tmp_path, n=20, per_device_train_batch_size=256, dataloader_drop_last=True)
    _, results = train_and_save(recipe, ReplearnTrainer(model=model, args=args, train_dataset=data), model)
    assert results["train/steps"] == 3 and args.per_device_train_batch_size == 16


@pytest.mark.parametrize("max_steps, expected", [(3, 3), (None, 1000), (-1, 1000), (5000, 1000)])
def test_bounded_by_max_steps(capsys, max_steps, expected):
    recipe = SimpleNamespace(task="cpc", training={} if max_steps is None else {"max_steps": max_steps})
    assert bounded_by_max_steps(recipe, 1000, "evaluation.supervised_steps") == expected
    printed = capsys.readouterr().out
    assert printed == ("[cpc] evaluation.supervised_steps=1000 bounded by max_steps=3\n" if expected == 3 else "")


@pytest.mark.parametrize("dataset_limit, limit, expected", [(64, None, 64), (64, 200, 64), (64, 10, 10),
                                                            (None, 200, 200), (None, None, None)])  # fmt: skip
def test_bounded_by_dataset_limit(capsys, dataset_limit, limit, expected):
    from hf_replearn.training.lifecycle import bounded_by_dataset_limit

    recipe = SimpleNamespace(task="glue", dataset_limit=dataset_limit)
    assert bounded_by_dataset_limit(recipe, limit, "data.eval_limit") == expected
    bounded = expected is not None and expected != limit
    assert capsys.readouterr().out == (f"[glue] data.eval_limit={limit} bounded by dataset_limit=64\n" if bounded else "")


class _SlowFirstStep(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 1:
            time.sleep(0.3)


def test_a_resumed_run_reports_the_runtime_loss_and_throughput_of_the_whole_run(tmp_path):
    recipe, model, data, args = _tiny(tmp_path / "whole", max_steps=4, save_strategy="steps", save_steps=2)
    first = ReplearnTrainer(model=model, args=args, train_dataset=data, callbacks=[_SlowFirstStep()])
    _, whole = train_and_save(recipe, first, model)
    saved = json.loads((tmp_path / "whole" / "checkpoint-2" / "trainer_state.json").read_text())
    before = saved["stateful_callbacks"]["RunTotals"]["attributes"]
    assert before["elapsed_s"] >= 0.3  # the slow first step, kept in the checkpoint
    assert math.isclose(whole["train/samples_per_second"], 4 * 4 / whole["train/runtime_s"], rel_tol=1e-12)

    recipe, model, data, args = _tiny(tmp_path / "whole", max_steps=4, save_strategy="no")
    recipe.training = {"resume_from_checkpoint": str(tmp_path / "whole" / "checkpoint-2")}
    second = ReplearnTrainer(model=model, args=args, train_dataset=data)
    _, resumed = train_and_save(recipe, second, model)
    attempt = second.state.log_history[-1]["train_runtime"]  # this attempt only: steps 3 and 4
    assert resumed["train/runtime_s"] >= before["elapsed_s"] >= 0.3 > attempt
    assert math.isclose(resumed["train/runtime_s"], before["elapsed_s"] + attempt, abs_tol=1e-3)  # Trainer rounds
    assert math.isclose(resumed["train/samples_per_second"], 4 * 4 / resumed["train/runtime_s"], rel_tol=1e-12)
    # the mean loss of all 4 steps, not of the 2 resumed ones; summed in two parts: last float32 bits
    assert math.isclose(resumed["train/loss"], whole["train/loss"], rel_tol=1e-6)
    assert not math.isclose(second.state.log_history[-1]["train_loss"], whole["train/loss"], rel_tol=1e-6)


@pytest.mark.parametrize("clock", ["wall", "cpu"])
def test_save_at_minutes_saves_a_checkpoint_per_mark(tmp_path, clock):
    """A mark of ~0 minutes falls on the first step; one far away never falls; the step is kept in the checkpoint."""
    recipe, model, data, args = _tiny(tmp_path, save_strategy="steps", save_steps=100)
    recipe.save_at_minutes, recipe.minutes_clock = [1e-9, 1e6], clock
    trainer = ReplearnTrainer(model=model, args=args, train_dataset=data)
    _, results = train_and_save(recipe, trainer, model)
    # checkpoint-1 from the mark; Trainer also saves the last step (3) under save_strategy="steps"
    assert sorted(p.name for p in tmp_path.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-3"]
    state = json.loads((tmp_path / "checkpoint-1" / "trainer_state.json").read_text())["stateful_callbacks"]
    assert state["SaveAtMinutes"]["attributes"]["steps"] == {"1e-09": 1}
    assert state["SaveAtMinutes"]["args"] == {"minutes": [1e-9, 1e6], "clock": clock}
    assert 0 < state["RunTotals"]["attributes"]["cpu_s"] <= results["train/cpu_s"]
    # the mark's model is kept apart from the rotated checkpoints, loadable on its own
    assert sorted(p.name for p in (tmp_path / "minutes-1e-09").iterdir()) == ["config.json", "model.safetensors", "trainer_state.json"]
    assert (tmp_path / "minutes-1e-09" / "model.safetensors").read_bytes() == (tmp_path / "checkpoint-1" / "model.safetensors").read_bytes()


def test_save_at_minutes_survives_checkpoint_rotation(tmp_path):
    recipe, model, data, args = _tiny(tmp_path, save_strategy="steps", save_steps=1, save_total_limit=1, max_steps=4)
    recipe.save_at_minutes, recipe.minutes_clock = [1e-9], "wall"
    train_and_save(recipe, ReplearnTrainer(model=model, args=args, train_dataset=data), model)
    assert sorted(p.name for p in tmp_path.glob("checkpoint-*")) == ["checkpoint-4"]  # checkpoint-1 rotated away
    assert (tmp_path / "minutes-1e-09" / "model.safetensors").is_file()


def test_an_image_split_is_read_flat_and_collated_back_to_its_shape(tmp_path):
    import numpy as np

    from hf_replearn.data.images import ImageDataConfig, load_image_dataset
    from hf_replearn.training.trainer import ImageCollator

    train = load_image_dataset(ImageDataConfig(name="digits"))["train"].select(range(16))
    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=16, n_positions=8))
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none", per_device_train_batch_size=16,
                             remove_unused_columns=False)  # fmt: skip
    collator = ImageCollator(with_labels=True)
    trainer = ReplearnTrainer(model=model, args=args, train_dataset=train, data_collator=collator)
    assert collator.image_shape == (1, 8, 8) and trainer.train_dataset.features["pixel_values"].length == 64
    batch = next(iter(trainer.get_train_dataloader()))
    images = np.asarray(train[:]["pixel_values"], dtype=np.float32) / 255
    order = [int(np.flatnonzero((images == row).all(axis=(1, 2, 3)))[0]) for row in batch["pixel_values"].numpy()]
    assert batch["pixel_values"].shape == (16, 1, 8, 8) and sorted(order) == list(range(16))
    assert batch["labels"].tolist() == [int(train[i]["label"]) for i in order]
