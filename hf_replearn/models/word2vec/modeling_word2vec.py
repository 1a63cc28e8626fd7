"""word2vec skip-gram with negative sampling as a PreTrainedModel, trained by Trainer.

The batch holds (centre, context, K negatives) id triples made by :mod:`hf_replearn.data.word2vec`; the
word vectors are the input embeddings v (``get_input_embeddings``), as in word2vec.c and gensim.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from hf_replearn.losses.sgns import SGNSLoss, sgns_loss_from_tables
from hf_replearn.models.word2vec.configuration_word2vec import Word2VecConfig


@dataclass
class Word2VecOutput(ModelOutput):
    loss: torch.Tensor | None = None
    positive_logits: torch.Tensor | None = None  # (B,) u_o . v_c
    negative_logits: torch.Tensor | None = None  # (B, K) u_wk . v_c


class Word2VecPreTrainedModel(PreTrainedModel):
    config_class = Word2VecConfig
    base_model_prefix = "word2vec"
    main_input_name = "center_ids"

    def _init_weights(self, module):
        # word2vec.c: input vectors uniform in [-0.5/D, 0.5/D], output vectors zero
        d = self.config.embedding_dim
        if module is getattr(self, "input_embeddings", None):
            nn.init.uniform_(module.weight, -0.5 / d, 0.5 / d)
        elif module is getattr(self, "output_embeddings", None):
            nn.init.zeros_(module.weight)


class Word2VecModel(Word2VecPreTrainedModel):
    def __init__(self, config: Word2VecConfig):
        super().__init__(config)
        self.input_embeddings = nn.Embedding(config.vocab_size, config.embedding_dim)  # v
        self.output_embeddings = nn.Embedding(config.vocab_size, config.embedding_dim)  # u
        self.loss_fn = SGNSLoss()
        self.loss_workers: int | None = None  # threads of the training loss (None: torch.get_num_threads())
        self.loss_compile = False  # train with the torch.compile'd loss kernel (losses/sgns.py)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.input_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.input_embeddings = value

    def forward(self, center_ids: torch.Tensor, context_ids: torch.Tensor | None = None,
                negative_ids: torch.Tensor | None = None) -> Word2VecOutput:
        if context_ids is None:
            return Word2VecOutput()
        if negative_ids is not None and torch.is_grad_enabled() and self.input_embeddings.weight.requires_grad:
            # training: loss and table gradients in one chunked pass (losses/sgns.py says why)
            loss, logits = sgns_loss_from_tables(self.input_embeddings.weight, self.output_embeddings.weight,
                                                 center_ids, context_ids, negative_ids, workers=self.loss_workers,
                                                 compile=self.loss_compile)
            return Word2VecOutput(loss=loss, positive_logits=logits[:, 0], negative_logits=logits[:, 1:])
        v = self.input_embeddings(center_ids)  # (B, D)
        u_o = self.output_embeddings(context_ids)  # (B, D)
        out = Word2VecOutput(positive_logits=(v * u_o).sum(-1))
        if negative_ids is not None:
            u_neg = self.output_embeddings(negative_ids)  # (B, K, D)
            out.negative_logits = torch.einsum("bd,bkd->bk", v, u_neg)
            out.loss = self.loss_fn(v, u_o, u_neg)
        return out

    def word_vectors(self) -> torch.Tensor:
        """(V, D) input vectors, the embeddings that word2vec exports."""
        return self.input_embeddings.weight.detach()
