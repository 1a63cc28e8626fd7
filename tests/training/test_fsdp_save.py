"""The final save under FSDP2: every process joins the gather, the main one writes a whole model.

accelerate 1.15 does not turn FSDP on for CPU processes (recipes/accelerate/fsdp.yaml says why), so this
test shards the models with torch's own ``fully_shard`` on 2 gloo processes, as accelerate does on GPUs:
one shard unit per transformer layer, the rest in the root unit.
"""

from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from hf_replearn.training.outputs import save_model_atomically
from tests.distributed import gloo_group

TINY = dict(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
            max_position_embeddings=16)  # fmt: skip


def _mlm():
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    return BertForMaskedLM(BertConfig(**TINY))


def _lora_classifier():
    from peft import LoraConfig, get_peft_model
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    base = BertForSequenceClassification(BertConfig(**TINY))
    return get_peft_model(base, LoraConfig(r=2, lora_alpha=4, target_modules=["query", "value"], task_type="SEQ_CLS"))


def _train_one_step(model):
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 40, (4, 8), generator=g)
    labels = torch.tensor([0, 1, 1, 0]) if hasattr(model, "peft_config") else torch.randint(0, 40, (4, 8), generator=g)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    model(input_ids=ids, labels=labels).loss.backward()
    optimizer.step()


class _NoTokenizer:
    def save_pretrained(self, path):
        pass


def _worker(rank, world_size, port, out_dir):
    from torch.distributed.fsdp import fully_shard

    from hf_replearn.training.finetune import save_finetuned
    from hf_replearn.training.lora import LoraSection

    with gloo_group(rank, world_size, port, timeout_s=60):  # a process left out of the gather: an error, not a hang
        for name, build in (("mlm", _mlm), ("lora", _lora_classifier)):
            model = build()  # seeded here, so that dropout draws what the reference's does
            bert = model.get_base_model().bert if name == "lora" else model.bert
            for layer in bert.encoder.layer:
                fully_shard(layer)
            fully_shard(model)
            assert bert.embeddings.word_embeddings.weight.to_local().shape == (20, 16)  # half the rows each
            _train_one_step(model)  # both processes see the same batch: the step of one process
            if name == "mlm":
                save_model_atomically(model, f"{out_dir}/mlm")
            else:  # the adapter, and the merged copy rebuilt from the gathered weights on the main process
                save_finetuned(model, _NoTokenizer(), f"{out_dir}/lora", LoraSection(merge_on_save=True))


def _assert_equal_state_dicts(loaded: dict, expected: dict):
    assert sorted(loaded) == sorted(expected)
    for name, tensor in expected.items():
        assert loaded[name].shape == tensor.shape, name  # full shapes, not a process's shard
        torch.testing.assert_close(loaded[name], tensor, atol=1e-6, rtol=1e-5, msg=name)


def test_fsdp_sharded_models_are_saved_whole_by_the_main_process(tmp_path, free_port):
    from peft import PeftModel
    from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification

    mp.spawn(_worker, args=(2, free_port, str(tmp_path)), nprocs=2, join=True)

    reference = _mlm()
    _train_one_step(reference)
    _assert_equal_state_dicts(BertForMaskedLM.from_pretrained(tmp_path / "mlm").state_dict(), reference.state_dict())
    assert sorted(p.name for p in (tmp_path / "mlm").iterdir()) == ["config.json", "model.safetensors"]  # no temporary left

    reference = _lora_classifier()
    _train_one_step(reference)
    torch.manual_seed(5)  # a fresh base: the adapter and head must come from the file
    adapted = PeftModel.from_pretrained(BertForSequenceClassification(BertConfig(**TINY)), tmp_path / "lora")
    trained = {k: v for k, v in reference.state_dict().items() if "lora_" in k or "modules_to_save" in k}
    assert len(trained) == 2 * 2 * 2 + 2  # lora_A and lora_B of query and value in 2 layers; the head's weight and bias
    for name, tensor in trained.items():
        torch.testing.assert_close(adapted.state_dict()[name], tensor, atol=1e-6, rtol=1e-5, msg=name)
    merged = reference.merge_and_unload().state_dict()
    _assert_equal_state_dicts(BertForSequenceClassification.from_pretrained(tmp_path / "lora" / "merged").state_dict(), merged)


def test_an_unsharded_model_has_no_full_state_dict_to_gather():
    from hf_replearn.training.outputs import full_state_dict

    assert full_state_dict(_mlm()) is None


FSDP_CONFIG = Path(__file__).resolve().parents[2] / "recipes" / "accelerate" / "fsdp.yaml"
FAMILIES = {  # model_type: (tiny config, the layers that must be shard units)
    "bert": (TINY, "bert.encoder.layer"),
    "roberta": (TINY, "roberta.encoder.layer"),
    "gpt2": (dict(vocab_size=40, n_embd=16, n_layer=2, n_head=2, n_positions=16), "transformer.h"),
}


def _wrap_policy(layer_classes: str | None, model):
    """accelerate's own FSDP2 wrap policy for ``model``, from fsdp.yaml (``layer_classes``: the command-line override)."""
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.utils import FullyShardedDataParallelPlugin
    from accelerate.utils.fsdp_utils import fsdp2_prepare_auto_wrap_policy

    fsdp = load_config_from_file(str(FSDP_CONFIG)).fsdp_config
    plugin = FullyShardedDataParallelPlugin(
        fsdp_version=fsdp["fsdp_version"], auto_wrap_policy=fsdp["fsdp_auto_wrap_policy"],
        transformer_cls_names_to_wrap=layer_classes or fsdp["fsdp_transformer_layer_cls_to_wrap"],
        state_dict_type=fsdp["fsdp_state_dict_type"],
    )  # fmt: skip
    return fsdp2_prepare_auto_wrap_policy(plugin, model)


@pytest.mark.parametrize("model_type, layer_classes", [("bert", None), ("roberta", "RobertaLayer"), ("gpt2", "GPT2Block")])
def test_fsdp_config_makes_each_layer_a_shard_unit(model_type, layer_classes):
    """mlm_bert (and glue/squad on MiniLM) as fsdp.yaml says; mlm_roberta and clm_gpt2 with the override it names."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM

    kwargs, layers = FAMILIES[model_type]
    auto = AutoModelForCausalLM if model_type == "gpt2" else AutoModelForMaskedLM
    model = auto.from_config(AutoConfig.for_model(model_type, **kwargs))
    policy = _wrap_policy(layer_classes, model)
    assert [name for name, module in model.named_modules() if policy(module)] == [f"{layers}.0", f"{layers}.1"]


def test_a_layer_class_the_model_lacks_stops_accelerate():
    """Why fsdp.yaml names one family: the former list (BertLayer,RobertaLayer,GPT2Block) fails on every model."""
    from transformers import BertConfig, BertForMaskedLM

    with pytest.raises(ValueError, match="Could not find the transformer layer class RobertaLayer"):
        _wrap_policy("BertLayer,RobertaLayer,GPT2Block", BertForMaskedLM(BertConfig(**TINY)))
