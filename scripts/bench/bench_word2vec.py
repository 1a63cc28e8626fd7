"""word2vec benchmark: hf_replearn's Trainer-based skip-gram against gensim's Word2Vec, same corpus and settings.

    OMP_NUM_THREADS=1 python scripts/bench/run.py word2vec_gensim

Both sides get 2 cores: gensim 2 workers, ours torch.set_num_threads(2) (set here, whatever OMP_NUM_THREADS
says; OMP_NUM_THREADS=1 keeps gensim's BLAS calls single-threaded). words/s = corpus words x epochs / the
training wall time: gensim's ``train()`` after ``build_vocab()``, ours ``Trainer.train()`` after the
vocabulary (pair drawing, per epoch, is inside it). Runs alternate gensim, ours, gensim, ours, ... so a
shared machine's load falls on both; the table gives the median of each and of the per-round ratios.

Needs `pip install gensim` (bench only) and WordNet (`apt-get install wordnet-base`) for the synonym test:
pairs of words sharing a WordNet synset (both in the vocabulary) against random vocabulary pairs; the
score is the AUC of cosine similarity (0.5: no signal).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from scripts.bench.common import benchmark

SETTINGS = dict(embedding_dim=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=3)
ROUNDS = int(os.environ.get("BENCH_W2V_ROUNDS", "3"))
WORDNET = Path("/usr/share/wordnet")


def wordnet_synonym_pairs(vocab: set[str]) -> list[tuple[str, str]]:
    pairs = set()
    for pos in ("noun", "verb", "adj", "adv"):
        for line in (WORDNET / f"data.{pos}").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("  "):  # licence header
                continue
            fields = line.split(" ")
            count = int(fields[3], 16)
            words = {fields[4 + 2 * i].lower() for i in range(count)}
            words = sorted(w for w in words if w in vocab)
            pairs |= {(a, b) for i, a in enumerate(words) for b in words[i + 1 :]}
    return sorted(pairs)


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    scores = np.concatenate([pos, neg])
    ranks = scores.argsort().argsort() + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def _neighbours(unit: np.ndarray, row: int, words: list[str]) -> set[str]:
    return {words[j] for j in np.argsort(-(unit @ unit[row]))[1:11]}


@benchmark("word2vec_gensim")
def word2vec_gensim() -> str:
    """word2vec on the KJV Bible: words/s, top-10 neighbour overlap and WordNet-synonym AUC vs gensim."""
    import torch
    from gensim.models import Word2Vec

    from hf_replearn.tasks import build_recipe, run_recipe
    from hf_replearn.data.text import load_text_dataset
    from hf_replearn.data.word2vec import split_words
    from hf_replearn.evaluation.word_vectors import load_word2vec_format

    s = SETTINGS
    texts = load_text_dataset("kjv-bible", 0.01, 0)
    sentences = [split_words(t) for split in ("train", "validation") for t in texts[split]["text"]]
    n_words = sum(map(len, sentences))

    def gensim(seed: int):
        model = Word2Vec(vector_size=s["embedding_dim"], window=s["window"], negative=s["negative"], sample=s["sample"],
                         min_count=s["min_count"], sg=1, workers=2, seed=seed)
        model.build_vocab(sentences)
        start = time.perf_counter()
        model.train(sentences, total_examples=model.corpus_count, epochs=s["epochs"])
        wv = model.wv
        return wv.index_to_key, _unit(wv.vectors), n_words * s["epochs"] / (time.perf_counter() - start)

    def ours(seed: int):
        torch.set_num_threads(2)
        with tempfile.TemporaryDirectory() as tmp:
            recipe = build_recipe({
                "task": "word2vec", "seed": seed, "data": {"corpus": "kjv-bible", "min_count": s["min_count"]},
                "model": {"embedding_dim": s["embedding_dim"], "window": s["window"], "negative": s["negative"],
                          "sample": s["sample"]},  # compile_loss as shipped (null: compiles this run)
                "training": {"output_dir": f"{tmp}/w2v", "num_train_epochs": s["epochs"], "disable_tqdm": True,
                             "save_strategy": "no"}})
            results = run_recipe(recipe)
            words, vectors = load_word2vec_format(f"{tmp}/w2v/vectors.txt")
        seconds = results["data/corpus_words"] * s["epochs"] / results["train/words_per_second"]
        return words, _unit(vectors), n_words * s["epochs"] / seconds

    runs = {"gensim": [], "ours": []}
    for r in range(ROUNDS):
        runs["gensim"].append(gensim(r))
        runs["ours"].append(ours(r))

    vocab = set(runs["ours"][0][0]) & set(runs["gensim"][0][0])
    syn = wordnet_synonym_pairs(vocab)
    rng = np.random.default_rng(0)
    pool = sorted(vocab)
    rand = [(pool[i], pool[j]) for i, j in rng.integers(0, len(pool), (len(syn), 2)) if i != j]

    def auc(run):
        index = {w: i for i, w in enumerate(run[0])}
        cos = lambda pairs: np.array([run[1][index[x]] @ run[1][index[y]] for x, y in pairs])  # noqa: E731
        return _auc(cos(syn), cos(rand))

    def overlap(a, b):
        ia, ib = {w: i for i, w in enumerate(a[0])}, {w: i for i, w in enumerate(b[0])}
        common = [w for w in a[0][:1000] if w in ib]
        return float(np.mean([len(_neighbours(a[1], ia[w], a[0]) & _neighbours(b[1], ib[w], b[0])) / 10
                              for w in common]))

    wps = {k: [run[2] for run in v] for k, v in runs.items()}
    aucs = {k: [auc(run) for run in v] for k, v in runs.items()}
    ratios = [o / g for o, g in zip(wps["ours"], wps["gensim"])]
    ratio = float(np.median(ratios))
    ours_auc, gensim_auc = float(np.median(aucs["ours"])), float(np.median(aucs["gensim"]))
    fmt = lambda xs, f: ", ".join(f.format(x) for x in xs)  # noqa: E731
    return "\n".join([
        f"| implementation | words/s ({s['epochs']} epochs), median of {ROUNDS} | per round | "
        "WordNet synonym vs random AUC, median | per round |", "|---|---|---|---|---|",
        f"| hf_replearn (Trainer, ~16k pairs per step, fused AdamW lr 0.01 decayed linearly to 0, torch.compile'd "
        "loss kernel called from 2 threads, its compile time included) | "
        f"{np.median(wps['ours']):,.0f} | {fmt(wps['ours'], '{:,.0f}')} | {ours_auc:.3f} | {fmt(aucs['ours'], '{:.3f}')} |",
        f"| gensim 4 (sg=1, 2 workers, SGD alpha 0.025 decayed linearly to 0.0001) | {np.median(wps['gensim']):,.0f} | "
        f"{fmt(wps['gensim'], '{:,.0f}')} | {gensim_auc:.3f} | {fmt(aucs['gensim'], '{:.3f}')} |", "",
        f"Ratio ours / gensim (per round, gensim and ours run back to back): {fmt(ratios, '{:.2f}')}; median "
        f"**{ratio:.2f}x** (target >= 0.5x: {'met' if ratio >= 0.5 else 'not met'}); synonym AUC ours {ours_auc:.3f} vs "
        f"gensim {gensim_auc:.3f} (target >= gensim's: {'met' if ours_auc >= gensim_auc else 'not met'}).",
        f"Same corpus (KJV Bible, {n_words:,} words), vocabulary min_count {s['min_count']}, {s['embedding_dim']} "
        f"dimensions, window {s['window']} (dynamic), {s['negative']} negatives, sample {s['sample']}, {s['epochs']} "
        "epochs for both, subsampling and windows redrawn every epoch by both, learning rates decayed linearly "
        f"over the whole run. Top-10 neighbour overlap with gensim over the 1000 most frequent words: "
        f"**{overlap(runs['ours'][0], runs['gensim'][0]):.2f}**; between two gensim runs that differ only in the seed: "
        f"{overlap(runs['gensim'][-1], runs['gensim'][0]) if ROUNDS > 1 else float('nan'):.2f} (the ceiling). "
        f"{len(syn):,} WordNet synonym pairs vs as many random pairs.",
    ])
