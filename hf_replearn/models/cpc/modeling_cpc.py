"""Contrastive Predictive Coding for audio as a PreTrainedModel: z = g_enc(x), c = g_ar(z), InfoNCE on W_k c_t."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from hf_replearn.errors import UserError
from hf_replearn.losses.cpc_infonce import CPCInfoNCELoss
from hf_replearn.models.cpc.configuration_cpc import CPCConfig


@dataclass
class CPCOutput(ModelOutput):
    """
    loss: InfoNCE averaged over the K prediction steps (when ``return_loss``).
    z: encoder frames, (B, T, hidden_size), one per ``config.hop_length`` samples.
    c: context frames, (B, T, context_size); c_t has seen z_1..z_t.
    step_accuracy: (K,) how often the positive outscored every negative at step k = 1..K.
    """

    loss: torch.FloatTensor | None = None
    z: torch.FloatTensor | None = None
    c: torch.FloatTensor | None = None
    step_accuracy: torch.FloatTensor | None = None


class ChannelNorm(nn.Module):
    """LayerNorm over channels of each frame separately, (B, C, T) -> (B, C, T): no statistics across time."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x):
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class CPCPreTrainedModel(PreTrainedModel):
    config_class = CPCConfig
    base_model_prefix = "cpc"
    main_input_name = "input_values"

    def _init_weights(self, module):
        if isinstance(module, nn.Conv1d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.GRU):
            for name, param in module.named_parameters():
                if "weight" in name:
                    nn.init.orthogonal_(param) if "hh" in name else nn.init.xavier_uniform_(param)
                else:
                    nn.init.zeros_(param)


class CPCModel(CPCPreTrainedModel):
    def __init__(self, config: CPCConfig):
        super().__init__(config)
        layers, channels = [], 1
        for kernel, stride in zip(config.conv_kernels, config.conv_strides):
            layers += [nn.Conv1d(channels, config.hidden_size, kernel, stride), ChannelNorm(config.hidden_size), nn.ReLU()]
            channels = config.hidden_size
        self.encoder = nn.Sequential(*layers)  # g_enc: (B, 1, L) -> (B, D, T), no padding: T = frames fully inside
        self.context = nn.GRU(config.hidden_size, config.context_size, batch_first=True)  # g_ar
        # W_k for k = 1..K as one linear map to K * D outputs; slice k-1 is W_k.
        self.predictors = nn.Linear(config.context_size, config.num_prediction_steps * config.hidden_size, bias=False)
        self.loss_fn = CPCInfoNCELoss(config.num_negatives, config.negative_sampling)
        self.post_init()

    def num_frames(self, num_samples: int) -> int:
        for kernel, stride in zip(self.config.conv_kernels, self.config.conv_strides):
            num_samples = (num_samples - kernel) // stride + 1
        return max(num_samples, 0)

    def encode(self, input_values: torch.Tensor) -> torch.Tensor:
        """z = g_enc(x): (B, L) waveform at ``config.sampling_rate`` -> (B, T, D); frame t covers samples
        [t * hop_length, t * hop_length + receptive_field)."""
        if input_values.dim() != 2:
            raise UserError(
                f"CPC takes mono waveforms shaped (batch, samples), got shape {tuple(input_values.shape)}; "
                "mix stereo channels to mono first"
            )
        if input_values.shape[1] < self.config.receptive_field:
            raise UserError(
                f"clips of {input_values.shape[1]} samples are shorter than the encoder's receptive field of "
                f"{self.config.receptive_field} samples; pad or drop them"
            )
        return self.encoder(input_values.unsqueeze(1)).transpose(1, 2)

    def forward(self, input_values: torch.Tensor, speaker_ids: torch.Tensor | None = None, return_loss: bool = True,
                **kwargs) -> CPCOutput:
        z = self.encode(input_values)  # (B, T, D)
        c, _ = self.context(z)  # (B, T, C)
        if not return_loss:
            return CPCOutput(z=z, c=c)
        B, T, _ = z.shape
        K = self.config.num_prediction_steps
        if T <= K:
            raise UserError(
                f"clips give {T} frames, too few to predict {K} steps ahead; use clips longer than "
                f"{(K + 1) * self.config.hop_length + self.config.receptive_field} samples or lower num_prediction_steps"
            )
        predictions = self.predictors(c).view(B, T, K, self.config.hidden_size)  # W_k c_t for every k
        loss, step_accuracy = self.loss_fn(z, predictions, speaker_ids)
        return CPCOutput(loss=loss, z=z, c=c, step_accuracy=step_accuracy)
