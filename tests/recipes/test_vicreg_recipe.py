"""The VICReg recipe's bad input: exit 2, the key named, nothing written (its smoke run is in test_all_recipes)."""

from pathlib import Path

import pytest

from hf_replearn.cli import main

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "vicreg_fashion_mnist.yaml"


@pytest.mark.parametrize("override, message", [
    ("model.expander_dims=[]", "expander_dims must be a non-empty list of positive widths"),
    ("model.variance_weight=-1", "variance_weight must be >= 0, got -1"),
    ("model.projection_dim=8", "`model.projection_dim`"),
    ("augment.view_size=2", "augment.view_size must be at least 4 pixels"),
])  # fmt: skip
def test_bad_input_exits_2_with_a_clear_message(tmp_path, capsys, override, message):
    out = tmp_path / "bad"
    assert main(["train", str(RECIPE), f"output_dir={out}", "max_steps=1", "dataset_limit=64", override]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
