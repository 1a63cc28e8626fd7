"""Configuration of MoCo (He et al. 2020; v2: Chen, Fan, Girshick, He 2020)."""

from __future__ import annotations

from typing import Literal, get_args

from hf_replearn.models.image_encoder import ImageEncoderConfig

KeyMechanism = Literal["moco", "end_to_end", "memory_bank"]
KEY_MECHANISMS = get_args(KeyMechanism)


class MoCoConfig(ImageEncoderConfig):
    """MoCo: a query encoder f_q and a momentum key encoder f_k, a queue of K keys, InfoNCE.

    The three key mechanisms of the MoCo paper's Figure 3 share this model and its loss:
    ``moco`` (keys from the momentum encoder, negatives from the queue), ``end_to_end`` (keys from the
    query encoder itself with gradients, negatives from the same batch, K = batch size - 1) and
    ``memory_bank`` (Wu et al. 2018: positives and K negatives sampled from a bank of one stored
    feature per training example, updated with momentum ``memory_bank_momentum``).

    Args (besides the encoder's, see `ImageEncoderConfig`):
        projection_dim (`int`, defaults to 128): dimension of the keys and queries (the paper's 128).
        mlp_head (`bool`, defaults to `True`): MoCo v2's 2-layer MLP head (hidden = width of h); `False`
            is v1's single linear layer.
        projection_hidden_dim (`int`, *optional*): hidden width of the MLP head; defaults to the width of h.
        queue_size (`int`, defaults to 4096): K, the number of negative keys: the queue's length (``moco``,
            the paper's 65536 on ImageNet) or the keys sampled from the bank (``memory_bank``). Must be a
            multiple of the (global) batch size, so that enqueueing never wraps.
        momentum (`float`, defaults to 0.999): m of the key encoder update theta_k <- m theta_k + (1-m) theta_q,
            in [0, 1).
        contrastive_temperature (`float`, defaults to 0.2): InfoNCE temperature tau (v1: 0.07, v2: 0.2).
        key_mechanism (`str`, defaults to `"moco"`): one of ``moco``, ``end_to_end``, ``memory_bank``.
        memory_bank_size (`int`, defaults to 0): number of training examples (one bank entry each); the
            training task sets it. Only for ``memory_bank``.
        memory_bank_momentum (`float`, defaults to 0.5): proximal update of bank entries (Wu et al. 2018).
        shuffle_bn_groups (`int`, defaults to 1): split each batch into this many BatchNorm groups and
            encode keys with the batch shuffled across groups (MoCo's shuffling BN on one device). Under
            several processes the shuffle runs across processes and each process is a group.
    """

    model_type = "moco"

    def __init__(
        self,
        projection_dim: int = 128,
        mlp_head: bool = True,
        projection_hidden_dim: int | None = None,
        queue_size: int = 4096,
        momentum: float = 0.999,
        contrastive_temperature: float = 0.2,
        key_mechanism: KeyMechanism = "moco",
        memory_bank_size: int = 0,
        memory_bank_momentum: float = 0.5,
        shuffle_bn_groups: int = 1,
        **kwargs,
    ):
        if not 0 <= momentum < 1:
            raise ValueError(
                f"MoCoConfig momentum must lie in [0, 1), got {momentum}; the paper uses 0.999 "
                "(0 copies the query encoder every step, 1 would never update the key encoder)"
            )
        if key_mechanism not in KEY_MECHANISMS:
            raise ValueError(f"MoCoConfig key_mechanism must be one of {', '.join(KEY_MECHANISMS)}, got {key_mechanism!r}")
        if queue_size < 1:
            raise ValueError(f"MoCoConfig queue_size must be a positive number of keys, got {queue_size}")
        if not contrastive_temperature > 0:
            raise ValueError(f"MoCoConfig contrastive_temperature must be > 0, got {contrastive_temperature}")
        if not 0 <= memory_bank_momentum < 1:
            raise ValueError(f"MoCoConfig memory_bank_momentum must lie in [0, 1), got {memory_bank_momentum}")
        if shuffle_bn_groups < 1:
            raise ValueError(f"MoCoConfig shuffle_bn_groups must be at least 1, got {shuffle_bn_groups}")
        self.projection_dim = projection_dim
        self.mlp_head = mlp_head
        self.projection_hidden_dim = projection_hidden_dim
        self.queue_size = queue_size
        self.momentum = momentum
        self.contrastive_temperature = contrastive_temperature
        self.key_mechanism = key_mechanism
        self.memory_bank_size = memory_bank_size
        self.memory_bank_momentum = memory_bank_momentum
        self.shuffle_bn_groups = shuffle_bn_groups
        super().__init__(**kwargs)
