"""``hf-replearn eval probe`` on speech: the cpc recipe's phone and speaker probes for any audio model.

Models: this toolkit's CPC checkpoints (the context c_t) and transformers audio models (wav2vec2, HuBERT, WavLM,
Whisper's encoder through ``AutoModel`` + ``AutoFeatureExtractor``; one hidden state, ``--layer``, default the last). Each
frame is labelled with the phone at the centre of the samples it sees, from the model's own hop and
receptive field (``speech_probes.frame_geometry``), so every row is scored against the same alignment.
Baselines: ``mfcc`` (13 MFCCs + deltas + delta-deltas) and ``random_init`` (the first model's architecture,
fresh weights). Data: ``espeak`` (the synthesized corpus of the cpc recipe) or a ``save_to_disk`` folder with
train / test splits holding ``audio``, ``speaker``, ``phone_ids`` and ``phone_starts``, or an audiofolder.
Every model's frames go through the feature cache (``features.clip_features``), as text and image features do.
"""

from __future__ import annotations

from pathlib import Path

from hf_replearn.errors import UserError
from hf_replearn.evaluation.probe import PROBE_SYNTAX, default_output_dir


def extractor(pm, layer):
    """(extract(wav) -> (T, D), frame centre offset, hop) for one loaded audio ProbeModel."""
    from hf_replearn.data.speech import HOP
    from hf_replearn.evaluation.speech_probes import (cpc_features, frame_geometry, transformers_audio_features,
                                                      whisper_frame_geometry)  # fmt: skip

    if pm.kind == "cpc":
        return (lambda wav: cpc_features(pm.model, wav, "c")), pm.model.config.receptive_field // 2, HOP
    index = -1 if layer is None else int(layer)
    if pm.model.config.model_type == "whisper":
        hop, offset = whisper_frame_geometry(pm.processor)
        return (lambda wav: transformers_audio_features(pm.model, pm.processor, wav, index, hop)), offset, hop
    if not hasattr(pm.model.config, "conv_stride"):
        raise UserError(f"--model {pm.source}: a {type(pm.model).__name__} has no conv feature encoder (conv_stride), "
                        "so its frames cannot be aligned with phone labels; the speech probes read wav2vec2-style "
                        "models (wav2vec2, HuBERT, WavLM, data2vec-audio) and Whisper's encoder")
    hop, offset = frame_geometry(pm.model.config)
    return (lambda wav: transformers_audio_features(pm.model, pm.processor, wav, index)), offset, hop


def check_clip_lengths(models, clips, dataset: str) -> None:
    """A clip longer than a model's input window (Whisper's 30 seconds): a UserError before any work."""
    from hf_replearn.data.speech import SAMPLING_RATE

    longest = max((len(c) for c in clips), default=0)
    for pm in models:
        window = getattr(pm.processor, "n_samples", None) if pm.kind == "transformers" else None
        if window and longest > window:
            raise UserError(f"--dataset {dataset}: its longest clip is {longest / SAMPLING_RATE:.1f} s, longer than the "
                            f"{window / SAMPLING_RATE:.0f}-second window of {pm.source} ({type(pm.model).__name__}); "
                            "cut the clips to at most that length")


def cached(pm, layer, extract, splits: dict, readout, dataset_id: str):
    """``extract`` served from the feature cache: on first use, each split's frames are read (or computed once) as
    one entry; the probes call extract clip by clip, so a clip's frames are then looked up by its samples' digest."""
    from hf_replearn.evaluation.features import clip_features, inputs_digest

    if not readout.cache:
        return extract
    frames = {"kind": pm.kind, "layer": None if pm.kind == "cpc" else -1 if layer is None else int(layer)}
    table = {}

    def lookup(wav):
        if not table:  # inside the probe's progress stage, as an uncached extract would run
            for split, clips in splits.items():
                for clip, f in zip(clips, clip_features(pm, extract, clips, readout, f"{dataset_id}/{split}", frames)):
                    table[inputs_digest([clip])] = f
        return table[inputs_digest([wav])]

    return lookup


def model_extractors(req, models, baselines, splits: dict) -> dict:
    """{name: (extract, frame offset, hop)} of every model and of the first one's random init, through the cache."""
    sets = {pm.name: pm for pm in models}
    if "random_init" in baselines:
        sets["random_init"] = models[0].random_init(seed=0)
    out = {}
    for name, pm in sets.items():
        extract, offset, hop = extractor(pm, req.layer)
        out[name] = (cached(pm, req.layer, extract, splits, req.readout, req.dataset), offset, hop)
    return out


