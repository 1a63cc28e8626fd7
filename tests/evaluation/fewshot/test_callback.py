import datasets
from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments

from hf_replearn.evaluation.fewshot.callback import FewShotCallback
from hf_replearn.evaluation.fewshot.evaluate import evaluate_task
from hf_replearn.evaluation.fewshot.task import load_task


def test_callback_evaluates_during_training(model, tokenizer, tmp_path, write_task):
    import copy

    model = copy.deepcopy(model)
    task = load_task(write_task(tmp_path, metric_list=[{"metric": "acc"}]))
    callback = FewShotCallback([task], tokenizer, shots=[0, 2], every_n_steps=2)
    train = datasets.Dataset.from_dict({"input_ids": [tokenizer("a A\nb B\nc A")["input_ids"]] * 8})
    args = TrainingArguments(output_dir=str(tmp_path / "run"), max_steps=3, per_device_train_batch_size=4,
                             report_to="none", save_strategy="no", logging_steps=1, use_cpu=True)
    trainer = Trainer(model=model, args=args, train_dataset=train, callbacks=[callback],
                      data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False))
    trainer.train()
    assert [row["step"] for row in callback.history] == [2, 3]  # every 2 steps, then at the end
    assert set(callback.history[-1]) == {"step", "fewshot/tiny/k=0/acc", "fewshot/tiny/k=2/acc"}
    assert callback.history[-1] in trainer.state.log_history
    # the value logged at the end is the trained model's
    assert callback.history[-1]["fewshot/tiny/k=2/acc"] == evaluate_task(model.eval(), tokenizer, task, 2, 0)["acc"]
