"""Pushing a finished output directory: to the local hub, and to servers that fail."""

from __future__ import annotations

import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import huggingface_hub as hh
import pytest
import torch
from huggingface_hub import ModelCard
from transformers import AutoModel

from conftest import TOKEN
from hf_replearn.config import HubConfig, Recipe
from hf_replearn.errors import UserError
from hf_replearn.hub.cli import read_tokens
from hf_replearn.hub.push import check_hub_recipe, push_output_dir, push_recipe
from test_server import assert_same_weights, tiny_bert


def make_run(path, seed=0):
    model = tiny_bert(seed)
    model.save_pretrained(path)
    (path / "results.json").write_text('{"linear_probe_accuracy": 0.75}\n')
    (path / "plots").mkdir()
    (path / "plots" / "tsne.png").write_bytes(b"\x89PNG fake")
    (path / "checkpoint-2").mkdir()
    (path / "checkpoint-2" / "optimizer.pt").write_bytes(b"resume state")
    (path / ".lock").write_text("x")
    return model


def snapshot(path):
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


class _Canned(BaseHTTPRequestHandler):
    """Answers every request with the server's canned status and body, counting requests."""

    protocol_version = "HTTP/1.0"

    def _answer(self):
        self.server.hits += 1
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status, body = self.server.canned
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_HEAD = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def canned():
    servers = []

    def start(status, body):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
        server.daemon_threads, server.canned, server.hits = True, (status, body), 0
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        servers.append(server)
        return server, f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_push_output_dir_round_trips_and_skips_resume_state(hub, tmp_path):
    model = make_run(tmp_path / "run")
    before = snapshot(tmp_path / "run")
    info = push_output_dir(tmp_path / "run", "team/pushed", endpoint=hub.url, token=TOKEN)
    assert snapshot(tmp_path / "run") == before
    files = sorted(f.rfilename for f in hh.HfApi().repo_info("team/pushed").siblings)
    assert files == ["README.md", "config.json", "model.safetensors", "plots/tsne.png", "results.json"]
    assert_same_weights(model, AutoModel.from_pretrained("team/pushed", revision=info.oid))
    card = ModelCard.load(hh.hf_hub_download("team/pushed", "README.md"))
    assert [(r.metric_type, r.metric_value) for r in card.data.eval_results] == [("linear_probe_accuracy", 0.75)]


def test_push_recipe_writes_the_card_and_pushes(hub, tmp_path, capsys):
    model = make_run(tmp_path / "run")
    recipe = Recipe(task="simclr", training={"output_dir": str(tmp_path / "run")},
                    hub=HubConfig(push_to_hub=True, hub_model_id="team/from-recipe"))
    recipe.command = "hf-replearn train recipes/simclr.yaml"
    info = push_recipe(recipe, {"linear_probe_accuracy": 0.75}, endpoint=hub.url, token=TOKEN)
    printed = capsys.readouterr().out
    assert f"{hub.url}/team/from-recipe" in printed and info.oid in printed  # the repo URL and the commit
    assert {"hf_replearn", "simclr"} <= set(hh.HfApi().model_info("team/from-recipe").tags)  # from the card's metadata
    assert ModelCard.load(tmp_path / "run" / "README.md").data.to_dict()["reproduce"] == recipe.command
    assert_same_weights(model, AutoModel.from_pretrained("team/from-recipe"))
    recipe.hub = HubConfig(push_to_hub=True)
    with pytest.raises(UserError, match="hub.hub_model_id is not set"):
        check_hub_recipe(recipe)
    recipe.hub = HubConfig(push_to_hub=True, hub_model_id="../evil")
    with pytest.raises(UserError, match="hub.hub_model_id '../evil' is not a hub repo id"):
        check_hub_recipe(recipe)


def test_5xx_is_retried_with_backoff_then_a_clear_error_and_the_output_intact(canned, tmp_path):
    server, url = canned(500, b'{"error": "boom"}')
    make_run(tmp_path / "run")
    before = snapshot(tmp_path / "run")
    waits = []
    with pytest.raises(UserError) as err:
        push_output_dir(tmp_path / "run", "team/x", endpoint=url, token=TOKEN, retries=3, backoff=0.5,
                        sleep=waits.append)
    assert waits == [0.5, 1.0, 2.0]
    assert server.hits == 4
    assert "failed 4 times" in str(err.value) and "is intact" in str(err.value)
    assert "hf-replearn hub push" in str(err.value)
    assert snapshot(tmp_path / "run") == before


