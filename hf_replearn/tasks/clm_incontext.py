"""Pretrain a small GPT on sequences where in-context learning is the only way to lower the loss.

Each training sequence is a run of demonstrations ``xY`` (an input letter, then its label letter),
back to back (or separated by random gaps, see ``gaps``), whose mapping from input symbols ``x`` to labels ``Y`` is
drawn afresh for that sequence: the same ``x`` gets different labels in different sequences, so nothing
about the mapping can be memorised in the weights. To predict ``Y`` the model must find an earlier
demonstration with the same ``x`` and copy its label (an induction head; Olsson et al.,
2022, "In-context learning and induction heads"; the bursty, per-sequence-relabelled data follows Chan et
al., 2022, "Data distributional properties drive emergent in-context learning").

The few-shot tasks in ``recipes/fewshot/incontext_*.yaml`` fix one mapping the model has never been
trained on; with k = 0 demonstrations the model can only guess (chance), with k = 8 it copies labels from
the prompt. After training the recipe saves the model and its character tokenizer and runs those tasks.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Literal

import numpy as np

from hf_replearn.config import Recipe

INPUT_SYMBOLS = "abcdefghijklmnopqrstuvwxyz"
LABEL_SYMBOLS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclasses.dataclass
class InContextDataConfig:
    """Synthetic demonstration sequences; every range is inclusive."""

    n_sequences: int = 20000
    """Training sequences (each with its own random mapping)."""
    n_demos: int = 16
    """Demonstrations ``xY`` per sequence (the few-shot prompts must fit: k = 8 needs 8 + 1)."""
    n_inputs: list[int] = dataclasses.field(default_factory=lambda: [2, 8])
    """Range of distinct input symbols per sequence (drawn from a-z)."""
    n_labels: list[int] = dataclasses.field(default_factory=lambda: [2, 8])
    """Range of distinct labels per sequence (drawn from A-Z; at most the number of inputs)."""
    gaps: list[int] = dataclasses.field(default_factory=lambda: [0, 0])
    """Range of newlines written between two demonstrations, drawn per gap; the few-shot tasks use
    ``fewshot_delimiter: ""`` (gap 0). Measured on 2 shared CPU cores, 3,000 steps (see BENCHMARKS.md):
    with no gaps the model copies a label from the demonstrations 1 to 3 back (4 heads) or 1 to 5 back (8
    heads) and guesses beyond (rotary heads at fixed offsets that check the input letter); with random gaps ``[0, 2]`` that shortcut
    is gone and the model stayed at the label-set plateau (label loss 1.9), the content-based induction
    head not formed within the budget."""
    loss_on_labels_only: bool = True
    """Train on the label tokens only (the input letters are noise the model cannot predict well and
    whose gradient slows the emergence of copying)."""


@dataclasses.dataclass
class TinyGPTConfig:
    """The decoder trained from scratch; ``family`` picks the transformers config these sizes go to."""

    family: Literal["llama", "gpt2"] = "llama"
    """``llama``: rotary positions, which make the previous-token heads of in-context copying quick to
    learn; ``gpt2``: learned absolute positions (learns the same, more slowly)."""
    n_layer: int = 2
    n_embd: int = 128
    n_head: int = 8
    n_positions: int = 128
    mlp_ratio: int = 1
    """Feed-forward width over ``n_embd`` (llama only). Copying needs attention, not MLPs: a narrow MLP
    costs less per step and did not slow the emergence of in-context learning in our runs."""


def build_model(cfg: TinyGPTConfig, tokenizer):
    from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig

    special = dict(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                   eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    if cfg.family == "gpt2":
        config = GPT2Config(n_layer=cfg.n_layer, n_embd=cfg.n_embd, n_head=cfg.n_head, n_positions=cfg.n_positions, **special)
    else:
        config = LlamaConfig(num_hidden_layers=cfg.n_layer, hidden_size=cfg.n_embd, num_attention_heads=cfg.n_head,
                             num_key_value_heads=cfg.n_head, intermediate_size=cfg.mlp_ratio * cfg.n_embd,
                             max_position_embeddings=cfg.n_positions, tie_word_embeddings=True, **special)
    return AutoModelForCausalLM.from_config(config)


@dataclasses.dataclass
class FewShotEvalConfig:
    """Few-shot tasks run on the trained model: task files relative to the working directory, else to the
    recipe's folder, else to the shipped recipes (``Recipe.resolve_path``); each is read before training."""

    tasks: list[str] = dataclasses.field(default_factory=lambda: ["fewshot/incontext_binary.yaml"])
    shots: list[int] = dataclasses.field(default_factory=lambda: [0, 1, 4, 8])
    seeds: int = 3
    limit: int | None = None
    """Evaluate the first N test documents of each task only; the recipe's ``dataset_limit``, when smaller,
    bounds it too (a smoke run ``max_steps=3 dataset_limit=64`` evaluates 64 documents, not all)."""


