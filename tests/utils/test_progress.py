import re

import pytest

from hf_replearn.utils.progress import stage


def test_stage_prints_what_then_elapsed(capsys):
    with stage("probe", "3 feature sets"):
        pass
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[probe] 3 feature sets ..."
    assert re.fullmatch(r"\[probe\] done in \d+\.\d s", lines[1])


def test_stage_without_detail_and_on_error(capsys):
    with pytest.raises(ValueError):
        with stage("data"):
            raise ValueError
    assert capsys.readouterr().out == "[data] ...\n"  # no "done" line for a step that failed
