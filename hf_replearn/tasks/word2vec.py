"""word2vec skip-gram with negative sampling, trained by Trainer; exports word2vec-format vectors.

setup (corpus -> vocabulary, subsampled pairs, noise distribution) -> Word2VecModel -> Trainer ->
vectors.txt (KeyedVectors text format) + neighbours.json (nearest neighbours, analogies) -> results.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Literal

from hf_replearn.config import Recipe
from hf_replearn.errors import UserError


@dataclasses.dataclass
class Word2VecDataConfig:
    corpus: str | list[str] = "kjv-bible"
    """Embedded corpus (fortunes, python-docs, web-bible, kjv-bible, gcide), local files or ``hub:<id>``."""
    text_column: str = "text"
    text_unit: Literal["line", "paragraph", "document"] = "line"
    lowercase: bool = True
    min_count: int = 5
    """Words seen fewer times are dropped (word2vec.c and gensim default: 5)."""
    max_vocab: int | None = None
    """Keep at most this many of the most frequent words."""


@dataclasses.dataclass
class Word2VecModelSection:
    embedding_dim: int = 100
    window: int = 5
    dynamic_window: bool = True
    """Draw each centre's window in 1..window (word2vec.c, gensim); false: always ``window``."""
    negative: int = 5
    sample: float = 0.001
    """Subsampling threshold t for frequent words (0: off)."""
    ns_exponent: float = 0.75
    compile_loss: bool | None = None
    """Train with the torch.compile'd loss kernel (losses/sgns.py): ~4x less CPU per pair than the eager one,
    after about a minute of compiling the first time (then seconds, from the on-disk cache). null: compile
    when the run trains on at least ``COMPILE_MIN_PAIRS`` pairs, so that a smoke run stays eager."""


@dataclasses.dataclass
class Word2VecEvalConfig:
    query_words: list[str] = dataclasses.field(default_factory=lambda: ["god", "king", "water", "day", "father"])
    """Words whose nearest neighbours go to neighbours.json (words not in the vocabulary are skipped)."""
    analogies: list[list[str]] = dataclasses.field(default_factory=list)
    """[a, b, c, d] quadruples, "a is to b as c is to d"; results report the share answered d."""
    topn: int = 10


@dataclasses.dataclass
class Word2VecRecipe(Recipe):
    data: Word2VecDataConfig = dataclasses.field(default_factory=Word2VecDataConfig)
    model: Word2VecModelSection = dataclasses.field(default_factory=Word2VecModelSection)
    evaluation: Word2VecEvalConfig = dataclasses.field(default_factory=Word2VecEvalConfig)


COMPILE_MIN_PAIRS = 5_000_000
"""Pairs a run must train on before ``compile_loss: null`` compiles: the eager kernel's extra ~1.5 us per pair
(2 threads) outweighs a cached compile's few seconds from about 3M pairs on."""


def compiles_loss(compile_loss: bool | None, training_pairs: float) -> bool:
    """``model.compile_loss`` resolved: null compiles a run of at least :data:`COMPILE_MIN_PAIRS` pairs."""
    return training_pairs >= COMPILE_MIN_PAIRS if compile_loss is None else bool(compile_loss)


def prepare(recipe: Word2VecRecipe, batch_pairs: int):
    """Vocabulary, the dataset of ready batches (about ``batch_pairs`` pairs each) and a fresh model."""
    from transformers import set_seed

    from hf_replearn.data.text import load_text_dataset
    from hf_replearn.data.word2vec import build_skipgram_batches
    from hf_replearn.models.word2vec import Word2VecConfig, Word2VecModel

    set_seed(recipe.seed)
    d, m = recipe.data, recipe.model
    texts = load_text_dataset(d.corpus, 0.01, recipe.seed, recipe.dataset_limit, d.text_column, d.text_unit)
    all_texts = list(texts["train"]["text"]) + list(texts["validation"]["text"])  # word2vec trains on all text
    vocab, batches = build_skipgram_batches(all_texts, d.min_count, m.window, m.sample, m.negative, batch_pairs,
                                            m.dynamic_window, d.max_vocab, d.lowercase, m.ns_exponent, recipe.seed)
    config = Word2VecConfig(vocab_size=len(vocab), embedding_dim=m.embedding_dim, negative=m.negative,
                            window=m.window, dynamic_window=m.dynamic_window, sample=m.sample,
                            ns_exponent=m.ns_exponent, min_count=d.min_count, words=vocab.words)
    return vocab, batches, Word2VecModel(config)


