"""Configuration of Contrastive Predictive Coding for audio (van den Oord et al. 2018, Sec. 3.1)."""

from __future__ import annotations

import math

from transformers import PreTrainedConfig

from hf_replearn.losses.cpc_infonce import NEGATIVE_SAMPLING


class CPCConfig(PreTrainedConfig):
    """CPC: strided conv encoder g_enc on the raw waveform -> z_t, GRU g_ar -> c_t, W_k c_t predicts z_{t+k}.

    Args:
        conv_kernels (`list[int]`, defaults to `[10, 8, 4, 4, 4]`): kernel size of each encoder layer (the paper's).
        conv_strides (`list[int]`, defaults to `[5, 4, 2, 2, 2]`): strides; their product (160) is the hop in
            samples, one frame per 10 ms at 16 kHz.
        hidden_size (`int`, defaults to 512): channels of the encoder, the dimension of z (paper: 512).
        context_size (`int`, defaults to 256): GRU hidden size, the dimension of c (paper: 256).
        num_prediction_steps (`int`, defaults to 12): K, the number of future frames predicted (paper: 12).
        num_negatives (`int`, defaults to 10): N, negatives per prediction.
        negative_sampling (`str`, defaults to `"same_sequence"`): where negatives come from: `same_sequence`,
            `same_speaker` (needs `speaker_ids`) or `mixed` (any clip in the batch).
        sampling_rate (`int`, defaults to 16000): the waveform rate the encoder expects.
    """

    model_type = "cpc"

    def __init__(
        self,
        conv_kernels: list[int] | None = None,
        conv_strides: list[int] | None = None,
        hidden_size: int = 512,
        context_size: int = 256,
        num_prediction_steps: int = 12,
        num_negatives: int = 10,
        negative_sampling: str = "same_sequence",
        sampling_rate: int = 16000,
        **kwargs,
    ):
        self.conv_kernels = list(conv_kernels) if conv_kernels is not None else [10, 8, 4, 4, 4]
        self.conv_strides = list(conv_strides) if conv_strides is not None else [5, 4, 2, 2, 2]
        if len(self.conv_kernels) != len(self.conv_strides) or not self.conv_kernels:
            raise ValueError(f"conv_kernels {self.conv_kernels} and conv_strides {self.conv_strides} need the same, non-zero length")
        if num_prediction_steps < 1:
            raise ValueError(f"num_prediction_steps must be >= 1, got {num_prediction_steps}")
        if negative_sampling not in NEGATIVE_SAMPLING:
            raise ValueError(f"negative_sampling must be one of {NEGATIVE_SAMPLING}, got {negative_sampling!r}")
        self.hidden_size = hidden_size
        self.context_size = context_size
        self.num_prediction_steps = num_prediction_steps
        self.num_negatives = num_negatives
        self.negative_sampling = negative_sampling
        self.sampling_rate = sampling_rate
        super().__init__(**kwargs)

    @property
    def hop_length(self) -> int:
        """Samples between consecutive frames: the product of the strides (160 = 10 ms at 16 kHz)."""
        return math.prod(self.conv_strides)

    @property
    def receptive_field(self) -> int:
        """Samples seen by one frame z_t (465 for the paper's encoder); shorter clips give no frame."""
        field, jump = 1, 1
        for kernel, stride in zip(self.conv_kernels, self.conv_strides):
            field += (kernel - 1) * jump
            jump *= stride
        return field
