import subprocess
import sys

import pytest

from hf_replearn.errors import UserError
from hf_replearn.utils.threads import choose_threads


def test_free_cores_by_load_average():
    assert choose_threads(environ={}, cpus=8, load=0.0).threads == 8
    assert choose_threads(environ={}, cpus=8, load=2.6).threads == 5  # a job holding a core most of the time
    assert choose_threads(environ={}, cpus=2, load=1.0).threads == 1
    assert choose_threads(environ={}, cpus=2, load=7.0).threads == 1  # never below one


def test_processes_on_the_node_share_the_free_cores():
    choice = choose_threads(environ={"LOCAL_WORLD_SIZE": "4"}, cpus=16, load=0.0)
    assert choice.threads == 4 and "4 processes" in choice.reason
    assert choose_threads(environ={"LOCAL_WORLD_SIZE": "4"}, cpus=2, load=0.0).threads == 1


def test_requested_and_environment_win_over_the_load():
    assert choose_threads(3, environ={"OMP_NUM_THREADS": "1"}, cpus=2, load=0.0).threads == 3
    choice = choose_threads(environ={"OMP_NUM_THREADS": "2,1"}, cpus=64, load=0.0)
    assert (choice.threads, choice.reason) == (2, "OMP_NUM_THREADS")


@pytest.mark.parametrize("bad", ["zero", "0", "-1"])
def test_bad_omp_num_threads_names_the_variable(bad):
    with pytest.raises(UserError, match="OMP_NUM_THREADS"):
        choose_threads(environ={"OMP_NUM_THREADS": bad})


def test_bad_threads_flag_exits_2_before_any_work(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "hf_replearn", "train", "recipes/quickstart.yaml", "--threads", "0",
                           f"training.output_dir={tmp_path / 'run'}"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--threads 0" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()


def test_policy_is_set_before_torch_starts():
    """The CLI module imports no torch, so the wait policy and thread count reach OpenMP's start-up."""
    code = (
        "import os, sys\n"
        "os.environ.pop('OMP_NUM_THREADS', None); os.environ.pop('OMP_WAIT_POLICY', None)\n"
        "import hf_replearn.cli\n"
        "assert 'torch' not in sys.modules, 'hf_replearn.cli imports torch'\n"
        "from hf_replearn.utils.threads import apply_thread_policy\n"
        "choice = apply_thread_policy(1)\n"
        "import torch\n"
        "print(os.environ['OMP_WAIT_POLICY'], torch.get_num_threads(), choice.threads)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    announced, values = proc.stdout.splitlines()
    assert announced == "threads: 1 torch intra-op thread(s) (--threads)"
    assert values.split() == ["PASSIVE", "1", "1"]