def run(recipe: Word2VecRecipe) -> dict[str, float]:
    import torch

    from hf_replearn.data.word2vec import first_item
    from hf_replearn.evaluation.word_vectors import WordVectors, save_word2vec_format
    from hf_replearn.tasks.lm import training_arguments
    from hf_replearn.training.lifecycle import train_and_save
    from hf_replearn.training.trainer import ReplearnTrainer
    from hf_replearn.utils.files import atomic_write_text
    from hf_replearn.utils.progress import stage

    # per_device_train_batch_size counts skip-gram pairs; the dataset's items are whole batches of them
    args = training_arguments(recipe, remove_unused_columns=False, per_device_train_batch_size=16384,
                              learning_rate=0.01, weight_decay=0.0, num_train_epochs=3, logging_steps=50,
                              lr_scheduler_type="linear", dataloader_pin_memory=False, max_grad_norm=0.0,
                              optim="adamw_torch_fused")  # one kernel per table: 1/3 of foreach Adam's CPU
    with stage("word2vec", "vocabulary, subsampled skip-gram pairs"):
        vocab, batches, model = prepare(recipe, args.per_device_train_batch_size)
    args.per_device_train_batch_size = 1
    trainer = ReplearnTrainer(model=model, args=args, train_dataset=batches, data_collator=first_item)
    # the loss spreads its chunks over the torch threads itself; every other op (Adam over the two
    # tables, mostly) runs on one thread, which on a busy machine avoids intra-op threads spinning
    threads = torch.get_num_threads()
    steps = args.max_steps if args.max_steps > 0 else math.ceil(args.num_train_epochs * len(batches))
    compile = compiles_loss(recipe.model.compile_loss, steps * batches.expected_pairs / len(batches))
    model.loss_workers, model.loss_compile = threads, compile
    torch.set_num_threads(1)
    try:
        model, results = train_and_save(recipe, trainer, model)
    finally:
        torch.set_num_threads(threads)
    seconds = max(results["train/runtime_s"], 1e-9)
    # every process trains on its own item (one corpus slice) each step
    epochs_seen = results["train/steps"] * args.gradient_accumulation_steps * args.world_size / len(batches)

    vectors = WordVectors(vocab.words, model.word_vectors().float().cpu().numpy())
    save_word2vec_format(recipe.output_dir / "vectors.txt", vocab.words, model.word_vectors().float().cpu().numpy())
    ev = recipe.evaluation
    report = {"neighbours": {w: vectors.most_similar([w], topn=ev.topn) for w in ev.query_words if w in vectors.index}}
    correct, asked = 0, 0
    answers = []
    for quad in ev.analogies:
        if len(quad) != 4:
            raise UserError(f"{recipe.source}: evaluation.analogies entries are [a, b, c, d]; got {quad}")
        if all(w in vectors.index for w in quad):
            guess = vectors.analogy(*quad[:3])[0][0]
            answers.append([*quad, guess])
            asked, correct = asked + 1, correct + (guess == quad[3])
    report["analogies"] = answers
    atomic_write_text(recipe.output_dir / "neighbours.json", json.dumps(report, indent=1) + "\n")
    results |= {
        "data/vocab_size": float(len(vocab)),
        "data/pairs_per_epoch": batches.expected_pairs,  # expected (text edges make it an upper bound)
        "data/corpus_words": float(vocab.counts.sum()),
        "train/pairs_per_second": batches.expected_pairs * epochs_seen / seconds,
        "train/words_per_second": float(vocab.counts.sum()) * epochs_seen / seconds,
        "train/compiled_loss": float(compile),
    }
    if asked:
        results["eval/analogy_accuracy"] = correct / asked
        results["data/analogies_asked"] = float(asked)
    write_card(recipe, results, report)
    return results


def write_card(recipe: Word2VecRecipe, results: dict, report: dict) -> None:
    from hf_replearn.hub.model_card import write_model_card

    m = recipe.model
    neighbours = "\n".join(f"- **{w}**: " + ", ".join(n for n, _ in nb) for w, nb in report["neighbours"].items())
    analogies = "\n".join(f"- {a} : {b} :: {c} : **{guess}** (expected {d})" for a, b, c, d, guess in report["analogies"])
    sections = {
        "Model": f"word2vec skip-gram with negative sampling: {int(results['data/vocab_size']):,} words x {m.embedding_dim} "
                 f"dimensions, window {m.window}{' (dynamic)' if m.dynamic_window else ''}, {m.negative} negatives "
                 f"from unigram^{m.ns_exponent}, subsampling t={m.sample}. `vectors.txt` holds the input vectors in "
                 "word2vec's text format (`gensim.models.KeyedVectors.load_word2vec_format(path, binary=False)`).",
        "Nearest neighbours (cosine)": neighbours or "(no query word in the vocabulary)",
    }
    if analogies:
        sections["Analogies (3CosAdd)"] = analogies
    corpus = recipe.data.corpus if isinstance(recipe.data.corpus, str) else "local files"
    write_model_card(recipe.output_dir, recipe, results, sections, dataset_name=corpus)
