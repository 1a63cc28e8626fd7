"""Training throughput of recipes/glue.yaml against a plain Trainer pipeline written the way
transformers' examples/pytorch/text-classification/run_glue.py does it (same model, data, steps).

run_glue.py pads every example to max_seq_length (its default ``pad_to_max_length=True``) and uses
``default_data_collator``; the recipe pads each batch to its longest example (``DataCollatorWithPadding``).

    nice -n 10 python scripts/bench/throughput_vs_plain_trainer.py --steps 20 --max-length 128

Prints samples/s of both and their ratio (recipe / plain; the target is >= 1.0).
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def plain_trainer(steps, batch, max_length, out):
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments,
                              default_data_collator, set_seed)  # fmt: skip

    from hf_replearn.data.embedded_text import load_embedded
    from hf_replearn.models.pretrained import shipped_minilm_path

    set_seed(42)
    path = shipped_minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    raw = load_embedded("polarity")["train"]
    train = raw.map(lambda b: tokenizer(b["sentence"], padding="max_length", max_length=max_length, truncation=True),
                    batched=True, remove_columns=["sentence"])  # fmt: skip
    args = TrainingArguments(output_dir=out, max_steps=steps, per_device_train_batch_size=batch, learning_rate=5e-5,
                             report_to="none", save_strategy="no", seed=42)  # fmt: skip
    trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=default_data_collator)
    return trainer.train().metrics["train_samples_per_second"]


def recipe_pipeline(steps, batch, max_length, out):
    from hf_replearn.config import load_recipe
    from hf_replearn.tasks import run_recipe

    root = Path(__file__).resolve().parents[2]
    recipe = load_recipe(root / "recipes" / "glue.yaml", [f"output_dir={out}", f"max_steps={steps}",
                         f"per_device_train_batch_size={batch}", f"data.max_length={max_length}",
                         "data.eval_limit=32", "save_strategy='no'"])  # fmt: skip
    return run_recipe(recipe)["train/samples_per_second"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    a = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plain = plain_trainer(a.steps, a.batch, a.max_length, f"{tmp}/plain")
        ours = recipe_pipeline(a.steps, a.batch, a.max_length, f"{tmp}/recipe")
    print(f"plain Trainer (run_glue.py style): {plain:.2f} samples/s")
    print(f"recipes/glue.yaml:                 {ours:.2f} samples/s")
    print(f"ratio recipe / plain: {ours / plain:.2f}")


if __name__ == "__main__":
    main()
