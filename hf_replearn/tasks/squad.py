"""Extractive QA, SQuAD v1.1 and v2.0: setup -> train -> predict -> post-process -> score -> save.

Setup: SQuAD-format examples (the embedded WordNet QA, a hub dataset, or local SQuAD JSON), validated
(answer_start must point at the answer), cut into ``max_length`` windows sharing ``doc_stride`` tokens;
AutoModelForQuestionAnswering from ``model.name_or_path``; LoRA when the recipe has a ``lora`` section.
Train: ``ReplearnTrainer`` (atomic checkpoints). Evaluate: start / end logits of every window -> n-best spans up to
``max_answer_length`` tokens (v2: the null answer when it beats the best span by
``null_score_diff_threshold``) -> the squad / squad_v2 metric.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import set_seed

from hf_replearn.config import Recipe
from hf_replearn.utils.distributed import is_main_process
from hf_replearn.training.finetune import FinetuneModelArgs
from hf_replearn.training.lora import LoraSection


@dataclass
class SquadDataArgs:
    source: str = "wordnet_qa"
    """``wordnet_qa`` (embedded, DATA.md), a hub dataset id (``rajpurkar/squad``), or ``files``."""
    data_files: dict | None = None
    """With ``source: files``: ``{train: file, validation: file}``, official SQuAD JSON or flat JSON lines."""
    version_2_with_negative: bool = False
    """SQuAD v2.0: unanswerable questions, a null answer, the squad_v2 metric."""
    max_length: int = 384
    doc_stride: int | None = 128
    """Tokens shared by consecutive windows of a long context; ``null``: a context that does not fit is an error."""
    n_best_size: int = 20
    max_answer_length: int = 30
    null_score_diff_threshold: float = 0.0
    eval_limit: int | None = None
    """Evaluate on the first N validation questions only; the recipe's ``dataset_limit``, when smaller,
    bounds it too."""
    extra_sentences: int = 2
    """wordnet_qa: other synsets' usage examples added to each passage."""


@dataclass
class SquadRecipe(Recipe):
    data: SquadDataArgs = field(default_factory=SquadDataArgs)
    model: FinetuneModelArgs = field(default_factory=FinetuneModelArgs)
    lora: LoraSection = field(default_factory=lambda: LoraSection(enabled=False))
    """LoRA through PEFT; a recipe with a ``lora:`` section fine-tunes with it (``lora.enabled=false``: off)."""


def load_examples(args: SquadDataArgs, where: str):
    from datasets import DatasetDict

    from hf_replearn.data.embedded_qa import load_wordnet_qa
    from hf_replearn.data.paths import load_dataset_or_explain
    from hf_replearn.data.squad import read_squad_file
    from hf_replearn.errors import UserError

    if args.source == "wordnet_qa":
        return load_wordnet_qa(args.version_2_with_negative, args.extra_sentences)
    if args.source == "files":
        if not args.data_files or not {"train", "validation"} <= set(args.data_files):
            raise UserError(f"{where}: source `files` needs data.data_files={{train: ..., validation: ...}}")
        return DatasetDict({s: read_squad_file(p, f"{where}: data.data_files.{s}") for s, p in args.data_files.items()})
    return load_dataset_or_explain(args.source, what=f"{where}: could not load data.source={args.source!r}",
                                   fix="use data.source=wordnet_qa, or data.source=files with "
                                       "data.data_files={train: ..., validation: ...}")  # fmt: skip


def run(recipe: SquadRecipe) -> dict[str, float]:
    from transformers import AutoModelForQuestionAnswering

    from hf_replearn.data.squad import prepare_eval_features, prepare_train_features, validate_squad
    from hf_replearn.evaluation import load_metric
    from hf_replearn.evaluation.qa_postprocess import postprocess_qa_predictions, to_metric_inputs
    from hf_replearn.hub.model_card import metrics_table, write_model_card
    from hf_replearn.training.args import make_training_args
    from hf_replearn.training.finetune import check_max_length, limit, load_tokenizer_and_model, maybe_apply_lora, save_finetuned
    from hf_replearn.training.lifecycle import bounded_by_dataset_limit, train_and_save
    from hf_replearn.training.trainer import ReplearnTrainer

    d, v2 = recipe.data, recipe.data.version_2_with_negative
    set_seed(recipe.seed)
    raw = load_examples(d, recipe.source)
    eval_limit = bounded_by_dataset_limit(recipe, d.eval_limit, "data.eval_limit")
    train_ex, eval_ex = limit(raw["train"], recipe.dataset_limit), limit(raw["validation"], eval_limit)
    for name, split in (("train", train_ex), ("validation", eval_ex)):
        validate_squad(split, f"{recipe.source}: {name} split", allow_unanswerable=v2)
    tokenizer, model = load_tokenizer_and_model(recipe.model, AutoModelForQuestionAnswering, recipe.source)
    check_max_length(model, recipe.data.max_length, recipe.source)
    model = maybe_apply_lora(model, recipe.lora, "QUESTION_ANS")

    window = {"tokenizer": tokenizer, "max_length": d.max_length, "doc_stride": d.doc_stride}
    train = train_ex.map(prepare_train_features, batched=True, remove_columns=train_ex.column_names, fn_kwargs=window)
    features = eval_ex.map(prepare_eval_features, batched=True, remove_columns=eval_ex.column_names, fn_kwargs=window)

    lora = recipe.lora.enabled
    args = make_training_args(
        recipe, learning_rate=5e-4 if lora else 3e-5, per_device_train_batch_size=12, per_device_eval_batch_size=64,
        num_train_epochs=2, weight_decay=0.01, warmup_steps=0.1,
    )  # fmt: skip
    trainer = ReplearnTrainer(model=model, args=args, train_dataset=train, processing_class=tokenizer)
    model, results = train_and_save(recipe, trainer, model,
                                    save=lambda m, out: save_finetuned(m, tokenizer, out, recipe.lora))

    output = trainer.predict(features.remove_columns(["example_id", "offset_mapping"]))
    start_logits, end_logits = output.predictions[:2]
    predictions = postprocess_qa_predictions(
        eval_ex, features, start_logits, end_logits, n_best_size=d.n_best_size, max_answer_length=d.max_answer_length,
        version_2_with_negative=v2, null_score_diff_threshold=d.null_score_diff_threshold,
    )  # fmt: skip
    preds, refs = to_metric_inputs(predictions, eval_ex, v2)
    scores = load_metric("squad_v2" if v2 else "squad").compute(predictions=preds, references=refs)
    results |= {f"validation/{k}": float(v) for k, v in scores.items()} | {"validation/windows": len(features)}
    table = metrics_table(results, evaluation_only=True)  # the training run's numbers: results.json and the card
    if is_main_process():  # every process holds the same numbers: print them once
        print(f"\nSQuAD {'v2.0' if v2 else 'v1.1'} on {d.source}:\n{table}\n")
    sections = {"Evaluation": table}
    if recipe.lora.enabled:
        from hf_replearn.training.lora import card_section

        sections["LoRA"] = card_section(recipe.lora, results, merged_here=False)
    write_model_card(recipe.output_dir, recipe, results, sections, dataset_name=d.source,
                     base_model=recipe.model.name_or_path)  # fmt: skip
    return results
