"""The final save under FSDP2: every process joins the gather, the main one writes a whole model.

accelerate 1.15 does not turn FSDP on for CPU processes (recipes/accelerate/fsdp.yaml says why), so this
test shards the model with torch's own ``fully_shard`` on 2 gloo processes, as accelerate does on GPUs.
"""

import torch
import torch.multiprocessing as mp

from hf_replearn.training.outputs import save_model_atomically
from tests.distributed import gloo_group


def _model():
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    config = BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16)  # fmt: skip
    return BertForMaskedLM(config)


def _batch():
    g = torch.Generator().manual_seed(1)
    return {"input_ids": torch.randint(0, 40, (4, 8), generator=g), "labels": torch.randint(0, 40, (4, 8), generator=g)}


def _train_one_step(model):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model(**_batch()).loss.backward()
    optimizer.step()


def _worker(rank, world_size, port, out_dir):
    from torch.distributed.fsdp import fully_shard

    with gloo_group(rank, world_size, port, timeout_s=60):  # a process left out of the gather: an error, not a hang
        model = _model()
        for layer in model.bert.encoder.layer:  # one shard unit per layer, the rest in the root unit
            fully_shard(layer)
        fully_shard(model)
        assert model.bert.embeddings.word_embeddings.weight.to_local().shape == (20, 16)  # half the rows each
        _train_one_step(model)  # both processes see the same batch: the step of one process
        save_model_atomically(model, out_dir)


def test_fsdp_sharded_model_is_saved_whole_by_the_main_process(tmp_path, free_port):
    from transformers import BertForMaskedLM

    out = tmp_path / "out"
    mp.spawn(_worker, args=(2, free_port, str(out)), nprocs=2, join=True)

    reference = _model()
    _train_one_step(reference)
    expected = reference.state_dict()
    loaded = BertForMaskedLM.from_pretrained(out).state_dict()
    assert sorted(loaded) == sorted(expected)
    for name, tensor in expected.items():
        assert loaded[name].shape == tensor.shape, name  # full shapes, not a process's shard
        torch.testing.assert_close(loaded[name], tensor, atol=1e-6, rtol=1e-5, msg=name)
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]  # no temporary left


def test_an_unsharded_model_has_no_full_state_dict_to_gather():
    from hf_replearn.training.outputs import full_state_dict

    assert full_state_dict(_model()) is None