def run_speech_probe(req, models, baselines):
    """Phone and speaker probes of every model and baseline; writes results.json and probe.md."""
    from hf_replearn.data.speech import SpeechDataConfig, load_speech_dataset
    from hf_replearn.evaluation.speech_probes import MFCC_WINDOW, SpeechProbeConfig, mfcc, probe_speech_feature_sets, speech_probe_table
    from hf_replearn.utils.files import prepare_output_dir

    if req.layer == "all":
        raise UserError("--layer all: the speech probes read one hidden state; give an index (default: the last)")
    for pm in models:
        extractor(pm, req.layer)  # a model the speech probes cannot read: UserError before any work
    if Path(req.dataset).is_dir() and next(Path(req.dataset).rglob("*.wav"), None) is not None:
        return run_clip_probe(req, models, baselines)
    min_samples = max((pm.model.config.receptive_field for pm in models if pm.kind == "cpc"), default=MFCC_WINDOW)
    dataset = load_speech_dataset(SpeechDataConfig(name=req.dataset), req.dataset_limit, seed=0, min_samples=min_samples)
    missing = [c for c in ("phone_ids", "phone_starts") if c not in dataset["train"].column_names]
    if missing:
        raise UserError(f"--dataset {req.dataset}: no {', '.join(missing)} column(s) (found {', '.join(dataset['train'].column_names)}); "
                        "the phone probe needs phone_ids and phone_starts (start sample at 16 kHz)")
    clips = {s: [row["audio"] for row in dataset[s].with_format("numpy")] for s in ("train", "test")}
    check_clip_lengths(models, clips["train"] + clips["test"], req.dataset)
    default_out = default_output_dir(req.models, req.dataset)
    out = prepare_output_dir(Path(req.output_dir or default_out), overwrite=req.overwrite, syntax=PROBE_SYNTAX)
    splits = clips if req.readout.cache else {}
    feature_sets = model_extractors(req, models, baselines, splits)
    if "mfcc" in baselines:
        feature_sets["mfcc"] = (mfcc, MFCC_WINDOW // 2)
    cfg = SpeechProbeConfig(baselines=[], tsne=req.probe.tsne, max_iter=req.probe.max_iter)
    results = probe_speech_feature_sets(feature_sets, dataset, cfg, out / "tsne_speakers.png" if cfg.tsne else None)
    counts = f"{dataset['train'].num_rows} train / {dataset['test'].num_rows} test utterances"
    return write_section(out, results, models, f"Phone and speaker probes on {req.dataset} ({counts})",
                         "Test accuracy of a logistic-regression probe on frozen features: phone per frame, speaker per "
                         "utterance (frames averaged).", speech_probe_table(results))


def write_section(out: Path, results: dict, models, heading: str, what: str, table: str):
    """results.json and probe.md (heading, what was measured, the table, one line per model); returns run_probe's triple."""
    from hf_replearn.utils.files import atomic_write_text, write_results

    section = "\n".join([f"## {heading}", "", what, "", table, ""] +
                        [f"- `{pm.name}`: {pm.shown_source} ({pm.shown_class})" for pm in models])  # fmt: skip
    write_results(out, results)
    atomic_write_text(out / "probe.md", section + "\n")
    return results, section, out


def run_clip_probe(req, models, baselines):
    """An audiofolder of labelled clips: each clip's frames averaged into one vector, then the few-label probes
    of every other modality (``probe.probe_feature_sets``), against mean MFCCs and the random-init model."""
    import numpy as np

    from hf_replearn.evaluation.probe import probe_feature_sets, probe_table
    from hf_replearn.evaluation.probe_data import load_audio_folder
    from hf_replearn.evaluation.speech_probes import mfcc
    from hf_replearn.utils.files import prepare_output_dir

    data = load_audio_folder(req.dataset, req.dataset_limit)
    data.check_budgets(req.probe.labels_per_class)
    check_clip_lengths(models, list(data.train_x) + list(data.test_x), req.dataset)
    default_out = default_output_dir(req.models, req.dataset)
    out = prepare_output_dir(Path(req.output_dir or default_out), overwrite=req.overwrite, syntax=PROBE_SYNTAX)
    feature_sets = model_extractors(req, models, baselines, {"train": data.train_x, "test": data.test_x})
    if "mfcc" in baselines:
        feature_sets["mfcc"] = (mfcc, 0, 0)

    def clips(extract, wavs):
        return np.stack([extract(w).mean(axis=0) for w in wavs])  # (N, D): frames averaged per clip

    features = {name: (clips(extract, data.train_x), clips(extract, data.test_x)) for name, (extract, *_) in feature_sets.items()}
    results = probe_feature_sets(features, data.train_y, data.test_y, req.probe)
    counts = f"{len(data.train_y)} train / {len(data.test_y)} test clips, {len(data.class_names)} classes"
    return write_section(out, results, models, f"Linear probe on {req.dataset} ({counts})",
                         "Test accuracy of a logistic-regression probe on each clip's mean frame vector (C = 1, and C chosen "
                         "by cross-validation on the labelled subset).", probe_table(results))
