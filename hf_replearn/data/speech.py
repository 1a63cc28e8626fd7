"""Speech data: a multi-speaker corpus synthesized with espeak-ng, with frame-level phone labels.

No speech corpus ships in a package here (DATA.md), so the default corpus is made locally:

- speakers: an English accent x an espeak-ng voice variant (``en-us+m3``, ``en-gb-scotland+f2``, ...);
- sentences: one-line entries of the ``fortunes`` package (a short built-in list when it is missing);
  train and test use disjoint sentences, so the test split holds unseen utterances of seen speakers;
- audio: espeak-ng speaks at 22,050 Hz; every clip is resampled to 16 kHz with a polyphase filter
  (``scipy.signal.resample_poly(x, 320, 441)``, a Kaiser-windowed FIR low-pass at the new Nyquist);
- phones: ``libespeak-ng.so.1`` through ctypes reports a PHONEME event (IPA symbol, sample index) at the
  start of every phone; a phone spans from its event to the next one, the first span (from sample 0) and
  the empty symbols espeak-ng emits at pauses are silence, ``sil``.

The corpus is cached with ``Dataset.save_to_disk`` under a folder named by its parameters, with the raw
float32 waveform in an ``audio`` column (``datasets``' Audio decoder needs torchcodec, absent here).
Columns: ``audio``, ``speaker`` (ClassLabel), ``text``, ``phone_ids`` + ``phone_starts`` (one entry per
phone span, start sample at 16 kHz), ``frame_phones`` (the phone at the centre of each 10 ms frame).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import math
import multiprocessing
import random
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hf_replearn.data.labelled_text import HELD_OUT_FRACTION, check_held_out_split
from hf_replearn.data.paths import system_path
from hf_replearn.errors import UserError
from hf_replearn.utils.progress import stage

SAMPLING_RATE = 16_000
HOP = 160  # 10 ms at 16 kHz: one label (and one CPC frame) per hop
SILENCE = "sil"
# Voice names espeak_SetVoiceByName accepts: British English is `en` (file gmw/en); `en-gb` is refused there.
ACCENTS = ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
# Variant files under espeak-ng-data/voices/!v that change pitch, formants or the synthesis method.
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3",
            "croak", "whisper", "iven", "steph", "grandma", "grandpa", "john", "max", "quincy")
FALLBACK_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.", "She sells sea shells by the sea shore.",
    "A stitch in time saves nine.", "Every cloud has a silver lining.", "Birds of a feather flock together.",
    "The early bird catches the worm.", "Actions speak louder than words.", "Fortune favours the bold.",
    "Better late than never, but never late is better.", "Time flies like an arrow; fruit flies like a banana.",
    "Where there is smoke there is fire.", "A picture is worth a thousand words.",
    "Do not count your chickens before they hatch.", "The pen is mightier than the sword.",
    "When in Rome, do as the Romans do.", "Rome was not built in a day.",
)


# ---------------------------------------------------------------------------------------- espeak-ng


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):  # espeak_EVENT in speak_lib.h
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_EVENT_END_OF_LIST, _EVENT_PHONEME = 0, 7
_AUDIO_OUTPUT_SYNCHRONOUS, _INIT_PHONEME_EVENTS_IPA = 2, 0x3
_POS_CHARACTER, _CHARS_UTF8 = 1, 1


class Espeak:
    """espeak-ng's C library: ``synthesize(text, voice)`` -> (int16 samples at 22,050 Hz, [(phone, start)])."""

    _instance = None

    def __init__(self):
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            self.lib = ctypes.CDLL(name)
        except OSError:
            raise UserError(
                "the speech corpus needs espeak-ng's library libespeak-ng.so.1, which is not installed; "
                "install it with `apt-get install espeak-ng` (or name your own audio dataset in the recipe)"
            ) from None
        self.sampling_rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INIT_PHONEME_EVENTS_IPA)
        if self.sampling_rate <= 0:
            raise UserError("espeak-ng is installed but failed to start; reinstall with `apt-get install --reinstall espeak-ng-data`")
        self._chunks: list[np.ndarray] = []
        self._phones: list[tuple[str, int]] = []
        self._callback = _CALLBACK(self._on_audio)  # kept on self: ctypes must not free it
        self.lib.espeak_SetSynthCallback(self._callback)
        self._libc = ctypes.CDLL(None)

    @classmethod
    def get(cls) -> "Espeak":
        if cls._instance is None:  # espeak-ng holds global state: one instance per process
            cls._instance = cls()
        return cls._instance

    def _on_audio(self, wav, num_samples, events) -> int:
        if wav and num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        i = 0
        while events[i].type != _EVENT_END_OF_LIST:
            if events[i].type == _EVENT_PHONEME:
                symbol = events[i].id.string.decode("utf-8", "replace").replace("ˈ", "").replace("ˌ", "")
                self._phones.append((symbol or SILENCE, events[i].sample))
            i += 1
        return 0  # 0 = keep synthesizing

    def synthesize(self, text: str, voice: str) -> tuple[np.ndarray, list[tuple[str, int]]]:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise UserError(f"espeak-ng has no voice `{voice}`; list them with `espeak-ng --voices=en`")
        self._chunks, self._phones = [], []
        # espeak-ng draws aspiration and breath noise from libc's rand(): seed it, so a corpus is reproducible
        self._libc.srand(zlib.crc32(f"{voice}|{text}".encode()))
        data = text.encode("utf-8")
        self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        wav = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return wav, list(self._phones)


