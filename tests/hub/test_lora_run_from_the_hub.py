"""A LoRA text run pushed to a hub is read through its merged/ model: the adapter's base_model_name_or_path names the
base as it was on the machine that trained it (here a folder that does not exist), so loading the adapter fails
anywhere else."""

from __future__ import annotations

import copy

import torch

from conftest import TOKEN
from hf_replearn.hub.push import push_output_dir


def _lora_run(folder):
    from peft import LoraConfig, get_peft_model
    from transformers import GPT2Config, GPT2LMHeadModel

    from hf_replearn.data.char_tokenizer import build_char_tokenizer

    tokenizer = build_char_tokenizer()
    torch.manual_seed(0)
    base = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_embd=16, n_layer=1, n_head=2, n_positions=64))
    adapted = get_peft_model(base, LoraConfig(r=2, target_modules=["c_attn"], fan_in_fan_out=True, init_lora_weights=False))
    adapted.peft_config["default"].base_model_name_or_path = "/machine/that/trained/it/base"
    adapted.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    merged = copy.deepcopy(adapted).merge_and_unload().eval()
    merged.save_pretrained(folder / "merged")
    tokenizer.save_pretrained(folder / "merged")
    (folder / "results.json").write_text('{"train/loss": 1.0}\n')
    # PEFT's own README.md names the base as its folder in the card's metadata, which the Hub refuses; a run of this
    # toolkit holds its own card there instead (hub push writes one when there is none)
    (folder / "README.md").unlink()
    return merged, tokenizer


def test_fewshot_and_the_probe_load_a_pushed_lora_run(hub, tmp_path, capsys):
    from hf_replearn.evaluation.features import load_probe_model
    from hf_replearn.evaluation.fewshot.evaluate import load_model

    merged, tokenizer = _lora_run(tmp_path / "run")
    push_output_dir(tmp_path / "run", "team/lora-run", endpoint=hub.url, token=TOKEN)
    ids = torch.tensor([tokenizer("ab -> B")["input_ids"]])

    model, _ = load_model("team/lora-run", "cpu")
    torch.testing.assert_close(model(ids).logits, merged(ids).logits)
    probed = load_probe_model("team/lora-run", "model")
    assert probed.shown_source == "team/lora-run (merged/)"
    assert "--model team/lora-run: a LoRA run; probing" in capsys.readouterr().out
    torch.testing.assert_close(probed.model(ids).last_hidden_state, merged.transformer(ids).last_hidden_state)


def test_an_adapter_without_its_merged_model_names_the_base_it_cannot_find(hub, tmp_path, capsys):
    """Pushed (or copied) without merged/, an adapter names its base as a folder of the machine that trained it:
    fewshot and the probe say so, for the folder and for the hub repo alike, before loading anything."""
    import shutil

    from hf_replearn.cli import main

    _lora_run(tmp_path / "run")
    shutil.rmtree(tmp_path / "run" / "merged")
    push_output_dir(tmp_path / "run", "team/adapter-only", endpoint=hub.url, token=TOKEN)
    local = str(tmp_path / "run")
    fewshot = ["fewshot", "--task", "recipes/fewshot/incontext_binary.yaml", "--shots", "0", "--model"]
    probe = ["eval", "probe", "--dataset", "polarity", "--dataset-limit", "40", "--model"]
    for argv in ([*fewshot, "team/adapter-only"], [*probe, "team/adapter-only"], [*fewshot, local]):
        capsys.readouterr()
        assert main([*argv, "--output-dir", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert f"--model {argv[-1]} is a LoRA adapter without its merged model (merged/)" in err, err
        assert "/machine/that/trained/it/base, is a folder of the machine that trained it" in err
        assert not (tmp_path / "out").exists()
    assert main([*probe, local, "--output-dir", str(tmp_path / "out")]) == 2  # the probe's folder check comes first
    assert "holds a LoRA adapter (adapter_config.json), not a whole model" in capsys.readouterr().err