@dataclasses.dataclass
class CLMInContextRecipe(Recipe):
    data: InContextDataConfig = dataclasses.field(default_factory=InContextDataConfig)
    model: TinyGPTConfig = dataclasses.field(default_factory=TinyGPTConfig)
    fewshot: FewShotEvalConfig = dataclasses.field(default_factory=FewShotEvalConfig)


def demonstration_pairs(rng: np.random.Generator, cfg: InContextDataConfig) -> list[str]:
    """One training sequence: ``n_demos`` strings ``xY`` under a mapping drawn for this sequence only."""
    n_in = rng.integers(cfg.n_inputs[0], cfg.n_inputs[1] + 1)
    n_lab = min(n_in, rng.integers(cfg.n_labels[0], cfg.n_labels[1] + 1))
    inputs = rng.choice(list(INPUT_SYMBOLS), size=n_in, replace=False)
    labels = rng.choice(list(LABEL_SYMBOLS), size=n_lab, replace=False)
    # every label used at least once, the rest at random
    mapping = dict(zip(inputs, rng.permutation(np.resize(labels, n_in))))
    xs = rng.choice(inputs, size=cfg.n_demos)
    return [f"{x}{mapping[x]}" for x in xs]


def demonstration_sequence(rng: np.random.Generator, cfg: InContextDataConfig) -> str:
    pairs = demonstration_pairs(rng, cfg)
    gaps = rng.integers(cfg.gaps[0], cfg.gaps[1] + 1, size=len(pairs) - 1)
    return pairs[0] + "".join("\n" * g + pair for g, pair in zip(gaps, pairs[1:]))


def eval_task_rows(seed: int, inputs: str, labels: str, n_fewshot: int, n_test: int) -> dict[str, list[dict]]:
    """Rows of a fixed-mapping few-shot task: ``{"train": [...], "test": [...]}`` of {input, label}.

    Inputs are split evenly over labels, and every input appears in both splits, so k demonstrations drawn
    from ``train`` show the query's own input with probability 1 - (1 - 1/len(inputs))^k.
    """
    rng = np.random.default_rng(seed)
    mapping = dict(zip(inputs, rng.permutation(np.resize(list(labels), len(inputs)))))
    out = {}
    for split, n in (("train", n_fewshot), ("test", n_test)):
        xs = rng.choice(list(inputs), size=n)
        out[split] = [{"input": str(x), "label": str(mapping[x])} for x in xs]
    return out


# (file stem, seed, inputs, labels): the data behind recipes/fewshot/incontext_*.yaml
EVAL_TASKS = {
    "incontext_binary": (101, "mnpqrs", "XY"),
    "incontext_4way": (202, "cdefghjk", "KLMN"),
}


def write_eval_task_data(folder: str | Path, n_fewshot: int = 64, n_test: int = 200) -> list[Path]:
    """Regenerate recipes/fewshot/data/<task>/{train,test}.jsonl (they are committed; a test checks they match)."""
    written = []
    for name, (seed, inputs, labels) in EVAL_TASKS.items():
        for split, rows in eval_task_rows(seed, inputs, labels, n_fewshot, n_test).items():
            path = Path(folder) / name / f"{split}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
            written.append(path)
    return written


