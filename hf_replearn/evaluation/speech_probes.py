"""Phone and speaker probes on frozen speech features: the CPC paper's Table 1 in miniature.

van den Oord et al. 2018, Sec. 3.1: a linear classifier on frozen features, per frame for phones and
on the mean over an utterance for speakers. Feature sets:

- ``cpc``: the context c_t of the trained CPCModel (the paper probes c);
- ``random_init``: c_t of the same architecture with fresh weights;
- ``supervised``: c_t of the same architecture trained end to end on the training split's phone and speaker
  labels (the paper's "Supervised" row, an upper bound; ``supervised_speech.py``), probed like the others;
- ``mfcc``: 13 MFCCs + deltas + delta-deltas (39 dims) from ``transformers.audio_utils`` (25 ms Hann
  window, 10 ms hop, 40 mel bands, DCT-II of the log-mel energies).

Every frame is labelled with the phone at the centre of the samples it sees (``frame_offset``), so each
feature set is scored against the same alignment. Keys: ``linear_probe/<features>/phone`` (test
frame accuracy) and ``linear_probe/<features>/speaker`` (test utterance accuracy: unseen sentences
of the training speakers, frames pooled as ``speaker_pooling`` says); ``.../speaker_<pooling>`` holds
the speaker accuracy under each other pooling. With ``supervised``: ``eval/supervised_train_s`` (its training
time) and ``eval/supervised_first_loss`` / ``eval/supervised_last_loss`` (phone + speaker cross-entropy,
mean over the first and the last tenth of its steps).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from hf_replearn.data.speech import HOP, SAMPLING_RATE, phone_spans_to_frames
from hf_replearn.errors import UserError
from hf_replearn.utils.progress import stage

MFCC_WINDOW = 400  # 25 ms at 16 kHz
BASELINES = ("mfcc", "random_init", "supervised")
POOLINGS = {  # (T, D) frames of one utterance -> one vector
    "mean": lambda f: f.mean(0),  # (D,)
    "mean_std": lambda f: np.concatenate([f.mean(0), f.std(0)]),  # (2 D,)
}


@dataclass
class SpeechProbeConfig:
    """How CPC features are probed at the end of ``cpc_speech``."""

    baselines: list[str] = field(default_factory=lambda: ["mfcc", "random_init"])
    """Feature sets compared with CPC: ``mfcc``, ``random_init``, ``supervised`` (the same network trained on the
    labels for ``supervised_steps`` steps first: opt-in here, on in recipes/cpc_speech.yaml)."""
    layer: str = "c"
    """Which CPC output is probed: ``c`` (context, as in the paper) or ``z`` (encoder)."""
    max_train_frames: int = 30000
    """Training frames for the phone probe, a seeded sample (logistic regression cost grows with it)."""
    max_iter: int = 300
    """Iterations of the logistic regression solver."""
    speaker_pooling: str = "mean"
    """How frames become one utterance vector for the speaker probe, the same for every feature set: ``mean``
    (the paper's average over the utterance) or ``mean_std`` (mean and standard deviation per dimension,
    the statistics pooling of x-vectors)."""
    tsne: bool = True
    """Draw a t-SNE picture of the test utterance features coloured by speaker."""
    supervised_steps: int = 1000
    """Training steps of the ``supervised`` baseline (windows as long as CPC's training windows). A step costs
    about as much as a CPC step; 1000 is a budget, not convergence (the loss still falls at 3000 steps)."""
    supervised_batch_size: int = 8
    """Windows per step of the ``supervised`` baseline."""
    supervised_learning_rate: float = 2e-3
    """Peak AdamW learning rate of the ``supervised`` baseline (warm-up, then cosine decay to 0)."""

    def validate(self) -> None:
        unknown = set(self.baselines) - set(BASELINES)
        if unknown:
            raise UserError(f"evaluation.baselines: unknown {sorted(unknown)}; choose from {', '.join(BASELINES)}")
        if "supervised" in self.baselines and min(self.supervised_steps, self.supervised_batch_size) < 1:
            raise UserError("evaluation.supervised_steps and evaluation.supervised_batch_size must be >= 1, got "
                            f"{self.supervised_steps} and {self.supervised_batch_size}")
        if "supervised" in self.baselines and not self.supervised_learning_rate > 0:
            raise UserError(f"evaluation.supervised_learning_rate must be > 0, got {self.supervised_learning_rate}")
        if self.layer not in ("c", "z"):
            raise UserError(f"evaluation.layer must be `c` or `z`, got {self.layer!r}")
        if self.speaker_pooling not in POOLINGS:
            raise UserError(f"evaluation.speaker_pooling must be one of {sorted(POOLINGS)}, got {self.speaker_pooling!r}")


def mfcc(wav: np.ndarray, num_mfcc: int = 13, num_mel: int = 40) -> np.ndarray:
    """(L,) waveform at 16 kHz -> (T, 3 * num_mfcc) MFCC + deltas; frame t covers [160 t, 160 t + 400)."""
    from scipy.fft import dct
    from transformers.audio_utils import mel_filter_bank, spectrogram, window_function

    mel = mel_filter_bank(num_frequency_bins=257, num_mel_filters=num_mel, min_frequency=20.0,
                          max_frequency=SAMPLING_RATE / 2, sampling_rate=SAMPLING_RATE, norm="slaney")
    log_mel = spectrogram(wav.astype(np.float32), window_function(MFCC_WINDOW, "hann"), frame_length=MFCC_WINDOW,
                          hop_length=HOP, fft_length=512, power=2.0, center=False, mel_filters=mel,
                          log_mel="log")  # (num_mel, T)
    coeffs = dct(log_mel, type=2, axis=0, norm="ortho")[:num_mfcc].T  # (T, num_mfcc)
    delta = np.gradient(coeffs, axis=0) if len(coeffs) > 1 else np.zeros_like(coeffs)
    delta2 = np.gradient(delta, axis=0) if len(coeffs) > 1 else np.zeros_like(coeffs)
    return np.concatenate([coeffs, delta, delta2], axis=1).astype(np.float32)


@torch.no_grad()
def cpc_features(model, wav: np.ndarray, layer: str = "c") -> np.ndarray:
    """Frozen CPC features of one clip, (L,) -> (T, D)."""
    model.eval()
    x = torch.from_numpy(np.asarray(wav, dtype=np.float32)).unsqueeze(0).to(next(model.parameters()).device)
    out = model(x, return_loss=False)
    return getattr(out, layer)[0].float().cpu().numpy()


def frame_geometry(config) -> tuple[int, int]:
    """(hop, centre offset) in samples of a wav2vec2-style conv feature encoder (``conv_kernel``, ``conv_stride``).

    Frame t sees samples [hop t, hop t + r) with r = 1 + sum_i (k_i - 1) prod_{j<i} s_j, so its centre is r // 2
    (wav2vec 2.0's encoder: hop 320 = 20 ms, r = 400 = 25 ms at 16 kHz).
    """
    hop, field_ = 1, 1
    for kernel, stride in zip(config.conv_kernel, config.conv_stride):
        field_ += (kernel - 1) * hop
        hop *= stride
    return hop, field_ // 2


def whisper_frame_geometry(feature_extractor) -> tuple[int, int]:
    """(hop, centre offset) in samples of Whisper's encoder frames: log-mel frames every ``hop_length`` samples
    (centred STFT windows: mel frame m is centred on sample m x hop_length), then a stride-2 convolution, so
    encoder frame t is centred on sample 2 x hop_length x t (320 = 20 ms at 16 kHz, as wav2vec 2.0's)."""
    return 2 * feature_extractor.hop_length, 0


@torch.no_grad()
def transformers_audio_features(model, feature_extractor, wav: np.ndarray, layer: int = -1,
                                hop: int | None = None) -> np.ndarray:  # fmt: skip
    """Frozen features of one clip from a transformers audio model: (L,) -> (T, D), one hidden state.

    wav2vec2-style models read the waveform (``input_values``); Whisper's encoder reads log-mel ``input_features``
    padded to its 30-second window, of which the frames that cover the clip (``ceil(L / hop)``) are kept."""
    model.eval()
    wav = np.asarray(wav, dtype=np.float32)
    key = model.main_input_name
    window = getattr(feature_extractor, "n_samples", None)
    if key == "input_features" and window and len(wav) > window:
        raise UserError(f"a clip of {len(wav) / SAMPLING_RATE:.1f} s is longer than {type(model).__name__}'s "
                        f"{window / SAMPLING_RATE:.0f}-second window; cut the clips to at most that length")
    inputs = feature_extractor(wav, sampling_rate=SAMPLING_RATE, return_tensors="pt")
    out = model(inputs[key].to(next(model.parameters()).device), output_hidden_states=True)
    hidden = out.hidden_states[layer][0]
    if key == "input_features":
        hidden = hidden[: -(-len(wav) // hop)]
    return hidden.float().cpu().numpy()


def utterance_features(extract, dataset, offset: int, hop: int = HOP):
    """Per utterance: (T, D) features and their (T,) phone labels (none for a corpus without phone labels);
    ``offset`` is the sample at a frame's centre, ``hop`` the samples between frames."""
    feats, labels = [], []
    for row in dataset.with_format("numpy"):
        f = extract(row["audio"])
        if "phone_ids" not in row:  # a corpus without phone labels (a user's audiofolder): the speaker probe only
            feats.append(f)
            continue
        y = phone_spans_to_frames(row["phone_ids"], row["phone_starts"], len(row["audio"]), hop, offset)
        n = min(len(f), len(y))
        feats.append(f[:n])
        labels.append(y[:n])
    return feats, labels


def _logistic_accuracy(train_x, train_y, test_x, test_y, max_iter: int) -> float:
    """The probe's logistic regression (``probe.linear_probe_accuracy``) on features standardised on the training rows."""
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    from hf_replearn.evaluation.probe import linear_probe_accuracy

    with threadpool_limits(1):  # multi-threaded BLAS spin-waits on a busy machine
        scaler = StandardScaler().fit(train_x)
        return linear_probe_accuracy(scaler.transform(train_x), train_y, scaler.transform(test_x), test_y, max_iter=max_iter)


def probe_feature_set(name: str, extract, offset: int, dataset, cfg: SpeechProbeConfig, seed: int = 0, hop: int = HOP):
    """Phone (per frame; when the corpus has phone labels) and speaker (per utterance, frames pooled by
    ``cfg.speaker_pooling``) linear probes."""
    (tr_f, tr_y), (te_f, te_y) = (utterance_features(extract, dataset[s], offset, hop) for s in ("train", "test"))
    results = {}
    if tr_y:  # phone labels
        train_x, train_y = np.concatenate(tr_f), np.concatenate(tr_y)
        if len(train_x) > cfg.max_train_frames:
            keep = np.random.default_rng(seed).choice(len(train_x), cfg.max_train_frames, replace=False)
            train_x, train_y = train_x[keep], train_y[keep]
        results[f"linear_probe/{name}/phone"] = _logistic_accuracy(train_x, train_y, np.concatenate(te_f),
                                                                    np.concatenate(te_y), cfg.max_iter)  # fmt: skip
    train_s, test_s = np.asarray(dataset["train"]["speaker"]), np.asarray(dataset["test"]["speaker"])
    # a few hundred utterances: cheap, so every pooling is scored; ``speaker`` is the one the recipe names
    for pooling, pool in POOLINGS.items():
        train_u, test_u = np.stack([pool(f) for f in tr_f]), np.stack([pool(f) for f in te_f])
        accuracy = _logistic_accuracy(train_u, train_s, test_u, test_s, cfg.max_iter)
        if pooling == cfg.speaker_pooling:
            results[f"linear_probe/{name}/speaker"], headline_u = accuracy, test_u
        else:
            results[f"linear_probe/{name}/speaker_{pooling}"] = accuracy
    return results, headline_u


def evaluate_speech_representations(model, dataset, cfg: SpeechProbeConfig, random_init_model=None, plot_path=None,
                                    crop_samples: int = 20480, seed: int = 0):
    """Probe CPC and the baselines on a speech DatasetDict (train/test with audio, speaker, phone spans).

    ``crop_samples`` and ``seed``: the window length and seed of the ``supervised`` baseline's training (pass
    the CPC run's, so both networks see windows of the same length).
    """
    cfg.validate()
    offset = model.config.receptive_field // 2
    feature_sets = {"cpc": (lambda w: cpc_features(model, w, cfg.layer), offset)}
    if "random_init" in cfg.baselines and random_init_model is not None:
        feature_sets["random_init"] = (lambda w: cpc_features(random_init_model, w, cfg.layer), offset)
    if "mfcc" in cfg.baselines:
        feature_sets["mfcc"] = (mfcc, MFCC_WINDOW // 2)
    results = {}
    if "supervised" in cfg.baselines:
        from hf_replearn.evaluation.supervised_speech import train_supervised_cpc

        start = time.perf_counter()
        with stage("probe", f"training the supervised baseline, {cfg.supervised_steps} steps"):
            supervised, losses = train_supervised_cpc(model, dataset["train"], cfg.supervised_steps, crop_samples,
                                                      cfg.supervised_batch_size, cfg.supervised_learning_rate, seed)
        tenth = max(1, len(losses) // 10)
        results.update({"eval/supervised_train_s": time.perf_counter() - start,
                        "eval/supervised_first_loss": float(np.mean(losses[:tenth])),
                        "eval/supervised_last_loss": float(np.mean(losses[-tenth:]))})
        feature_sets["supervised"] = (lambda w: cpc_features(supervised, w, cfg.layer), offset)
    results.update(probe_speech_feature_sets(feature_sets, dataset, cfg, plot_path))
    return results


def probe_speech_feature_sets(feature_sets: dict, dataset, cfg: SpeechProbeConfig, plot_path=None) -> dict[str, float]:
    """Phone and speaker probes of every {name: (extract, frame offset[, hop])}; t-SNE of the first set's utterances."""
    results, utterances = {}, {}
    probes = "phone and speaker probes" if "phone_ids" in dataset["train"].column_names else "speaker (class) probes"
    for name, (extract, frame_offset, *hop) in feature_sets.items():
        with stage("probe", f"{name} features, {probes}"):
            scores, utterances[name] = probe_feature_set(name, extract, frame_offset, dataset, cfg, hop=hop[0] if hop else HOP)
        results.update(scores)
    if cfg.tsne and plot_path is not None:
        from hf_replearn.evaluation.plots import tsne_plot

        speakers = np.asarray(dataset["test"]["speaker"])
        names = dataset["test"].features["speaker"].names if hasattr(dataset["test"].features["speaker"], "names") else None
        tsne_plot(next(iter(utterances.values())), speakers, plot_path, class_names=names)
    return results


def _speech_table_layout(results: dict[str, float]) -> tuple[list[str], list[str]]:
    """(rows: feature sets, columns: phone when probed, speaker, then the other speaker poolings)."""
    names = [k.split("/")[1] for k in results if k.startswith("linear_probe/") and k.endswith("/speaker")]
    phones = ["phone"] if any(k.startswith("linear_probe/") and k.endswith("/phone") for k in results) else []
    return names, [*phones, "speaker", *sorted({k.split("/")[2] for k in results
                                                 if k.startswith("linear_probe/") and "/speaker_" in k})]


def shown_in_speech_table(results: dict[str, float]) -> set[str]:
    """The result keys :func:`speech_probe_table` shows."""
    names, columns = _speech_table_layout(results)
    return {f"linear_probe/{n}/{c}" for n in names for c in columns} & set(results)


def speech_probe_table(results: dict[str, float]) -> str:
    """Markdown: one row per feature set, phone (when probed) and speaker accuracy (then the other speaker poolings)."""
    names, columns = _speech_table_layout(results)
    lines = ["| features | " + " | ".join(c.replace("speaker_", "speaker, pooling ") for c in columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    for n in names:
        lines.append(f"| {n} | " + " | ".join(f"{results.get(f'linear_probe/{n}/{c}', float('nan')):.3f}" for c in columns) + " |")
    return "\n".join(lines)
