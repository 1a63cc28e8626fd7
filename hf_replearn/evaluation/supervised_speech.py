"""The ``supervised`` row of the speech probe table: the CPC network trained on the labels themselves.

van den Oord et al. 2018, Table 1 ("Supervised": phone 74.6, speaker 98.5) is the same architecture trained end
to end on the labels, the bound a self-supervised representation is read against. Here: a fresh model of the
trained one's class and config (encoder g_enc + GRU g_ar), a linear phone head on every c_t and a linear speaker
head on the mean of c over the window, trained with the sum of the two cross-entropies on random windows of the
TRAINING split only. Frame t of a window that starts at sample s is labelled with the phone at sample
s + 160 t + receptive_field // 2, the alignment the probes score. Its frozen features are then probed like every
other row (``speech_probes.probe_feature_set``), so the heads trained here are thrown away.

A hand-written AdamW loop rather than Trainer: the probes run on the main process only, after the other ranks of
an ``accelerate launch`` run have returned, and a Trainer there would join the launcher's process group (its
DDP wrapper's first broadcast would wait for ranks that have left). Same optimiser settings as CPC training in
the bench: AdamW, warm-up then cosine decay, gradients clipped at norm 1 (Trainer's default).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hf_replearn.data.speech import HOP, WaveformCropCollator, phone_spans_to_frames


class SupervisedCPC(nn.Module):
    """A CPCModel with a per-frame phone head on c_t (none when ``num_phones`` is 0: a corpus without phone labels,
    such as a user's audiofolder) and a speaker head on the mean of c over the window."""

    def __init__(self, cpc: nn.Module, num_phones: int, num_speakers: int):
        super().__init__()
        self.cpc = cpc
        self.phone_head = nn.Linear(cpc.config.context_size, num_phones) if num_phones else None
        self.speaker_head = nn.Linear(cpc.config.context_size, num_speakers)

    def forward(self, input_values, phone_labels, speaker_ids) -> dict[str, torch.Tensor]:
        c = self.cpc(input_values, return_loss=False).c  # (B, T, C)
        speaker_loss = F.cross_entropy(self.speaker_head(c.mean(1)), speaker_ids)
        if self.phone_head is None:
            return {"loss": speaker_loss, "speaker_loss": speaker_loss}
        phone_loss = F.cross_entropy(self.phone_head(c).flatten(0, 1), phone_labels.flatten())
        return {"loss": phone_loss + speaker_loss, "phone_loss": phone_loss, "speaker_loss": speaker_loss}


def labelled_windows(collator: WaveformCropCollator, rows: list[dict], receptive_field: int, num_frames):
    """Random windows of ``rows`` -> (B, L) waveforms, (B, T) phone labels (frame centres; None without phone
    labels), (B,) speakers."""
    crops, starts = collator.crop(rows)
    T = num_frames(crops.shape[1])
    phones = None
    if "phone_ids" in rows[0]:  # T * HOP samples: exactly T frame centres, s + rf // 2 + HOP t
        phones = torch.from_numpy(np.stack([
            phone_spans_to_frames(r["phone_ids"], r["phone_starts"], T * HOP, HOP, s + receptive_field // 2)
            for r, s in zip(rows, starts)]).astype(np.int64))  # fmt: skip
    return torch.from_numpy(crops), phones, torch.tensor([int(r["speaker"]) for r in rows])


def train_supervised_cpc(like, train_split, steps: int, crop_samples: int = 20480, batch_size: int = 8,
                         learning_rate: float = 2e-3, seed: int = 0):
    """A fresh ``type(like)(like.config)`` trained on the phone (when it has them) and speaker labels of ``train_split``.

    Returns the network (eval mode, on ``like``'s device; probe it like any CPCModel) and the loss of every step
    (phone + speaker cross-entropy). Seeded: initial weights, batch order and windows all come from ``seed``.
    """
    from transformers import get_cosine_schedule_with_warmup

    device = next(like.parameters()).device
    has_phones = "phone_ids" in train_split.column_names
    rows = list(train_split.with_format("numpy", columns=["audio", "speaker"] + ["phone_ids", "phone_starts"] * has_phones))
    num_phones = 1 + max(int(r["phone_ids"].max()) for r in rows if len(r["phone_ids"])) if has_phones else 0
    num_speakers = 1 + max(int(r["speaker"]) for r in rows)
    with torch.random.fork_rng(devices=[]):  # the caller's torch RNG is left as it was
        torch.manual_seed(seed)
        net = SupervisedCPC(type(like)(like.config), num_phones, num_speakers).to(device)
    optimizer = torch.optim.AdamW(net.parameters(), lr=learning_rate)
    schedule = get_cosine_schedule_with_warmup(optimizer, min(50, steps // 10), steps)
    collator, order_rng = WaveformCropCollator(crop_samples, seed), np.random.default_rng(seed)
    batch_size = min(batch_size, len(rows))
    order, losses = [], []
    net.train()
    for _ in range(steps):
        if len(order) < batch_size:  # shuffled epochs, the last partial batch dropped (as CPC training does)
            order = list(order_rng.permutation(len(rows)))
        batch, order = order[:batch_size], order[batch_size:]
        x, phones, speakers = labelled_windows(collator, [rows[i] for i in batch], like.config.receptive_field,
                                               net.cpc.num_frames)
        loss = net(x.to(device), None if phones is None else phones.to(device), speakers.to(device))["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
    return net.cpc.eval(), losses
