"""GLUE-style sequence classification (and STS-B regression): setup -> train -> evaluate -> save.

Setup: a GLUE task from the table in ``data/glue.py`` (``data.task``: one of the nine, or an embedded
task such as ``polarity``), tokenised to ``data.max_length``; AutoModelForSequenceClassification from
``model.name_or_path``; LoRA when the recipe has a ``lora`` section.
Train: ``ReplearnTrainer`` (transformers Trainer, atomic checkpoints) with the ``training`` arguments (dynamic padding per batch).
Evaluate: every evaluation split (MNLI: matched and mismatched) with the task's official metric.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from transformers import set_seed

from hf_replearn.config import Recipe
from hf_replearn.utils.distributed import is_main_process
from hf_replearn.training.finetune import FinetuneModelArgs
from hf_replearn.training.lora import LoraSection


@dataclass
class GlueDataArgs:
    task: str = "sst2"
    """cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli; or embedded: polarity, bible_paraphrase, wordnet_topic."""
    data_dir: str | None = None
    """A GLUE distribution folder (``<data_dir>/SST-2/train.tsv``); unset: hub or embedded data."""
    data_files: dict | None = None
    """``{train: file, validation: file}``, JSON / JSONL / CSV / TSV with the task's columns and ``label``."""
    max_length: int = 128
    eval_limit: int | None = None
    """Evaluate on the first N examples of each evaluation split only; the recipe's ``dataset_limit``, when
    smaller, bounds it too."""


@dataclass
class GlueRecipe(Recipe):
    data: GlueDataArgs = field(default_factory=GlueDataArgs)
    model: FinetuneModelArgs = field(default_factory=FinetuneModelArgs)
    lora: LoraSection = field(default_factory=lambda: LoraSection(enabled=False))
    """LoRA through PEFT; a recipe with a ``lora:`` section fine-tunes with it (``lora.enabled=false``: off)."""


def _compute_metrics(metric, regression: bool):
    def compute(eval_pred):
        logits, labels = eval_pred
        preds = np.squeeze(logits, -1) if regression else np.argmax(logits, axis=-1)
        return metric.compute(predictions=preds, references=labels)

    return compute


def run(recipe: GlueRecipe) -> dict[str, float]:
    from transformers import AutoModelForSequenceClassification

    from hf_replearn.data.glue import get_glue_task, load_glue
    from hf_replearn.evaluation import load_metric
    from hf_replearn.hub.model_card import write_model_card
    from hf_replearn.training.args import make_training_args
    from hf_replearn.training.finetune import check_max_length, limit, load_tokenizer_and_model, maybe_apply_lora, save_finetuned
    from hf_replearn.training.lifecycle import bounded_by_dataset_limit, train_and_save
    from hf_replearn.training.trainer import ReplearnTrainer

    set_seed(recipe.seed)
    task = get_glue_task(recipe.data.task, f"{recipe.source}: data.task")
    raw = load_glue(task, recipe.data.data_dir, recipe.data.data_files, seed=recipe.seed, where=f"{recipe.source}: data")
    labels = {} if task.is_regression else {"id2label": dict(enumerate(task.label_names)),
                                            "label2id": {n: i for i, n in enumerate(task.label_names)}}  # fmt: skip
    tokenizer, model = load_tokenizer_and_model(recipe.model, AutoModelForSequenceClassification, recipe.source,
                                                num_labels=task.num_labels, **labels)  # fmt: skip
    check_max_length(model, recipe.data.max_length, recipe.source)
    model = maybe_apply_lora(model, recipe.lora, "SEQ_CLS")

    def tokenize(batch):
        return tokenizer(*[batch[k] for k in task.keys], truncation=True, max_length=recipe.data.max_length)

    splits = {"train": limit(raw["train"], recipe.dataset_limit)}
    eval_limit = bounded_by_dataset_limit(recipe, recipe.data.eval_limit, "data.eval_limit")
    splits |= {s: limit(raw[s], eval_limit) for s in task.eval_splits}
    data = {s: d.map(tokenize, batched=True, remove_columns=list(task.keys)) for s, d in splits.items()}

    lora = recipe.lora.enabled
    args = make_training_args(
        recipe, learning_rate=5e-4 if lora else 2e-5, per_device_train_batch_size=32, per_device_eval_batch_size=64,
        num_train_epochs=3, weight_decay=0.01, warmup_steps=0.06, eval_strategy="no",
    )  # fmt: skip
    trainer = ReplearnTrainer(
        model=model, args=args, train_dataset=data["train"], processing_class=tokenizer,
        compute_metrics=_compute_metrics(load_metric("glue", task.metric_config), task.is_regression),
    )  # fmt: skip
    model, results = train_and_save(recipe, trainer, model,
                                    save=lambda m, out: save_finetuned(m, tokenizer, out, recipe.lora))
    for split in task.eval_splits:
        metrics = trainer.evaluate(eval_dataset=data[split], metric_key_prefix=split)
        results |= {f"{split}/{k[len(split) + 1:]}": float(v) for k, v in metrics.items() if k != "epoch"}
    table = "\n".join(["| metric | value |", "|---|---|"] + [f"| {k} | {v:.4g} |" for k, v in sorted(results.items())])
    if is_main_process():  # every process holds the same numbers: print them once
        print(f"\n{task.name} ({'LoRA' if lora else 'full fine-tuning'}):\n{table}\n")
    write_model_card(recipe.output_dir, recipe, results, {"Evaluation": table}, dataset_name=task.name,
                     base_model=recipe.model.name_or_path)  # fmt: skip
    return results
