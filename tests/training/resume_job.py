"""A tiny seeded Trainer run (BERT hidden 32, 2 layers, dropout on) for the kill-and-resume tests.

    python tests/training/resume_job.py OUTPUT_DIR [--kill-at-step N] [--kill-in-save N] [--resume]

``--kill-at-step N`` SIGKILLs the process when step N ends (mid-training); ``--kill-in-save N`` SIGKILLs
it while checkpoint N is being written (after the weights, before the optimizer state).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from transformers import (  # noqa: E402
    BertConfig,
    BertForSequenceClassification,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)

from hf_replearn.training.checkpoints import AtomicCheckpointMixin  # noqa: E402

MAX_STEPS, SAVE_STEPS = 30, 10


class _KillAtStep(TrainerCallback):
    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


class JobTrainer(AtomicCheckpointMixin, Trainer):
    kill_in_save: int | None = None

    def _save_optimizer_and_scheduler(self, output_dir):
        if self.state.global_step == self.kill_in_save:
            os.kill(os.getpid(), signal.SIGKILL)  # weights written, optimizer state not: a half checkpoint
        super()._save_optimizer_and_scheduler(output_dir)


def data(n: int, seed: int) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, 50, (n, 12), generator=g)
    labels = (ids[:, 0] > 25).long()  # learnable: the label is a function of the first token
    return Dataset.from_dict({"input_ids": ids.tolist(), "labels": labels.tolist()})


def run(output_dir, resume: bool = False, kill_at_step: int | None = None, kill_in_save: int | None = None):
    set_seed(0)
    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                        vocab_size=50, max_position_embeddings=16, num_labels=2)
    model = BertForSequenceClassification(config)
    args = TrainingArguments(
        output_dir=str(output_dir), max_steps=MAX_STEPS, save_steps=SAVE_STEPS, save_total_limit=2,
        per_device_train_batch_size=8, learning_rate=1e-3, seed=0, logging_steps=5, report_to=[],
        use_cpu=True, dataloader_num_workers=0, disable_tqdm=True,
    )
    trainer = JobTrainer(model=model, args=args, train_dataset=data(64, 1), eval_dataset=data(32, 2),
                         callbacks=[_KillAtStep(kill_at_step)] if kill_at_step else None)
    trainer.kill_in_save = kill_in_save
    trainer.train(resume_from_checkpoint=True if resume else None)
    metrics = trainer.evaluate()
    return metrics, {k: v.clone() for k, v in trainer.model.state_dict().items()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("output_dir")
    parser.add_argument("--kill-at-step", type=int)
    parser.add_argument("--kill-in-save", type=int)
    parser.add_argument("--resume", action="store_true")
    a = parser.parse_args()
    torch.set_num_threads(1)
    print(run(a.output_dir, a.resume, a.kill_at_step, a.kill_in_save)[0])
