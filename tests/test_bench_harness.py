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
