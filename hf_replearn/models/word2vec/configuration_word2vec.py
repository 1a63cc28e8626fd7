"""Configuration of word2vec skip-gram with negative sampling (Mikolov et al. 2013)."""

from __future__ import annotations

from transformers import PreTrainedConfig


class Word2VecConfig(PreTrainedConfig):
    """Skip-gram: an input vector v_w and an output vector u_w per vocabulary word.

    Args:
        vocab_size (`int`, defaults to 10000): words kept (those seen at least ``min_count`` times).
        embedding_dim (`int`, defaults to 100): dimension D of v and u (the paper and gensim use 100-300).
        negative (`int`, defaults to 5): noise words K per pair (the paper: 5-20 for small data).
        window (`int`, defaults to 5): maximum distance between centre and context word.
        dynamic_window (`bool`, defaults to `True`): draw each centre's window uniformly in 1..window, as
            word2vec.c and gensim do (nearer words are paired more often).
        sample (`float`, defaults to 1e-3): frequent-word subsampling threshold t (0 disables).
        ns_exponent (`float`, defaults to 0.75): noise distribution P(w) proportional to count(w)^ns_exponent.
        min_count (`int`, defaults to 5): rarer words are dropped from the vocabulary.
        words (`list[str]`, *optional*): the vocabulary, most frequent first, so a checkpoint maps ids to words.

    ``window``, ``dynamic_window``, ``sample``, ``ns_exponent`` and ``min_count`` shape the training data,
    not the network; they are kept here so a checkpoint records how it was trained.
    """

    model_type = "word2vec"

    def __init__(
        self,
        vocab_size: int = 10000,
        embedding_dim: int = 100,
        negative: int = 5,
        window: int = 5,
        dynamic_window: bool = True,
        sample: float = 1e-3,
        ns_exponent: float = 0.75,
        min_count: int = 5,
        words: list[str] | None = None,
        **kwargs,
    ):
        if embedding_dim < 1 or negative < 1 or window < 1:
            raise ValueError(f"embedding_dim, negative and window must be >= 1, got {embedding_dim}, {negative}, {window}")
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.negative = negative
        self.window = window
        self.dynamic_window = dynamic_window
        self.sample = sample
        self.ns_exponent = ns_exponent
        self.min_count = min_count
        self.words = list(words) if words is not None else None
        super().__init__(**kwargs)
