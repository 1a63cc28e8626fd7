"""Image tasks from a saved run (model.init_from) with LoRA: only the adapter trains, the merged model is saved,
loads with AutoModel and is what the probes read; bad input is named."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hf_replearn.cli import main

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
R, ALPHA = 2, 4
TINY = ["model.widths=[8,16]", "model.projection_dim=8", "dataset_limit=128", "per_device_train_batch_size=32",
        "logging_steps=1", "evaluation.seeds=1", "evaluation.tsne=false", "evaluation.baselines=[]",
        "evaluation.labels_per_class=[1]", "learning_rate=0.01"]  # fmt: skip


def _train(out, *extra) -> int:
    return main(["train", str(RECIPES / "quickstart.yaml"), f"output_dir={out}", *TINY, *extra])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A 2-step SimCLR run on digits, then a 3-step LoRA run started from it."""
    base, adapted = tmp_path_factory.mktemp("base"), tmp_path_factory.mktemp("lora")
    assert _train(base, "max_steps=2") == 0
    assert _train(adapted, "max_steps=3", f"model.init_from={base}", f"lora.r={R}", f"lora.alpha={ALPHA}",
                  "lora.dropout=0") == 0  # fmt: skip
    return base, adapted


def _lora_count(c_in, c_out, k=1):
    # a conv's A is an (r, c_in, k, k) convolution and B a 1x1 one back to c_out; a linear layer is k = 1
    return R * c_in * k * k + c_out * R


def test_simclr_lora_from_checkpoint(runs):
    import hf_replearn.models  # noqa: F401
    from peft import PeftModel
    from transformers import AutoModel

    base_dir, out = runs
    results = json.loads((out / "results.json").read_text())
    # Every Conv2d and Linear of SimCLR on 1-channel digits with widths [8, 16] and projection 16 -> 16 -> 8.
    expected = (_lora_count(1, 8, 3) + 2 * _lora_count(8, 8, 3)  # stem, stage 1
                + _lora_count(8, 16, 3) + _lora_count(16, 16, 3) + _lora_count(8, 16)  # stage 2 and its shortcut
                + _lora_count(16, 16) + _lora_count(16, 8))  # projection head  # fmt: skip
    assert results["model/trainable_params"] == expected == 1010
    assert results["train/steps"] == 3 and 0 <= results["linear_probe/model/all"] <= 1
    assert "## LoRA" in (out / "README.md").read_text()

    base = AutoModel.from_pretrained(base_dir).eval()
    merged = AutoModel.from_pretrained(out).eval()  # the main checkpoint: a plain SimCLRModel
    adapter = load_file(out / "adapter" / "adapter_model.safetensors")
    merged_params = dict(merged.named_parameters())
    for name, w0 in base.named_parameters():
        module = name.rsplit(".", 1)[0]
        a = adapter.get(f"base_model.model.{module}.lora_A.weight")
        if a is None or not name.endswith(".weight"):  # BatchNorm affine weights, biases: frozen
            assert torch.equal(merged_params[name], w0), name
            continue
        b = adapter[f"base_model.model.{module}.lora_B.weight"]
        delta = (ALPHA / R) * (b.flatten(1) @ a.flatten(1)).view_as(w0)  # (c_out, r) @ (r, c_in k k)
        assert torch.allclose(merged_params[name], w0 + delta, atol=1e-6), name
    # BatchNorm statistics moved in training: they are saved with the adapter, so adapter + base = merged.
    assert not torch.equal(merged.encoder.stem[1].running_mean, base.encoder.stem[1].running_mean)
    peft_model = PeftModel.from_pretrained(base, out / "adapter").eval()
    x = torch.rand(4, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(peft_model.get_representation(x), merged.get_representation(x), atol=1e-5)


@pytest.mark.parametrize("extra, message", [
    (["lora.r=2"], "lora adapts a trained model"),
    (["model.init_from=/nowhere"], "model.init_from=/nowhere: this folder does not exist"),
    (["model.widths=[8,32]", "INIT"], r"do not fit the model.*encoder.blocks.1.bn1.bias: \(16,\) saved, \(32,\) here"),
    (["INIT", "lora.target_modules=[nope]"],
     r"lora.target_modules=\['nope'\]: names no layer of the model; .*: conv1, conv2, projection.0, projection.3, shortcut.0, stem.0$"),
])  # fmt: skip
def test_bad_start_or_lora_input_is_named(runs, tmp_path, capsys, extra, message):
    import re

    base_dir, _ = runs
    extra = [f"model.init_from={base_dir}" if e == "INIT" else e for e in extra]
    assert _train(tmp_path / "out", "max_steps=1", *extra) == 2
    err = capsys.readouterr().err
    assert re.search("^error: .*" + message, err, re.MULTILINE), err
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_moco_lora_key_encoder_follows_the_query_encoder():
    """LoRA wraps both MoCo encoders; the key side starts as a copy of the query side, frozen, and the momentum
    update pairs each key LoRA matrix with its query one."""
    from hf_replearn.tasks import build_recipe
    from hf_replearn.errors import UserError
    from hf_replearn.models.moco import MoCoConfig, MoCoModel
    from hf_replearn.tasks.moco import sync_lora_key_encoder
    from hf_replearn.training.lora import LoraSection, apply_lora

    config = MoCoConfig(num_channels=1, image_size=8, widths=[4], projection_dim=4, queue_size=8, momentum=0.9)
    model = apply_lora(MoCoModel(config), LoraSection(r=R))
    sync_lora_key_encoder(build_recipe({"task": "moco", "lora": {"r": R}}), model)
    moco = model.get_base_model()
    assert {k: v.shape for k, v in moco.key_encoder.state_dict().items()} == {
        k: v.shape for k, v in moco.encoder.state_dict().items()}  # fmt: skip
    assert all(torch.equal(moco.key_encoder.state_dict()[k], v) for k, v in moco.encoder.state_dict().items())
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    # query side only: stem conv (1 -> 4, 3x3), block convs (4 -> 4, 3x3), head Linear 4 -> 4 -> 4
    assert all("lora_" in n and ".key_" not in n for n in trainable)
    assert sum(p.numel() for n, p in model.named_parameters() if n in trainable) == (
        _lora_count(1, 4, 3) + 2 * _lora_count(4, 4, 3) + 2 * _lora_count(4, 4))
    query_b = moco.encoder.stem[0].lora_B["default"].weight
    with torch.no_grad():
        query_b.fill_(1.0)
    moco.momentum_update()
    assert torch.allclose(moco.key_encoder.stem[0].lora_B["default"].weight, torch.full_like(query_b, 0.1))

    # A full name adapts the query encoder's layer only: the two encoders differ, which the momentum update cannot pair.
    recipe = build_recipe({"task": "moco", "lora": {"r": R, "target_modules": ["encoder.stem.0"]}})
    with pytest.raises(UserError, match="adapts the query and key encoders differently"):
        sync_lora_key_encoder(recipe, apply_lora(MoCoModel(config), recipe.lora))
