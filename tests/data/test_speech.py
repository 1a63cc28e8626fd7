
import numpy as np
import pytest

from hf_replearn.data import speech
from hf_replearn.errors import UserError

pytest.importorskip("scipy")
needs_espeak = pytest.mark.skipif(
    __import__("ctypes.util").util.find_library("espeak-ng") is None, reason="apt-get install espeak-ng"
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return speech.build_speech_corpus(tmp_path_factory.mktemp("speech"), num_speakers=3, train_per_speaker=2,
                                      test_per_speaker=1, seed=0)


@needs_espeak
def test_phone_spans_cover_the_audio_in_order(corpus):
    names = corpus["train"].features["phone_ids"].feature.names
    for row in corpus["train"]:
        starts, n = np.asarray(row["phone_starts"]), len(row["audio"])
        assert starts[0] == 0 and np.all(np.diff(starts) > 0) and starts[-1] < n  # spans tile [0, n)
        assert len(row["phone_ids"]) == len(starts)
        assert len(row["frame_phones"]) == n // speech.HOP
        # frame labels read the spans in order: each phone's frames appear as one block, in span order
        blocks = [p for i, p in enumerate(row["frame_phones"]) if i == 0 or p != row["frame_phones"][i - 1]]
        it = iter(row["phone_ids"])
        assert all(any(b == p for p in it) for b in blocks)
        assert 0.5 < n / speech.SAMPLING_RATE < 15 and np.abs(row["audio"]).max() <= 1.1
    assert len(set(names)) > 20  # a real phone inventory, not one symbol


@needs_espeak
def test_splits_are_seeded_and_hold_unseen_sentences(corpus, tmp_path):
    train, test = corpus["train"], corpus["test"]
    assert (train.num_rows, test.num_rows) == (6, 3)
    assert set(train["speaker"]) == set(test["speaker"]) == {0, 1, 2}
    assert not set(train["text"]) & set(test["text"])
    again = speech.build_speech_corpus(tmp_path, num_speakers=3, train_per_speaker=2, test_per_speaker=1, seed=0)
    assert again["test"]["text"] == test["text"]
    assert np.array_equal(again["test"][0]["audio"], test[0]["audio"])


@needs_espeak
def test_every_accent_and_variant_is_a_voice_espeak_accepts():
    espeak = speech.Espeak.get()
    voices = speech.speaker_voices(len(speech.ACCENTS) * len(speech.VARIANTS), seed=0)
    assert len(voices) == 192
    assert [v for v in voices if espeak.lib.espeak_SetVoiceByName(v.encode()) != 0] == []


def test_phone_spans_to_frames_picks_the_phone_at_each_frame_centre():
    labels = speech.phone_spans_to_frames([7, 3, 9], [0, 100, 250], num_samples=480, hop=160, offset=80)
    assert labels.tolist() == [7, 3, 9]  # centres 80, 240, 400 fall in spans [0,100), [100,250), [250,480)


def test_resample_keeps_a_tone_and_the_duration():
    t = np.arange(22050) / 22050
    out = speech.resample(np.sin(2 * np.pi * 440 * t), 22050)
    assert len(out) == 16000
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) == 440  # 1 s clip: bin index = Hz


def test_prepare_waveform_resamples_and_refuses_stereo_and_short_clips():
    assert len(speech.prepare_waveform(np.zeros(8000), 8000)) == 16000
    with pytest.raises(UserError, match="channels"):
        speech.prepare_waveform(np.zeros((2, 16000)), 16000, where="row 3")
    with pytest.raises(UserError, match="receptive field of 465"):
        speech.prepare_waveform(np.zeros(300), 16000, min_samples=465)


def test_missing_espeak_names_the_package(monkeypatch):
    def no_library(*args, **kwargs):
        raise OSError("not found")

    monkeypatch.setattr(speech.Espeak, "_instance", None)
    monkeypatch.setattr(speech.ctypes, "CDLL", no_library)
    with pytest.raises(UserError, match="apt-get install espeak-ng"):
        speech.Espeak.get()


def save_user_corpus(path, audio, sampling_rate=8000):
    import datasets

    rows = {"audio": [{"array": a.tolist(), "sampling_rate": sampling_rate} for a in audio], "speaker": list(range(len(audio)))}
    ds = datasets.Dataset.from_dict(rows)
    datasets.DatasetDict({"train": ds, "test": ds}).save_to_disk(str(path))
    return str(path)


def test_user_dataset_is_resampled_to_16khz(tmp_path):
    path = save_user_corpus(tmp_path / "mine", [np.zeros(8000, np.float32), np.ones(4000, np.float32)])
    corpus = speech.load_speech_dataset(speech.SpeechDataConfig(name=path), min_samples=465)
    assert [len(a) for a in corpus["train"]["audio"]] == [16000, 8000]


def test_user_dataset_with_stereo_or_short_clips_names_the_row(tmp_path):
    path = save_user_corpus(tmp_path / "stereo", [np.zeros((2, 8000), np.float32)] * 2)
    with pytest.raises(UserError, match=r"\[train\] row 0: .*2 channels"):
        speech.load_speech_dataset(speech.SpeechDataConfig(name=path))
    path = save_user_corpus(tmp_path / "short", [np.zeros(100, np.float32)], sampling_rate=16000)
    with pytest.raises(UserError, match="shorter than the encoder's receptive field of 465"):
        speech.load_speech_dataset(speech.SpeechDataConfig(name=path), min_samples=465)
    with pytest.raises(UserError, match=r"neither an audiofolder .* class folders of \.wav clips"):
        speech.load_speech_dataset(speech.SpeechDataConfig(name=str(tmp_path / "nowhere")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"neither an audiofolder \(no DIR/<class>/\*\.wav clips\)"):
        speech.load_speech_dataset(speech.SpeechDataConfig(name=str(tmp_path / "empty")))


def test_a_limit_synthesizes_only_the_clips_it_needs(monkeypatch):
    """dataset_limit=64 over 24 speakers: 3 clips of each per split (72 >= 64), not the recipe's 16 + 4."""
    import datasets

    asked = []

    def fake_corpus(cache_dir, num_speakers, train_per_speaker, test_per_speaker, seed):
        asked.append((num_speakers, train_per_speaker, test_per_speaker))
        rows = {"audio": [[0.0]] * 100, "speaker": [i % num_speakers for i in range(100)]}
        return datasets.DatasetDict({s: datasets.Dataset.from_dict(rows) for s in ("train", "test")})

    monkeypatch.setattr(speech, "build_speech_corpus", fake_corpus)
    corpus = speech.load_speech_dataset(speech.SpeechDataConfig(), limit=64)
    assert asked == [(24, 3, 3)] and corpus["train"].num_rows == corpus["test"].num_rows == 64
    speech.load_speech_dataset(speech.SpeechDataConfig(test_per_speaker=2), limit=1000)
    speech.load_speech_dataset(speech.SpeechDataConfig())
    assert asked[1:] == [(24, 16, 2), (24, 16, 4)]
