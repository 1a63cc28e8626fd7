import math

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
