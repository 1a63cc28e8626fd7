import math

import pytest
import torch

from hf_replearn.models.word2vec import Word2VecConfig, Word2VecModel


def test_init_forward_and_round_trip(tmp_path):
    config = Word2VecConfig(vocab_size=20, embedding_dim=8, negative=3, words=[f"w{i}" for i in range(20)])
    model = Word2VecModel(config)
    assert model.input_embeddings.weight.abs().max() <= 0.5 / 8 and model.output_embeddings.weight.abs().max() == 0
    out = model(center_ids=torch.tensor([1, 2]), context_ids=torch.tensor([3, 4]), negative_ids=torch.ones(2, 3).long())
    assert abs(out.loss.item() - 4 * math.log(2)) < 1e-6  # u = 0: (K + 1) log 2
    model.save_pretrained(tmp_path)
    again = Word2VecModel.from_pretrained(tmp_path)
    assert again.config.words == config.words and torch.equal(again.word_vectors(), model.word_vectors())


def test_auto_classes_load_it(tmp_path):
    import hf_replearn.models  # noqa: F401  (registers the families)
    from transformers import AutoConfig, AutoModel

    Word2VecModel(Word2VecConfig(vocab_size=5, embedding_dim=4)).save_pretrained(tmp_path)
    assert AutoConfig.from_pretrained(tmp_path).model_type == "word2vec"
    assert isinstance(AutoModel.from_pretrained(tmp_path), Word2VecModel)


def test_training_path_equals_reference_and_lowers_the_loss():
    torch.manual_seed(0)
    model = Word2VecModel(Word2VecConfig(vocab_size=12, embedding_dim=8, negative=2))
    batch = dict(center_ids=torch.arange(12).repeat(4), context_ids=(torch.arange(12) % 3).repeat(4),
                 negative_ids=torch.randint(3, 12, (48, 2)))
    with torch.no_grad():
        reference = model(**batch).loss.item()  # gathers rows and calls SGNSLoss
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        loss = model(**batch).loss  # chunked loss with hand-written table gradients
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(reference, rel=1e-6) and losses[-1] < 0.5 * losses[0]


def test_word2vec_text_format_round_trip(tmp_path):
    from hf_replearn.evaluation.word_vectors import load_word2vec_format, save_word2vec_format

    words = ["a", "b", "c"]
    model = Word2VecModel(Word2VecConfig(vocab_size=3, embedding_dim=4, words=words))
    save_word2vec_format(tmp_path / "vectors.txt", words, model.word_vectors().numpy())
    assert (tmp_path / "vectors.txt").read_text().splitlines()[0] == "3 4"
    loaded_words, vectors = load_word2vec_format(tmp_path / "vectors.txt")
    assert loaded_words == words and torch.allclose(torch.from_numpy(vectors), model.word_vectors(), atol=1e-6)
