"""Run a real recipe through the CLI and SIGKILL the process when training step N ends.

    python tests/training/kill_recipe_job.py N RECIPE.yaml [key=value ...]

The kill comes from a TrainerCallback added to every Trainer the recipe builds, so it lands mid-training
at a known step, like a machine dying, whatever the speed of the machine.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
from transformers import Trainer, TrainerCallback  # noqa: E402

from hf_replearn.cli import main  # noqa: E402


class KillAtStep(TrainerCallback):
    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


def add_killer(step: int) -> None:
    init = Trainer.__init__

    def patched(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.add_callback(KillAtStep(step))

    Trainer.__init__ = patched


if __name__ == "__main__":
    torch.set_num_threads(1)  # as the tests' own process (tests/conftest.py): identical float sums
    add_killer(int(sys.argv[1]))
    sys.exit(main(["train", *sys.argv[2:]]))
