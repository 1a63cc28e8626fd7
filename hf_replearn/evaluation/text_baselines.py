"""Text baselines for the probe: bags of n-grams weighted by TF-IDF (scikit-learn), fitted without labels.

- ``tfidf_word``: word 1- and 2-grams; the classic strong baseline of sentence classification (Wang & Manning
  2012 report 77-79 % on Pang & Lee's polarity data with such bigram features);
- ``tfidf_char``: character 2- to 5-grams inside word boundaries, robust to spelling and morphology.

Both use sublinear term frequency and L2-normalised rows; the vectoriser is fitted on the training texts
only (no labels), then applied to the test texts. Sentence pairs: each side is vectorised with the same
vocabulary and the two are placed side by side, so a linear probe can weigh each.
"""

from __future__ import annotations

from hf_replearn.errors import UserError

TEXT_BASELINES = ("tfidf_word", "tfidf_char", "random_init")

_VECTORIZERS = {
    "tfidf_word": dict(analyzer="word", ngram_range=(1, 2), min_df=2),
    "tfidf_char": dict(analyzer="char_wb", ngram_range=(2, 5), min_df=2),
}


def tfidf_features(name: str, train_texts, test_texts):
    """(train, test) sparse TF-IDF matrices for texts or (a, b) pairs."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    pairs = isinstance(train_texts[0], (tuple, list))
    sides = 2 if pairs else 1
    columns = [([t[i] for t in train_texts], [t[i] for t in test_texts]) if pairs else (train_texts, test_texts)
               for i in range(sides)]  # fmt: skip
    # n-grams seen once are noise on real corpora; a toy corpus of a few dozen texts keeps them
    vectorizer = TfidfVectorizer(sublinear_tf=True, **{**_VECTORIZERS[name], "min_df": 2 if len(train_texts) >= 50 else 1})
    try:
        vectorizer.fit([text for train, _ in columns for text in train])
    except ValueError as err:  # scikit-learn: "empty vocabulary" (texts without a word of two characters, say)
        raise UserError(f"--baselines {name}: no n-gram of the training texts to weigh ({err}); leave {name} out of "
                        "--baselines") from None
    train = hstack([vectorizer.transform(tr) for tr, _ in columns]).tocsr()
    test = hstack([vectorizer.transform(te) for _, te in columns]).tocsr()
    return train, test
