"""Word vectors: export in word2vec's text format, cosine nearest neighbours, analogies.

The text format is word2vec.c's (and gensim's ``KeyedVectors.load_word2vec_format(path, binary=False)``):
a header line ``<vocabulary size> <dimension>``, then one line per word: the word and its D numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hf_replearn.errors import UserError


def save_word2vec_format(path: str | Path, words: list[str], vectors: np.ndarray) -> None:
    from hf_replearn.utils.files import atomic_write_text

    vectors = np.asarray(vectors, dtype=np.float32)
    lines = [f"{len(words)} {vectors.shape[1]}"]
    lines += [w + " " + " ".join(f"{x:.6g}" for x in row) for w, row in zip(words, vectors)]
    atomic_write_text(Path(path), "\n".join(lines) + "\n")


def load_word2vec_format(path: str | Path) -> tuple[list[str], np.ndarray]:
    with open(path, encoding="utf-8") as handle:
        n, dim = map(int, handle.readline().split())
        words, rows = [], []
        for line in handle:
            parts = line.rstrip("\n").split(" ")
            words.append(parts[0])
            rows.append(np.array(parts[1:], dtype=np.float32))
    vectors = np.stack(rows) if rows else np.zeros((0, dim), np.float32)
    if vectors.shape != (n, dim):
        raise UserError(f"{path}: header says {n} x {dim} but the file holds {vectors.shape}")
    return words, vectors


class WordVectors:
    def __init__(self, words: list[str], vectors: np.ndarray):
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(self.words)}
        v = np.asarray(vectors, dtype=np.float32)
        self.unit = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)  # (V, D)

    def _row(self, word: str) -> np.ndarray:
        if word not in self.index:
            raise UserError(f"`{word}` is not in the vocabulary ({len(self.words)} words); pick a more frequent word")
        return self.unit[self.index[word]]

    def similarity(self, a: str, b: str) -> float:
        return float(self._row(a) @ self._row(b))

    def most_similar(self, positive: list[str], negative: list[str] = (), topn: int = 10) -> list[tuple[str, float]]:
        """Cosine neighbours of sum(positive) - sum(negative) (3CosAdd), the query words excluded."""
        query = sum(self._row(w) for w in positive) - sum((self._row(w) for w in negative), np.zeros_like(self.unit[0]))
        scores = self.unit @ (query / max(np.linalg.norm(query), 1e-12))  # (V,)
        for w in (*positive, *negative):
            scores[self.index[w]] = -np.inf
        top = np.argsort(-scores)[:topn]
        return [(self.words[i], float(scores[i])) for i in top]

    def analogy(self, a: str, b: str, c: str, topn: int = 1) -> list[tuple[str, float]]:
        """a is to b as c is to ?  (b - a + c)."""
        return self.most_similar(positive=[b, c], negative=[a], topn=topn)
