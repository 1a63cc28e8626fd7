"""GLUE-style sequence classification (and STS-B regression): setup -> train -> evaluate -> save.

Setup: a GLUE task from the table in ``data/glue.py`` (``data.task``: one of the nine, or an embedded
task such as ``polarity``), tokenised to ``data.max_length``; AutoModelForSequenceClassification from
``model.name_or_path``; LoRA when the recipe has a ``lora`` section.
Train: ``ReplearnTrainer`` (transformers Trainer, atomic checkpoints) with the ``training`` arguments (dynamic padding per batch).
Evaluate: every evaluation split (MNLI: matched and mismatched) with the task's official metric; with
``evaluation.probe: true`` also a frozen-feature probe (``evaluation/probe_runner.py``, the harness of
``hf-replearn eval probe``) of the starting checkpoint and of the fine-tuned encoder, beside TF-IDF baselines,
on the same train / first evaluation split with few labels: ``probe/...`` in results.json, a card section.
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
    """cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli; or embedded: polarity, bible_paraphrase, wordnet_topic;
    or ``text_classification``: your own labelled files (``data_files``, ``text_columns``, ``label_column``)."""
    data_dir: str | None = None
    """A GLUE distribution folder (``<data_dir>/SST-2/train.tsv``); unset: hub or embedded data."""
    data_files: dict | None = None
    """``{train: file, validation: file}``, JSON / JSONL / CSV / TSV with the task's columns and ``label``; for
    ``text_classification`` ``validation`` and ``test`` are optional (without either, a seeded quarter of train
    is held out)."""
    text_columns: list[str] | None = None
    """``text_classification``: the column(s) holding the text, two for sentence pairs; default ``text`` or
    ``sentence``."""
    label_column: str = "label"
    """``text_classification``: the column holding the class (strings or integers; the classes are the
    training split's values, sorted)."""
    column_names: list[str] | None = None
    """``text_classification``: the columns of CSV / TSV files without a header row, in order (e.g. ``[label, text]``)."""
    dataset: str | None = None
    """``text_classification``: instead of ``data_files``, a ``save_to_disk`` folder or a hub dataset id with a
    ``train`` split (and ``validation`` / ``test``)."""
    max_length: int = 128
    eval_limit: int | None = None
    """Evaluate on the first N examples of each evaluation split only; the recipe's ``dataset_limit``, when
    smaller, bounds it too."""


@dataclass
class GlueEvalArgs:
    probe: bool = False
    """Also probe frozen features: a logistic probe on pooled hidden states of the starting checkpoint (``start``)
    and of the fine-tuned encoder (``finetuned``; with LoRA its ``merged/`` export), trained on few labels of the
    (``dataset_limit``-bounded) train split and tested on the first evaluation split."""
    labels_per_class: list[int] = field(default_factory=lambda: [10, 100])
    """Few-label budgets of the probe (every training label is probed too)."""
    seeds: int = 3
    """Seeded label subsets averaged for each budget."""
    baselines: list[str] = field(default_factory=lambda: ["tfidf_word", "tfidf_char"])
    """``tfidf_word``, ``tfidf_char``, ``random_init`` (the architecture at fresh weights: the starting point
    itself, and so always probed, when ``model.random_init`` is set)."""
    pooling: str | None = None
    """``mean``, ``cls`` or ``last``; None: the model's default (mean for encoders)."""
    precision: str = "auto"
    """Of the forward passes: ``auto`` (bf16 where the hardware has it), ``fp32`` or ``bf16``."""


@dataclass
class GlueRecipe(Recipe):
    data: GlueDataArgs = field(default_factory=GlueDataArgs)
    model: FinetuneModelArgs = field(default_factory=FinetuneModelArgs)
    lora: LoraSection = field(default_factory=lambda: LoraSection(enabled=False))
    """LoRA through PEFT; a recipe with a ``lora:`` section fine-tunes with it (``lora.enabled=false``: off)."""
    evaluation: GlueEvalArgs = field(default_factory=GlueEvalArgs)


def _class_logits(outputs, labels):
    """The logits alone of each evaluation batch: an encoder-decoder's classifier (T5, BART) also returns its encoder's
    hidden states, which the Trainer would otherwise gather for the whole split and hand to the metric as a tuple."""
    return outputs[0] if isinstance(outputs, tuple) else outputs


def _compute_metrics(metric, regression: bool):
    def compute(eval_pred):
        logits, labels = eval_pred
        preds = np.squeeze(logits, -1) if regression else np.argmax(logits, axis=-1)
        return metric.compute(predictions=preds, references=labels)

    return compute


def load_task_data(recipe: GlueRecipe):
    """(GlueTask, DatasetDict with train and the task's evaluation splits): a GLUE or embedded task, or the
    user's own files (``data.task=text_classification``)."""
    from hf_replearn.data.glue import get_glue_task, load_glue
    from hf_replearn.data.labelled_text import TEXT_CLASSIFICATION, load_text_classification
    from hf_replearn.errors import UserError

    data, where = recipe.data, f"{recipe.source}: data"
    if data.task == TEXT_CLASSIFICATION:
        if data.data_dir:
            raise UserError(f"{where}.data_dir is a GLUE distribution folder; {TEXT_CLASSIFICATION} reads data.data_files")
        raw, task = load_text_classification(data.data_files, data.text_columns, data.label_column, recipe.seed, where,
                                             column_names=data.column_names, dataset=data.dataset)  # fmt: skip
        return task, raw
    if data.text_columns or data.label_column != "label" or data.column_names or data.dataset:
        raise UserError(f"{where}.dataset / text_columns / label_column / column_names name the data of data.task={TEXT_CLASSIFICATION}; "
                        f"{data.task}'s columns are fixed (its files need them by name)")
    task = get_glue_task(data.task, f"{where}.task")
    return task, load_glue(task, data.data_dir, data.data_files, seed=recipe.seed, where=where)


def run(recipe: GlueRecipe) -> dict[str, float]:
    from transformers import AutoModelForSequenceClassification

    from hf_replearn.evaluation import load_metric
    from hf_replearn.hub.model_card import metrics_table, write_model_card
    from hf_replearn.training.args import make_training_args
    from hf_replearn.training.finetune import check_max_length, limit, load_tokenizer_and_model, maybe_apply_lora, save_finetuned
    from hf_replearn.training.lifecycle import bounded_by_dataset_limit, train_and_save
    from hf_replearn.training.trainer import ReplearnTrainer

    set_seed(recipe.seed)
    task, raw = load_task_data(recipe)
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
    probe = prepare_probe(recipe, task, splits) if recipe.evaluation.probe else None  # checked before training
    data = {s: d.map(tokenize, batched=True, remove_columns=list(task.keys)) for s, d in splits.items()}

    lora = recipe.lora.enabled
    args = make_training_args(
        recipe, learning_rate=5e-4 if lora else 2e-5, per_device_train_batch_size=32, per_device_eval_batch_size=64,
        num_train_epochs=3, weight_decay=0.01, warmup_steps=0.06, eval_strategy="no",
    )  # fmt: skip
    trainer = ReplearnTrainer(
        model=model, args=args, train_dataset=data["train"], processing_class=tokenizer,
        compute_metrics=_compute_metrics(load_metric("glue", task.metric_config), task.is_regression),
        preprocess_logits_for_metrics=_class_logits,
    )  # fmt: skip
    model, results = train_and_save(recipe, trainer, model,
                                    save=lambda m, out: save_finetuned(m, tokenizer, out, recipe.lora))
    for split in task.eval_splits:
        metrics = trainer.evaluate(eval_dataset=data[split], metric_key_prefix=split)
        results |= {f"{split}/{k[len(split) + 1:]}": float(v) for k, v in metrics.items() if k != "epoch"}
    table = metrics_table(results, evaluation_only=True)  # the training run's numbers: results.json and the card
    if not is_main_process():  # every process holds the same numbers: only the main one prints, probes and writes
        return results
    print(f"\n{task.name} ({'LoRA' if lora else 'full fine-tuning'}):\n{table}\n")
    sections = {"Evaluation": table}
    if lora:
        from hf_replearn.training.lora import card_section

        sections["LoRA"] = card_section(recipe.lora, results, merged_here=False)
    probed = {}
    if probe is not None:
        probed, title, sections[title] = run_glue_probe(recipe, *probe)
        print(f"\n{title}\n{sections[title]}\n")
    # the card's Evaluation table holds the fine-tuning numbers; the probe's are in its own section
    write_model_card(recipe.output_dir, recipe, results, sections, dataset_name=task.name,
                     base_model=recipe.model.name_or_path)  # fmt: skip
    return results | probed


def prepare_probe(recipe: GlueRecipe, task, splits) -> tuple:
    """The probe's request, data and starting model, every check done before training (UserError on bad input)."""
    from hf_replearn.errors import UserError
    from hf_replearn.evaluation.features import Readout, check_hidden_states, load_probe_model
    from hf_replearn.evaluation.probe import ProbeConfig, fillable_budgets
    from hf_replearn.evaluation.probe_data import from_splits
    from hf_replearn.evaluation.probe_runner import ProbeRequest, check_request
    from hf_replearn.models.pretrained import resolve_model_path

    where = f"{recipe.source}: evaluation"
    if task.is_regression:
        raise UserError(f"{where}.probe: {task.name} is a regression task; the probe classifies (set evaluation.probe=false)")
    if recipe.lora.enabled and not recipe.lora.merge_on_save:
        raise UserError(f"{where}.probe reads the fine-tuned encoder from the merged LoRA export; set lora.merge_on_save=true")
    ev = recipe.evaluation
    baselines = list(ev.baselines) + (["random_init"] if recipe.model.random_init and "random_init" not in ev.baselines else [])
    cfg = ProbeConfig(labels_per_class=list(ev.labels_per_class), seeds=ev.seeds, cv_c=True, tsne=False)
    req = ProbeRequest(models=[], dataset=task.name, baselines=baselines, probe=cfg,
                       readout=Readout(pooling=ev.pooling, max_length=recipe.data.max_length,
                                       precision=ev.precision))
    if ev.precision not in ("auto", "fp32", "bf16"):
        raise UserError(f"{where}.precision: {ev.precision!r}; choose auto, fp32 or bf16")
    try:
        check_request(req, "text")
    except UserError as err:  # the CLI's flags are this recipe's evaluation keys
        raise UserError(f"{where}: {err}") from None
    data = from_splits(task.name, splits["train"], splits[task.eval_splits[0]], task.keys, "label", list(task.label_names), None)
    req.probe = cfg = fillable_budgets(cfg, data.train_y)  # as the image recipes: a smoke run's small classes
    try:
        data.check_budgets(cfg.labels_per_class)
    except UserError as err:
        raise UserError(f"{where}.labels_per_class: {err} (dataset_limit={recipe.dataset_limit})") from None
    start = None
    if not recipe.model.random_init:  # a random start is the random_init baseline
        start = load_probe_model(resolve_model_path(recipe.model.name_or_path), "start", recipe.model.trust_remote_code)
        check_hidden_states(start, data.train_x[:1])
    return req, data, start


def run_glue_probe(recipe: GlueRecipe, req, data, start) -> tuple[dict, str, str]:
    """Probe the starting and the fine-tuned encoder: (``probe/...`` results, card section title, its text)."""
    from pathlib import Path

    from hf_replearn.evaluation.features import load_probe_model
    from hf_replearn.utils.inputs import LORA_MERGED
    from hf_replearn.evaluation.probe_runner import probe_models, probe_section

    folder = Path(recipe.output_dir) / (LORA_MERGED if recipe.lora.enabled else "")
    finetuned = load_probe_model(str(folder), "finetuned", recipe.model.trust_remote_code)
    models = [m for m in (start, finetuned) if m is not None]
    results, _ = probe_models(req, models, data, req.baselines)
    heading, _, text = probe_section(req, data, models, results).partition("\n")
    return {f"probe/{k}": v for k, v in results.items()}, heading.removeprefix("## "), text.strip()
