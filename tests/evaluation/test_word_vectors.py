import numpy as np

from hf_replearn.evaluation.word_vectors import WordVectors, load_word2vec_format, save_word2vec_format


def test_text_format_round_trip(tmp_path):
    words, vectors = ["a", "b", "c"], np.arange(6, dtype=np.float32).reshape(3, 2) / 7
    save_word2vec_format(tmp_path / "v.txt", words, vectors)
    assert (tmp_path / "v.txt").read_text().splitlines()[0] == "3 2"
    got_words, got = load_word2vec_format(tmp_path / "v.txt")
    assert got_words == words and np.allclose(got, vectors, atol=1e-6)


def test_neighbours_and_analogy():
    # king - man + woman = queen on hand-made vectors (royalty, gender, noise)
    words = ["king", "queen", "man", "woman", "apple"]
    vectors = np.array([[1, 1, 0], [1, -1, 0], [0, 1, 0.1], [0, -1, 0.1], [0, 0, 1]], dtype=np.float32)
    wv = WordVectors(words, vectors)
    assert wv.analogy("man", "king", "woman")[0][0] == "queen"
    near = wv.most_similar(["man"], topn=2)
    assert near[0][0] == "king" and abs(near[0][1] - wv.similarity("man", "king")) < 1e-6
