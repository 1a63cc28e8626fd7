"""A few CPU steps of recipes/word2vec.yaml on a slice of its corpus."""

import json
import shutil
from pathlib import Path

import pytest

from hf_replearn.tasks import load_recipe, run_recipe
from hf_replearn.evaluation.word_vectors import load_word2vec_format

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "word2vec.yaml"


@pytest.mark.skipif(shutil.which("bible") is None, reason="apt-get install bible-kjv bible-kjv-text")
def test_word2vec_recipe_smoke(tmp_path):
    assert RECIPE.read_text().splitlines()[0] == "# hf-replearn train recipes/word2vec.yaml"
    recipe = load_recipe(RECIPE, ["dataset_limit=2000", "data.min_count=3", "model.embedding_dim=16",
                                  "max_steps=20", "per_device_train_batch_size=256", f"output_dir={tmp_path}"])
    results = run_recipe(recipe)
    words, vectors = load_word2vec_format(tmp_path / "vectors.txt")
    assert len(words) == results["vocab_size"] and vectors.shape[1] == 16 and words[0] == "and"
    # output vectors start at zero: the first loss is (K + 1) log 2 = 4.16; 20 steps lower it
    assert 2.0 < results["train_loss"] < 4.16
    report = json.loads((tmp_path / "neighbours.json").read_text())
    assert len(report["neighbours"]["god"]) == 10 and 0 <= results.get("analogy_accuracy", 0) <= 1
    assert (tmp_path / "config.json").is_file() and json.loads((tmp_path / "config.json").read_text())["window"] == 5
