import json

import pytest

from hf_replearn.errors import UserError
from hf_replearn.utils.files import atomic_write_text, prepare_output_dir, write_results


def test_refuses_a_directory_holding_another_run(tmp_path):
    out = tmp_path / "run"
    prepare_output_dir(out)
    (out / "results.json").write_text("{}")
    with pytest.raises(UserError, match=r"already holds another run \(results.json\).*overwrite_output_dir=true"):
        prepare_output_dir(out)
    assert (out / "results.json").read_text() == "{}"
    prepare_output_dir(out, overwrite=True)
    prepare_output_dir(out, resuming=True)


def test_results_are_flat_numbers(tmp_path):
    write_results(tmp_path, {"a/b": 1.5, "c": 2})
    assert json.loads((tmp_path / "results.json").read_text()) == {"a/b": 1.5, "c": 2}
    with pytest.raises(TypeError):
        write_results(tmp_path, {"a": "text"})


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "f.txt"
    atomic_write_text(target, "good")

    class Boom(str):
        pass

    import os

    def failing_replace(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        atomic_write_text(target, "half")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_atomic_writes_follow_the_umask(tmp_path, umask):
    """mkstemp makes its files 0600; the written file gets the mode a plain open() would give it."""
    import os

    old = os.umask(umask)
    try:
        write_results(tmp_path, {"a": 1})
        atomic_write_text(tmp_path / "README.md", "card")
    finally:
        os.umask(old)
    for name in ("results.json", "README.md"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def test_refusal_names_the_calling_commands_options(tmp_path):
    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(UserError) as err:
        prepare_output_dir(tmp_path, syntax=("--output-dir DIR", "--overwrite-output-dir", None))
    assert "--overwrite-output-dir" in str(err.value) and "overwrite_output_dir=true" not in str(err.value)
    assert "resume" not in str(err.value)
