import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "hf_replearn", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_bad_recipe_exits_non_zero_without_traceback(tmp_path):
    proc = run_cli("train", "recipes/quickstart.yaml", f"output_dir={tmp_path}/x", "model.widht=[8]")
    assert proc.returncode == 2
    assert "did you mean `model.widths`" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists()


def test_recipes_listing():
    proc = run_cli("recipes")
    assert proc.returncode == 0
    assert "quickstart.yaml" in proc.stdout and "simclr_fashion_mnist.yaml" in proc.stdout


def test_version_and_a_missing_recipe_name_only_what_is_missing():
    from importlib.metadata import version

    assert run_cli("--version").stdout.strip() == f"hf-replearn {version('hf_replearn')}"
    proc = run_cli("train")
    assert proc.returncode == 2 and proc.stderr.strip().endswith("the following arguments are required: recipe")
