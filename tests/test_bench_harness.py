"""scripts/bench/run.py: sections are replaced in place, and the recorded command carries its settings."""

from scripts.bench import run


def test_a_section_is_replaced_in_place_and_others_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "BENCHMARKS_MD", tmp_path / "BENCHMARKS.md")
    monkeypatch.setattr(run, "machine", lambda: "test machine")
    run.write_section("a", "| x |\n|---|\n| 1 |", "python scripts/bench/run.py a")
    run.write_section("b", "b body", "python scripts/bench/run.py b")
    run.write_section("a", "| x |\n|---|\n| 2 |", "python scripts/bench/run.py a")
    text = run.BENCHMARKS_MD.read_text()
    assert text.count("<!-- bench:a -->") == 1 and "| 2 |" in text and "| 1 |" not in text
    assert text.index("<!-- bench:a -->") < text.index("<!-- bench:b -->") and "b body" in text


def test_the_command_records_the_settings_that_change_a_benchmark(monkeypatch):
    monkeypatch.setenv("BENCH_STEPS", "300")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("HOME_UNRELATED", "x")
    assert run.command_line("images_table") == "BENCH_STEPS=300 OMP_NUM_THREADS=1 python scripts/bench/run.py images_table"


def test_the_image_probe_table_stops_with_what_to_do_without_a_simclr_checkpoint(tmp_path, monkeypatch):
    import json

    import pytest

    from scripts.bench import bench_probe_images

    monkeypatch.delenv("BENCH_SIMCLR_DIR", raising=False)
    with pytest.raises(SystemExit, match="needs a SimCLR Fashion-MNIST checkpoint: set BENCH_SIMCLR_DIR to the output_dir"):
        bench_probe_images.probe_images_fashion_mnist()
    monkeypatch.setenv("BENCH_SIMCLR_DIR", str(tmp_path))
    with pytest.raises(SystemExit, match=f"BENCH_SIMCLR_DIR={tmp_path}: no config.json and model.safetensors there"):
        bench_probe_images.probe_images_fashion_mnist()
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(SystemExit, match="holds a 'bert' model, not simclr"):
        bench_probe_images.probe_images_fashion_mnist()
