import datasets
import numpy as np
import pytest

from hf_replearn.data.speech import HOP, phone_spans_to_frames
from hf_replearn.evaluation.speech_probes import SpeechProbeConfig, mfcc, probe_feature_set, speech_probe_table
from hf_replearn.errors import UserError


def test_mfcc_has_39_dims_and_one_frame_per_10ms():
    t = np.arange(16000) / 16000
    feats = mfcc(np.sin(2 * np.pi * 300 * t))
    assert feats.shape == ((16000 - 400) // 160 + 1, 39) == (98, 39)
    assert np.abs(feats[5:-5, 13:]).max() < 1e-3  # a steady tone: deltas vanish


def tiny_corpus(seed=0):
    """Two speakers, clips of 3 phones each; labels only, the audio is noise."""
    rng = np.random.default_rng(seed)
    rows = {"audio": [], "speaker": [], "phone_ids": [], "phone_starts": []}
    for i in range(12):
        rows["audio"].append(rng.normal(size=3200).astype(np.float32))
        rows["speaker"].append(i % 2)
        rows["phone_ids"].append(list(rng.permutation(3)))
        rows["phone_starts"].append([0, 1000, 2100])
    ds = datasets.Dataset.from_dict(rows)
    return datasets.DatasetDict({"train": ds.select(range(8)), "test": ds.select(range(8, 12))})


def test_probes_are_perfect_on_features_that_encode_the_labels():
    corpus = tiny_corpus()
    lookup = {}
    for split in corpus.values():
        for row in split:
            lookup[float(row["audio"][0])] = row

    def oracle(wav):  # one-hot phone at each frame centre + one-hot speaker
        row = lookup[float(wav[0])]
        phones = phone_spans_to_frames(row["phone_ids"], row["phone_starts"], len(wav), HOP, HOP // 2)
        return np.concatenate([np.eye(3)[phones], np.tile(np.eye(2)[row["speaker"]], (len(phones), 1))], axis=1)

    results, utterances = probe_feature_set("oracle", oracle, HOP // 2, corpus, SpeechProbeConfig(max_iter=200))
    assert results == {"linear_probe/oracle/phone": 1.0, "linear_probe/oracle/speaker": 1.0,
                       "linear_probe/oracle/speaker_mean_std": 1.0}
    assert utterances.shape == (4, 5)
    table = speech_probe_table(results)
    assert "| features | phone | speaker | speaker, pooling mean_std |" in table
    assert "| oracle | 1.000 | 1.000 | 1.000 |" in table


def test_unknown_baseline_is_a_user_error():
    with pytest.raises(UserError, match="mfcc, random_init"):
        SpeechProbeConfig(baselines=["wav2vec"]).validate()


def test_mean_std_pooling_separates_speakers_that_differ_only_in_spread():
    corpus = tiny_corpus()
    spread = {float(row["audio"][0]): 1.0 + 2.0 * row["speaker"] for split in corpus.values() for row in split}

    def features(wav):  # 20 frames of +s, -s, ...: every utterance has mean 0, speaker 1 has 3x the spread
        signs = np.where(np.arange(len(wav) // HOP) % 2 == 0, 1.0, -1.0)
        return (spread[float(wav[0])] * signs)[:, None].repeat(2, axis=1)

    results, utterances = probe_feature_set("toy", features, HOP // 2, corpus,
                                            SpeechProbeConfig(max_iter=200, speaker_pooling="mean_std"))
    assert results["linear_probe/toy/speaker"] == 1.0 and utterances.shape == (4, 4)  # (mean, std) x 2 dims
    assert results["linear_probe/toy/speaker_mean"] == 0.5  # the means are all 0: one class for every test clip


def test_unknown_speaker_pooling_is_a_user_error():
    with pytest.raises(UserError, match="speaker_pooling must be one of"):
        SpeechProbeConfig(speaker_pooling="max").validate()
