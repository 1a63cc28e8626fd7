from hf_replearn.models.word2vec.configuration_word2vec import Word2VecConfig
from hf_replearn.models.word2vec.modeling_word2vec import Word2VecModel, Word2VecOutput

__all__ = ["Word2VecConfig", "Word2VecModel", "Word2VecOutput"]