# ------------------------------------------------------------------------------------ audio checks


def resample(wav: np.ndarray, orig_sr: int, target_sr: int = SAMPLING_RATE) -> np.ndarray:
    """Polyphase resampling (scipy.signal.resample_poly: FIR low-pass at the lower Nyquist, then decimate)."""
    if orig_sr == target_sr:
        return wav.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = math.gcd(orig_sr, target_sr)
    return resample_poly(wav.astype(np.float64), target_sr // g, orig_sr // g).astype(np.float32)


def prepare_waveform(wav, sampling_rate: int, min_samples: int = 0, where: str = "audio") -> np.ndarray:
    """A user's clip -> mono float32 at 16 kHz, or a UserError that says what to fix.

    A clip at another rate is resampled (see :func:`resample`); stereo is refused rather than silently
    mixed, and so is a clip shorter than ``min_samples`` (the encoder's receptive field).
    """
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim == 2 and 1 in wav.shape:
        wav = wav.reshape(-1)
    if wav.ndim != 1:
        raise UserError(
            f"{where}: audio has shape {wav.shape}, i.e. {min(wav.shape) if wav.ndim == 2 else '?'} channels; "
            "the speech models and probes take mono clips: mix the channels first (a file: `ffmpeg -i IN -ac 1 "
            "OUT.wav`; an array: its mean over the channel axis) or pick one channel"
        )
    if not sampling_rate or sampling_rate <= 0:
        raise UserError(f"{where}: sampling rate {sampling_rate!r} is not a positive number of Hz")
    wav = resample(wav, int(sampling_rate))
    if len(wav) < min_samples:
        raise UserError(
            f"{where}: clip of {len(wav)} samples ({len(wav) / SAMPLING_RATE * 1000:.1f} ms at 16 kHz) is shorter "
            f"than the encoder's receptive field of {min_samples} samples; drop it or pad it to that length"
        )
    return wav


def phone_spans_to_frames(phone_ids, phone_starts, num_samples: int, hop: int = HOP, offset: int = HOP // 2):
    """Label each frame with the phone at sample ``offset + hop * t`` (the frame centre), t < num_samples // hop."""
    num_frames = num_samples // hop
    centres = offset + hop * np.arange(num_frames)
    idx = np.searchsorted(np.asarray(phone_starts), centres, side="right") - 1
    return np.asarray(phone_ids)[np.clip(idx, 0, None)]


# ------------------------------------------------------------------------------------------- corpus


def fortune_sentences(limit: int, seed: int, min_chars: int = 25, max_chars: int = 110) -> list[str]:
    """Distinct one-line fortune entries (plain ASCII, no attribution), shuffled with ``seed``."""
    folder = system_path("/usr/share/games/fortunes")
    entries = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if path.suffix or not path.is_file():
            continue
        for entry in path.read_text(encoding="utf-8", errors="ignore").split("\n%\n"):
            entry = entry.strip()
            if "\n" not in entry and min_chars <= len(entry) <= max_chars and entry.isascii() and "--" not in entry:
                entries.append(entry)
    entries = sorted(set(entries)) or list(FALLBACK_SENTENCES)
    random.Random(seed).shuffle(entries)
    return entries[:limit]


def speaker_voices(num_speakers: int, seed: int) -> list[str]:
    """``num_speakers`` distinct accent+variant voices, seeded.

    The variant sets the timbre (pitch, formants, synthesis method), the accent only the pronunciation,
    so variants are spread first: speaker i takes variant i mod 24 and an accent that differs between
    speakers of the same variant. Up to 24 speakers all sound different; 192 pairs in all.
    """
    accents, variants = list(ACCENTS), list(VARIANTS)
    if num_speakers > len(accents) * len(variants):
        raise UserError(f"num_speakers={num_speakers}, but espeak-ng offers {len(accents) * len(variants)} accent x variant voices here")
    rng = random.Random(seed)
    rng.shuffle(accents)
    rng.shuffle(variants)
    # i = r + 24 q: accent (r + q) mod 8 is distinct for the 8 speakers sharing variant r (24 q = 0 mod 8)
    return [f"{accents[(i % len(variants) + i // len(variants)) % len(accents)]}+{variants[i % len(variants)]}"
            for i in range(num_speakers)]


def synthesize_utterance(text: str, voice: str) -> dict:
    espeak = Espeak.get()
    wav, phones = espeak.synthesize(text, voice)
    audio = resample(wav.astype(np.float32) / 32768.0, espeak.sampling_rate)
    scale = SAMPLING_RATE / espeak.sampling_rate
    symbols, starts = [SILENCE], [0]
    for symbol, sample in phones:
        start = min(int(round(sample * scale)), len(audio))
        if start <= starts[-1]:  # zero-length span: the later phone wins
            symbols[-1] = symbol
            continue
        if symbol == symbols[-1]:
            continue
        symbols.append(symbol)
        starts.append(start)
    return {"audio": audio, "text": text, "phones": symbols, "phone_starts": starts}


def _synthesize_all(jobs: list[tuple[str, str, int]]) -> list[dict]:
    return [{**synthesize_utterance(text, voice), "speaker": speaker} for text, voice, speaker in jobs]


def build_speech_corpus(
    cache_dir: str | Path = "~/.cache/hf_replearn/speech",
    num_speakers: int = 24,
    train_per_speaker: int = 16,
    test_per_speaker: int = 4,
    seed: int = 0,
):
    """The espeak-ng corpus as a ``DatasetDict`` (train, test), built once and then loaded from disk."""
    import datasets

    params = dict(num_speakers=num_speakers, train_per_speaker=train_per_speaker,
                  test_per_speaker=test_per_speaker, seed=seed, version=2)
    key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    folder = Path(cache_dir).expanduser() / f"espeak-{key}"
    if (folder / "dataset_dict.json").is_file():
        return datasets.load_from_disk(str(folder))

    voices = speaker_voices(num_speakers, seed)
    sentences = fortune_sentences(10_000, seed)
    num_test_sentences = max(1, len(sentences) // 5)
    pools = {"test": sentences[:num_test_sentences], "train": sentences[num_test_sentences:]}
    rng = random.Random(seed)
    jobs = {"train": [], "test": []}
    for speaker, voice in enumerate(voices):
        for split, count in (("train", train_per_speaker), ("test", test_per_speaker)):
            jobs[split] += [(text, voice, speaker) for text in rng.sample(pools[split], min(count, len(pools[split])))]
    # espeak-ng carries synthesizer state from one clip to the next, so a clip depends on what the process
    # spoke before: synthesize in a fresh child process to make the corpus a function of its parameters only.
    clips = sum(len(j) for j in jobs.values())
    with stage("speech", f"synthesizing {clips} clips with espeak-ng into {folder} (once)"):
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            rows = dict(zip(jobs, pool.map(_synthesize_all, list(jobs.values()))))

    phones = sorted({p for split in rows.values() for row in split for p in row["phones"]})
    phone_index = {p: i for i, p in enumerate(phones)}
    features = datasets.Features({
        "audio": datasets.Sequence(datasets.Value("float32")),
        "speaker": datasets.ClassLabel(names=voices),
        "text": datasets.Value("string"),
        "phone_ids": datasets.Sequence(datasets.ClassLabel(names=phones)),
        "phone_starts": datasets.Sequence(datasets.Value("int32")),
        "frame_phones": datasets.Sequence(datasets.ClassLabel(names=phones)),
    })

    def encode(row):
        ids = [phone_index[p] for p in row["phones"]]
        return {"audio": row["audio"], "speaker": row["speaker"], "text": row["text"], "phone_ids": ids,
                "phone_starts": row["phone_starts"],
                "frame_phones": phone_spans_to_frames(ids, row["phone_starts"], len(row["audio"])).tolist()}

    corpus = datasets.DatasetDict({
        split: datasets.Dataset.from_list([encode(row) for row in split_rows], features=features)
        for split, split_rows in rows.items()
    })
    # A temporary name of its own, so that two runs building the same corpus at once never write into one
    # folder; a crash mid-save never leaves a half corpus under the final name.
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
    try:
        corpus.save_to_disk(str(tmp))
        try:
            tmp.rename(folder)
        except OSError:  # another run finished the same corpus first: keep its copy, drop ours
            if not (folder / "dataset_dict.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return datasets.load_from_disk(str(folder))


# ------------------------------------------------------------------------------------ recipe loader


@dataclass
class SpeechDataConfig:
    """Where the speech comes from: the espeak-ng corpus, or a saved ``datasets`` DatasetDict of your own."""

    name: str = "espeak"
    """``espeak`` (synthesized here); an audiofolder of your own (``DIR/<class>/*.wav``, or ``DIR/train/...`` and
    ``DIR/test/...``; the class folders are the speaker probe's labels, no phone probe); or a folder saved with
    ``DatasetDict.save_to_disk`` holding train/test splits with ``audio`` (float arrays, or Audio dicts with
    ``array`` and ``sampling_rate``), ``speaker``, and for the phone probe ``phone_ids`` + ``phone_starts``
    (start sample at 16 kHz)."""
    num_speakers: int = 24
    train_per_speaker: int = 16
    test_per_speaker: int = 4
    sampling_rate: int = SAMPLING_RATE
    """Rate of the user's ``audio`` arrays when they carry none; clips at another rate are resampled to 16 kHz."""
    cache_dir: str = "~/.cache/hf_replearn/speech"
    crop_samples: int = 20480
    """Training window in samples (the paper's 20,480 = 1.28 s); shorter clips train on their full length."""


def load_speech_dataset(cfg: SpeechDataConfig, limit: int | None = None, seed: int = 0, min_samples: int = 0):
    """A DatasetDict (train, test) of 16 kHz mono clips; ``limit`` keeps a seeded sample of N train clips
    (and at most N test clips) so that every speaker can still appear. The espeak corpus is then synthesized
    with no more clips per speaker than N needs (a smoke run's ``dataset_limit=64``: 3 of each of 24 speakers
    per split, not 16 + 4)."""
    import datasets

    if cfg.name == "espeak":
        def per_speaker(count: int) -> int:
            return count if limit is None else min(count, -(-limit // cfg.num_speakers))  # ceil(limit / speakers)

        corpus = build_speech_corpus(cfg.cache_dir, cfg.num_speakers, per_speaker(cfg.train_per_speaker),
                                     per_speaker(cfg.test_per_speaker), seed)
    elif is_audio_folder(Path(cfg.name).expanduser()):  # class folders of .wav clips: the class is the `speaker`
        (train_x, train_y), (test_x, test_y), classes = read_audio_folder(
            Path(cfg.name).expanduser(), f"data.name={cfg.name}", min_samples=min_samples)  # eval probe's split
        features = datasets.Features({"audio": datasets.Sequence(datasets.Value("float32")),
                                      "speaker": datasets.ClassLabel(names=classes)})  # fmt: skip
        corpus = datasets.DatasetDict({
            split: datasets.Dataset.from_dict({"audio": x, "speaker": y.tolist()}, features=features)
            for split, x, y in (("train", train_x, train_y), ("test", test_x, test_y))})  # fmt: skip
    else:
        path = Path(cfg.name).expanduser()
        try:
            corpus = datasets.load_from_disk(str(path))
        except (FileNotFoundError, ValueError) as err:
            raise UserError(f"data.name={cfg.name!r}: neither an audiofolder (no DIR/<class>/*.wav clips) nor a saved "
                            f"DatasetDict ({err}); use `espeak`, class folders of .wav clips, or a folder written by "
                            "DatasetDict.save_to_disk") from None
        missing = [s for s in ("train", "test") if s not in corpus]
        if missing or "audio" not in corpus["train"].column_names or "speaker" not in corpus["train"].column_names:
            raise UserError(f"data.name={cfg.name!r} needs train and test splits with `audio` and `speaker` columns; "
                            f"found splits {list(corpus)} with columns {corpus[list(corpus)[0]].column_names}")
        corpus = datasets.DatasetDict({s: _normalise_audio(corpus[s], cfg, f"{cfg.name} [{s}]", min_samples)
                                       for s in ("train", "test")})
    if limit is not None:
        corpus = datasets.DatasetDict({s: corpus[s].shuffle(seed=seed).select(range(min(limit, corpus[s].num_rows)))
                                       for s in ("train", "test")})
    return corpus


def _normalise_audio(split, cfg: SpeechDataConfig, where: str, min_samples: int):
    def fix(row, idx):
        audio = row["audio"]
        wav, sr = (audio["array"], audio.get("sampling_rate", cfg.sampling_rate)) if isinstance(audio, dict) else (audio, cfg.sampling_rate)
        return {"audio": prepare_waveform(wav, sr, min_samples, where=f"{where} row {idx}")}

    import datasets

    features = split.features.copy()
    features["audio"] = datasets.Sequence(datasets.Value("float32"))
    return split.map(fix, with_indices=True, features=features)


def _has_train_test(path: Path) -> bool:
    """An audiofolder split by its owner: ``train/`` and ``test/`` folders of class folders."""
    return (path / "train").is_dir() and (path / "test").is_dir()


def is_audio_folder(path: Path) -> bool:
    """A folder of class folders of .wav clips (or train/ and test/ folders of them), not a save_to_disk folder."""
    root = path / "train" if _has_train_test(path) else path
    return path.is_dir() and not (path / "dataset_dict.json").is_file() and any(root.glob("*/*.wav"))


def read_audio_folder(root: Path, where: str, test_fraction: float = HELD_OUT_FRACTION, seed: int = 0, min_samples: int = 0):
    """``((train clips, labels), (test clips, labels), class names)`` of an audiofolder: ``DIR/<class>/*.wav`` (a
    seeded, stratified ``test_fraction`` held out for testing) or ``DIR/train/<class>/*.wav`` with
    ``DIR/test/<class>/*.wav``. Clips become float32 at 16 kHz (resampled); a stereo clip is refused, not mixed
    (:func:`prepare_waveform`, which also refuses a clip shorter than ``min_samples``). ``where`` opens every
    message (the option that named the folder)."""
    from scipy.io import wavfile

    def read(folder: Path, classes: list[str]):
        clips, labels = [], []
        for label, cls in enumerate(classes):
            for file in sorted((folder / cls).glob("*.wav")):
                try:
                    rate, wav = wavfile.read(file)
                except (ValueError, OSError) as err:
                    raise UserError(f"{where}: {file} is not a WAV file scipy can read ({err}); "
                                    "remove it or convert it (for example `ffmpeg -i IN -ar 16000 OUT.wav`)") from None
                if np.issubdtype(wav.dtype, np.integer):
                    wav = wav / float(np.iinfo(wav.dtype).max)
                clips.append(prepare_waveform(wav, rate, min_samples, where=str(file)))
                labels.append(label)
        return clips, np.array(labels)

    split = _has_train_test(root)
    classes = sorted(p.name for p in (root / "train" if split else root).iterdir() if p.is_dir())
    if len(classes) < 2:
        raise UserError(f"{where}: an audiofolder needs one subfolder of .wav clips per class; found {classes}")
    if split:
        return read(root / "train", classes), read(root / "test", classes), classes
    from sklearn.model_selection import train_test_split

    clips, labels = read(root, classes)
    check_held_out_split({cls: int((labels == i).sum()) for i, cls in enumerate(classes)}, where, "clips",
                         "add clips, drop the class folders with fewer, or give train/ and test/ folders")
    train_i, test_i = train_test_split(np.arange(len(labels)), test_size=test_fraction, random_state=seed, stratify=labels)
    return ([clips[i] for i in train_i], labels[train_i]), ([clips[i] for i in test_i], labels[test_i]), classes


class WaveformCropCollator:
    """Random windows of equal length from each clip -> ``input_values`` (B, L) and ``speaker_ids`` (B,).

    The window is ``crop_samples`` long, or the shortest clip of the batch when that is shorter (no
    padding: padded silence would be easy negatives). :meth:`crop` draws from one seeded NumPy generator
    that runs on from call to call. As a training collator (``__call__``) the windows come from a generator
    seeded afresh by ``seed`` and the batch's clips: the dataloader collates a batch ahead of the step that
    trains on it and no checkpoint holds a running generator, so only then does a run resumed from a
    checkpoint crop exactly the windows of an uninterrupted one.
    """

    def __init__(self, crop_samples: int = 20480, seed: int = 0):
        self.crop_samples = crop_samples
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def crop(self, rows: list[dict], rng: np.random.Generator | None = None) -> tuple[np.ndarray, list[int]]:
        """(B, L) float32 windows and the sample each starts at in its clip (drawn from ``rng`` if given)."""
        rng = self.rng if rng is None else rng
        length = min(self.crop_samples, *(len(r["audio"]) for r in rows))
        crops, starts = [], []
        for r in rows:
            start = int(rng.integers(0, len(r["audio"]) - length + 1))
            crops.append(np.asarray(r["audio"][start : start + length], dtype=np.float32))
            starts.append(start)
        return np.stack(crops), starts

    def batch_rng(self, rows: list[dict]) -> np.random.Generator:
        """A generator seeded by ``seed`` and a checksum of each clip: the same batch, the same windows."""
        import zlib

        return np.random.default_rng([self.seed, *(zlib.crc32(np.asarray(r["audio"], dtype=np.float32).tobytes())
                                                   for r in rows)])  # fmt: skip

    def __call__(self, rows: list[dict]):
        import torch

        crops, _ = self.crop(rows, self.batch_rng(rows))
        return {"input_values": torch.from_numpy(crops),
                "speaker_ids": torch.tensor([int(r["speaker"]) for r in rows])}
