"""Checkpoints that a crash cannot corrupt.

``Trainer`` writes ``checkpoint-N`` file by file; a run killed mid-save leaves a partial folder that
``resume_from_checkpoint=True`` then picks as the latest and fails to load. With
:class:`AtomicCheckpointMixin` the Trainer writes into ``<output_dir>/.staging/checkpoint-N``; once
every file is written and fsynced, one ``os.replace`` moves the folder to ``checkpoint-N``. So a
``checkpoint-N`` folder is complete or absent, and a crash mid-save leaves the previous checkpoint as
the latest. Older checkpoints are rotated (``save_total_limit``) only after the new one is in place.

Use it before ``Trainer`` in the bases: ``class MyTrainer(AtomicCheckpointMixin, Trainer)``.
"""

from __future__ import annotations

import json
import os
import shutil

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, rotate_checkpoints

STAGING_DIR = ".staging"
TRAINER_STATE_NAME = "trainer_state.json"


def fsync_tree(path: str) -> None:
    """Flush every file and folder under ``path`` to disk, so a rename that follows publishes whole files."""
    for folder, _, files in os.walk(path):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(folder)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AtomicCheckpointMixin:
    """Trainer mixin: ``checkpoint-N`` appears complete or not at all (see the module docstring)."""

    def _save_checkpoint(self, model, trial) -> None:
        run_dir = self._get_output_dir(trial=trial)
        staging_run = os.path.join(run_dir, STAGING_DIR)
        name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        staged, final = os.path.join(staging_run, name), os.path.join(run_dir, name)
        if self.args.should_save:
            shutil.rmtree(staged, ignore_errors=True)  # left by a run killed while saving this step
        # The parent computes its folder from _get_output_dir: an instance attribute shadows the method
        # for this one call, so every file it writes lands in the staging folder.
        self._get_output_dir = lambda trial=None: staging_run
        try:
            super()._save_checkpoint(model, trial)
        finally:
            del self._get_output_dir
        self.accelerator.wait_for_everyone()  # every process has written its part (sharded optimizers)
        if self.args.should_save:
            self._publish(staged, final, staging_run, run_dir)
        self.accelerator.wait_for_everyone()

    def _publish(self, staged: str, final: str, staging_run: str, run_dir: str) -> None:
        best = self.state.best_model_checkpoint
        if best and best.startswith(staging_run):  # the parent saw the best checkpoint in the staging folder
            self.state.best_model_checkpoint = run_dir + best[len(staging_run):]
            state_file = os.path.join(staged, TRAINER_STATE_NAME)
            if os.path.isfile(state_file):
                saved = json.loads(open(state_file, encoding="utf-8").read())
                saved["best_model_checkpoint"] = self.state.best_model_checkpoint
                with open(state_file, "w", encoding="utf-8") as handle:
                    json.dump(saved, handle, indent=2, sort_keys=True)
        fsync_tree(staged)
        if os.path.exists(final):  # saving the same step again: keep the old one until the new is in place
            old = final + ".old"
            shutil.rmtree(os.path.join(staging_run, os.path.basename(old)), ignore_errors=True)
            os.replace(final, os.path.join(staging_run, os.path.basename(old)))
        os.replace(staged, final)
        _fsync_dir(run_dir)
        shutil.rmtree(staging_run, ignore_errors=True)
        rotate_checkpoints(output_dir=run_dir, save_total_limit=self.args.save_total_limit,
                           best_model_checkpoint=self.state.best_model_checkpoint, use_mtime=True)