def build_dataset(tokenizer, cfg: InContextDataConfig, seed: int):
    """``input_ids``, ``attention_mask`` and ``labels`` (the model shifts them), right-padded to one length."""
    import datasets

    rng = np.random.default_rng(seed)
    texts = [demonstration_sequence(rng, cfg) for _ in range(cfg.n_sequences)]
    input_ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    length = max(len(ids) for ids in input_ids)
    pad = tokenizer.pad_token_id
    rows = {"input_ids": [], "attention_mask": [], "labels": []}
    for text, ids in zip(texts, input_ids):
        # a character tokenizer: token i is character i, so the labels are the upper-case positions
        keep = [c in LABEL_SYMBOLS or not cfg.loss_on_labels_only for c in text]
        n_pad = length - len(ids)
        rows["input_ids"].append(ids + [pad] * n_pad)
        rows["attention_mask"].append([1] * len(ids) + [0] * n_pad)
        rows["labels"].append([t if k else -100 for t, k in zip(ids, keep)] + [-100] * n_pad)
    return datasets.Dataset.from_dict(rows)


def run(recipe: CLMInContextRecipe) -> dict[str, float]:
    from transformers import default_data_collator, set_seed

    from hf_replearn.errors import UserError

    from hf_replearn.data.char_tokenizer import build_char_tokenizer
    from hf_replearn.evaluation.fewshot import evaluate_grid, load_task
    from hf_replearn.evaluation.fewshot.plot import plot_accuracy_vs_k
    from hf_replearn.evaluation.fewshot.report import model_card_section
    from hf_replearn.hub.model_card import write_model_card
    from hf_replearn.training.args import make_training_args
    from hf_replearn.training.lifecycle import bounded_by_dataset_limit, train_and_save
    from hf_replearn.training.trainer import ReplearnTrainer
    from hf_replearn.utils.distributed import is_main_process
    from hf_replearn.utils.files import atomic_write_text
    from hf_replearn.utils.progress import stage

    set_seed(recipe.seed)
    limit = bounded_by_dataset_limit(recipe, recipe.fewshot.limit, "fewshot.limit")
    try:  # every task file read before training
        tasks = [load_task(recipe.resolve_path(path), limit=limit) for path in recipe.fewshot.tasks]
    except UserError as err:
        raise UserError(f"{recipe.source}: fewshot.tasks: {err}") from None
    tokenizer = build_char_tokenizer()
    data = recipe.data
    if recipe.dataset_limit is not None:  # the first N sequences of the seeded stream
        data = dataclasses.replace(data, n_sequences=min(data.n_sequences, recipe.dataset_limit))
    with stage("data", f"{data.n_sequences} demonstration sequences"):
        train = build_dataset(tokenizer, data, recipe.seed)
    model = build_model(recipe.model, tokenizer)
    args = make_training_args(recipe, save_strategy="no", logging_steps=50)
    trainer = ReplearnTrainer(model=model, args=args, train_dataset=train, data_collator=default_data_collator)
    model, results = train_and_save(recipe, trainer, model)
    if not is_main_process():  # the tokenizer, the few-shot grid, its plots and card: the main process only
        return results
    tokenizer.save_pretrained(recipe.output_dir)

    model.eval()
    grids = {}
    for task in tasks:
        docs = f"first {task.limit}" if task.limit is not None else "all"
        grid_size = f"k in {recipe.fewshot.shots}, {recipe.fewshot.seeds} seeds, {docs} test documents"
        with stage("fewshot", f"{task.task}: {grid_size}"):
            grid = grids[task.task] = evaluate_grid(model, tokenizer, task, recipe.fewshot.shots, recipe.fewshot.seeds)
        atomic_write_text(recipe.output_dir / f"fewshot_{task.task}.json", json.dumps(grid, indent=2) + "\n")
        plot_accuracy_vs_k(grid, recipe.output_dir / f"fewshot_{task.task}.png", title=task.task)
        for k, metrics in grid.items():
            for metric, value in metrics.items():
                results[f"{task.task}/{k}/{metric}"] = value["mean"]
                results[f"{task.task}/{k}/{metric}_std"] = value["std"]
    plots = {name: f"fewshot_{name}.png" for name in grids}
    atomic_write_text(recipe.output_dir / "fewshot_card.md", model_card_section(grids, plots))
    shown = [f"{name}/{k}/{metric}{std}" for name, grid in grids.items() for k, metrics in grid.items()
             for metric in metrics for std in ("", "_std")]  # the section's tables: mean ± std per k
    write_model_card(recipe.output_dir, recipe, results,
                     {"Few-shot evaluation": model_card_section(grids, plots, heading=False)},
                     dataset_name="synthetic in-context demonstrations", shown=shown)
    return results
