"""The ``supervised`` baseline of the speech probes: the CPC network trained on the phone and speaker labels."""

import datasets
import numpy as np
import pytest
import torch

from hf_replearn.data.speech import HOP, WaveformCropCollator, phone_spans_to_frames
from hf_replearn.errors import UserError
from hf_replearn.evaluation.speech_probes import SpeechProbeConfig, evaluate_speech_representations, speech_probe_table
from hf_replearn.evaluation.supervised_speech import labelled_windows, train_supervised_cpc
from hf_replearn.models.cpc import CPCConfig, CPCModel

PHONE_HZ, SPEAKER_HZ = (400.0, 1300.0, 3100.0), (150.0, 5200.0)


def tone_corpus(seed=0):
    """Two speakers, clips of 3 phones: each phone is a tone of its own pitch, each speaker adds a hum of its own."""
    rng = np.random.default_rng(seed)
    rows = {"audio": [], "speaker": [], "phone_ids": [], "phone_starts": []}
    t = np.arange(3200) / 16000
    for i in range(12):
        phones = [int(p) for p in rng.permutation(3)]
        starts = [0, int(rng.integers(800, 1200)), int(rng.integers(1900, 2300))]
        ends = [*starts[1:], len(t)]
        wav = 0.3 * np.sin(2 * np.pi * SPEAKER_HZ[i % 2] * t) + 0.05 * rng.normal(size=len(t))
        for p, a, b in zip(phones, starts, ends):
            wav[a:b] += np.sin(2 * np.pi * PHONE_HZ[p] * t[a:b])
        rows["audio"].append(wav.astype(np.float32))
        rows["speaker"].append(i % 2)
        rows["phone_ids"].append(phones)
        rows["phone_starts"].append(starts)
    ds = datasets.Dataset.from_dict(rows)
    return datasets.DatasetDict({"train": ds.select(range(8)), "test": ds.select(range(8, 12))})


def tiny_cpc():
    torch.manual_seed(0)
    return CPCModel(CPCConfig(hidden_size=16, context_size=16, num_prediction_steps=3, num_negatives=4))


def test_windows_are_labelled_at_the_centre_of_each_frame():
    rows = list(tone_corpus()["train"].with_format("numpy"))[:4]
    model = tiny_cpc()
    rf = model.config.receptive_field
    x, phones, speakers = labelled_windows(WaveformCropCollator(1600, seed=3), rows, rf, model.num_frames)
    starts = WaveformCropCollator(1600, seed=3).crop(rows)[1]  # the same draws
    assert x.shape == (4, 1600) and phones.shape == (4, model.num_frames(1600)) == (4, 8)
    assert speakers.tolist() == [int(r["speaker"]) for r in rows]
    for r, s, wav, labels in zip(rows, starts, x.numpy(), phones.numpy()):
        assert np.array_equal(wav, r["audio"][s : s + 1600])
        centres = s + rf // 2 + HOP * np.arange(8)  # frame t sees [s + 160 t, s + 160 t + rf)
        expected = r["phone_ids"][np.searchsorted(r["phone_starts"], centres, side="right") - 1]
        assert np.array_equal(labels, expected)
        full = phone_spans_to_frames(r["phone_ids"], r["phone_starts"], len(r["audio"]), HOP, rf // 2)
        if s % HOP == 0:  # the probes' labels of the whole clip, shifted
            assert np.array_equal(labels, full[s // HOP : s // HOP + 8])


def test_training_lowers_the_loss_and_is_seeded():
    train, model = tone_corpus()["train"], tiny_cpc()
    rng_before = torch.get_rng_state()
    net, losses = train_supervised_cpc(model, train, steps=40, crop_samples=1600, batch_size=4, learning_rate=1e-2,
                                       seed=0)
    assert torch.equal(torch.get_rng_state(), rng_before)  # the caller's RNG is untouched
    assert len(losses) == 40 and not net.training and net is not model
    # phone + speaker cross-entropy: ln 3 + ln 2 = 1.79 at chance
    assert 1.4 < np.mean(losses[:5]) < 2.2 and np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), tiny_cpc().state_dict().values()))
    again, losses_again = train_supervised_cpc(model, train, 40, 1600, 4, 1e-2, seed=0)
    assert losses_again == losses
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))
    assert train_supervised_cpc(model, train, 5, 1600, 4, 1e-2, seed=1)[1] != losses[:5]


def test_supervised_row_of_the_probe_table():
    corpus = tone_corpus()
    cfg = SpeechProbeConfig(baselines=["supervised"], supervised_steps=30, supervised_batch_size=4,
                            supervised_learning_rate=1e-2, max_iter=100, tsne=False)
    results = evaluate_speech_representations(tiny_cpc(), corpus, cfg, crop_samples=1600)
    for target in ("phone", "speaker"):
        assert 0 <= results[f"linear_probe/supervised/{target}"] <= 1
        assert 0 <= results[f"linear_probe/cpc/{target}"] <= 1
    assert not any("mfcc" in k or "random_init" in k for k in results)
    assert results["eval/supervised_train_s"] > 0
    assert results["eval/supervised_last_loss"] < results["eval/supervised_first_loss"]
    assert results["linear_probe/supervised/phone"] > 0.6  # three tones: trained on them, the features separate them
    assert "| supervised |" in speech_probe_table(results)


def test_validate_accepts_supervised_and_names_every_baseline():
    SpeechProbeConfig(baselines=["mfcc", "random_init", "supervised"]).validate()
    with pytest.raises(UserError, match="unknown \\['wav2vec'\\]; choose from mfcc, random_init, supervised"):
        SpeechProbeConfig(baselines=["supervised", "wav2vec"]).validate()
    with pytest.raises(UserError, match="supervised_steps"):
        SpeechProbeConfig(baselines=["supervised"], supervised_steps=0).validate()
    SpeechProbeConfig(baselines=["mfcc"], supervised_steps=0).validate()  # not trained: not checked