def test_server_down_is_retried_then_fails_clearly(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    make_run(tmp_path / "run")
    waits = []
    with pytest.raises(UserError, match="failed 3 times .*ConnectError"):
        push_output_dir(tmp_path / "run", "team/x", endpoint=f"http://127.0.0.1:{port}", token=TOKEN,
                        retries=2, sleep=waits.append)
    assert waits == [1.0, 2.0]
    with pytest.raises(UserError, match=r"--retries -1: give 0 or more"):  # it made no try and reported success
        push_output_dir(tmp_path / "run", "team/x", endpoint=f"http://127.0.0.1:{port}", token=TOKEN, retries=-1)


def test_garbage_bad_token_and_bad_input_fail_at_once(canned, hub, tmp_path, monkeypatch):
    make_run(tmp_path / "run")
    server, url = canned(200, b"<html>not a hub</html>")
    with pytest.raises(UserError, match="not the Hub API"):
        push_output_dir(tmp_path / "run", "team/x", endpoint=url, token=TOKEN, sleep=pytest.fail)
    assert server.hits == 1
    with pytest.raises(UserError, match="HTTP 401.*check the token"):
        push_output_dir(tmp_path / "run", "team/x", endpoint=hub.url, token="wrong", sleep=pytest.fail)
    for repo_id in ("../x", "/abs/x", "a\\b/c", "a/b/c", "team/..", "x"):
        with pytest.raises(UserError, match="is not a hub repo id"):
            push_output_dir(tmp_path / "run", repo_id, endpoint=hub.url, token=TOKEN)
    with pytest.raises(UserError, match="holds no final weights"):
        push_output_dir(tmp_path / "run" / "plots", "team/x", endpoint=hub.url, token=TOKEN)
    with pytest.raises(UserError, match="does not exist"):
        push_output_dir(tmp_path / "nope", "team/x", endpoint=hub.url, token=TOKEN)
    monkeypatch.setattr(hh.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(UserError, match="HF_HUB_OFFLINE .* is set"):
        push_output_dir(tmp_path / "run", "team/x", endpoint=hub.url, token=TOKEN)
    monkeypatch.setattr(hh.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hh, "get_token", lambda: None)
    with pytest.raises(UserError, match="no hub token"):
        push_output_dir(tmp_path / "run", "team/x", endpoint=hub.url)
    with pytest.raises(UserError, match="needs a write token"):
        monkeypatch.delenv("HF_REPLEARN_HUB_TOKEN", raising=False)
        read_tokens([], None)
    (tmp_path / "tokens").write_text("# team tokens\nabc\n\n def \n")
    assert read_tokens(["x"], tmp_path / "tokens") == ["x", "abc", "def"]


def test_trainer_push_to_hub_round_trips(hub, tmp_path):
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, BertForSequenceClassification, Trainer
    from transformers import TrainingArguments

    torch.manual_seed(0)
    model = BertForSequenceClassification(tiny_bert(0).config)
    ids = torch.randint(1, 99, (16, 8), generator=torch.Generator().manual_seed(1))
    train = Dataset.from_dict({"input_ids": ids.tolist(), "labels": (ids[:, 0] > 50).long().tolist()})
    args = TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=2, per_device_train_batch_size=8,
                             report_to=[], use_cpu=True, disable_tqdm=True, save_strategy="no",
                             push_to_hub=True, hub_model_id="team/trainer-run", hub_token=TOKEN)
    trainer = Trainer(model=model, args=args, train_dataset=train)
    trainer.train()
    info = trainer.push_to_hub(commit_message="end of training")
    assert hh.HfApi().list_repo_commits("team/trainer-run")[0].title == "end of training"
    assert_same_weights(model, AutoModelForSequenceClassification.from_pretrained("team/trainer-run",
                                                                                   revision=info.oid))
