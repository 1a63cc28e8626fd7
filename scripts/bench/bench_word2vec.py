"""word2vec benchmark: hf_replearn's Trainer-based skip-gram against gensim's Word2Vec, same corpus and settings.

    python scripts/bench/run.py word2vec_gensim

Needs `pip install gensim` (bench only) and WordNet (`apt-get install wordnet-base`) for the synonym test:
pairs of words sharing a WordNet synset (both in the vocabulary) against random vocabulary pairs; the
score is the AUC of cosine similarity (0.5: no signal).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from scripts.bench.common import benchmark

SETTINGS = dict(embedding_dim=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=3)
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


@benchmark("word2vec_gensim")
def word2vec_gensim() -> str:
    """word2vec on the KJV Bible: words/s, top-10 neighbour overlap and WordNet-synonym AUC vs gensim."""
    from gensim.models import Word2Vec

    from hf_replearn.tasks import build_recipe, run_recipe
    from hf_replearn.data.text import load_text_dataset
    from hf_replearn.data.word2vec import split_words
    from hf_replearn.evaluation.word_vectors import load_word2vec_format

    s = SETTINGS
    with tempfile.TemporaryDirectory() as tmp:
        recipe = build_recipe({
            "task": "word2vec", "data": {"corpus": "kjv-bible", "min_count": s["min_count"]},
            "model": {"embedding_dim": s["embedding_dim"], "window": s["window"], "negative": s["negative"],
                      "sample": s["sample"]},
            "training": {"output_dir": f"{tmp}/w2v", "num_train_epochs": s["epochs"], "disable_tqdm": True,
                         "save_strategy": "no"}})
        ours = run_recipe(recipe)
        words, vectors = load_word2vec_format(f"{tmp}/w2v/vectors.txt")
    texts = load_text_dataset("kjv-bible", 0.01, 0)
    sentences = [split_words(t) for split in ("train", "validation") for t in texts[split]["text"]]

    def gensim(seed: int):
        return Word2Vec(sentences, vector_size=s["embedding_dim"], window=s["window"], negative=s["negative"],
                        sample=s["sample"], min_count=s["min_count"], sg=1, epochs=s["epochs"], workers=2, seed=seed)

    start = time.perf_counter()
    gm = gensim(0)
    gensim_s = time.perf_counter() - start
    gm_other = gensim(1)  # the ceiling: how far two gensim runs that differ only in the seed agree
    gensim_wps = sum(map(len, sentences)) * s["epochs"] / gensim_s

    common = [w for w in words[:1000] if w in gm.wv.key_to_index]
    a = _unit(vectors)
    idx = {w: i for i, w in enumerate(words)}
    b = _unit(gm.wv.vectors)
    c = _unit(gm_other.wv.vectors)
    overlaps, ceiling = [], []
    for w in common:
        ours_nn = {words[j] for j in np.argsort(-(a @ a[idx[w]]))[1:11]}
        theirs_nn = {gm.wv.index_to_key[j] for j in np.argsort(-(b @ b[gm.wv.key_to_index[w]]))[1:11]}
        other_nn = {gm_other.wv.index_to_key[j] for j in np.argsort(-(c @ c[gm_other.wv.key_to_index[w]]))[1:11]}
        overlaps.append(len(ours_nn & theirs_nn) / 10)
        ceiling.append(len(other_nn & theirs_nn) / 10)

    vocab = set(words) & set(gm.wv.key_to_index)
    syn = wordnet_synonym_pairs(vocab)
    rng = np.random.default_rng(0)
    pool = sorted(vocab)
    rand = [(pool[i], pool[j]) for i, j in rng.integers(0, len(pool), (len(syn), 2)) if i != j]

    def auc(unit, index):
        cos = lambda pairs: np.array([unit[index[x]] @ unit[index[y]] for x, y in pairs])  # noqa: E731
        return _auc(cos(syn), cos(rand))

    ours_auc, gensim_auc = auc(a, idx), auc(b, gm.wv.key_to_index)
    return "\n".join([
        f"| implementation | words/s ({s['epochs']} epochs) | WordNet synonym vs random AUC |", "|---|---|---|",
        f"| hf_replearn (Trainer, batch 1024, Adam lr 0.003 decayed linearly to 0) | {ours['train_words_per_second']:,.0f} | {ours_auc:.3f} |",
        f"| gensim 4 (sg=1, 2 workers, SGD alpha 0.025 decayed linearly to 0.0001) | {gensim_wps:,.0f} | {gensim_auc:.3f} |", "",
        f"Same corpus (KJV Bible, {sum(map(len, sentences)):,} words), vocabulary min_count {s['min_count']}, "
        f"{s['embedding_dim']} dimensions, window {s['window']}, {s['negative']} negatives, sample {s['sample']}, "
        f"{s['epochs']} epochs for both, both learning rates decayed linearly over the whole run (SGNS's schedule). "
        f"Top-10 neighbour overlap with gensim over the {len(common)} most frequent words: **{np.mean(overlaps):.2f}**; "
        f"between two gensim runs that differ only in the seed: {np.mean(ceiling):.2f} (the ceiling). "
        f"{len(syn):,} WordNet synonym pairs vs as many random pairs. hf_replearn draws subsampling and dynamic "
        "windows once for all epochs; gensim redraws them every epoch.",
    ])
