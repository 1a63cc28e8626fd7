
from hf_replearn.hub.probe_card import push_probe_card, replace_section


def test_replace_section_adds_then_replaces_by_heading():
    text = "# m\n\nintro\n\n## Linear probe on a\n\nold\n\n## Other\n\nkept\n"
    new = replace_section(text, "## Linear probe on a\n\nnew table")
    assert new == "# m\n\nintro\n\n## Linear probe on a\n\nnew table\n\n## Other\n\nkept\n"
    both = replace_section(new, "## Linear probe on b\n\nb table")
    assert both.endswith("## Other\n\nkept\n\n## Linear probe on b\n\nb table\n")


def test_push_writes_the_section_and_model_index(hub, tmp_path):
    from huggingface_hub import ModelCard, create_repo

    create_repo("me/probed")
    section = "## Linear probe on polarity\n\n| features | all labels |\n|---|---|\n| model | 0.750 |"
    results = {"linear_probe/model/all": 0.75, "knn/model": 0.7, "eval/runtime_s": 3.0}
    push_probe_card("me/probed", section, results, "polarity")
    push_probe_card("me/probed", section.replace("0.750", "0.800"), {**results, "linear_probe/model/all": 0.8}, "polarity")
    card = ModelCard.load("me/probed")
    assert card.text.count("## Linear probe on polarity") == 1 and "| model | 0.800 |" in card.text
    entries = {(r.metric_name, r.metric_value) for r in card.data.eval_results}
    assert entries == {("linear_probe/model/all", 0.8), ("knn/model", 0.7)}  # eval/ timings are not indexed


def test_eval_probe_push_checks_the_repo_before_probing(hub, tmp_path, capsys):
    """--push to a repo that is not on the hub fails before the probe's minutes, leaving no output folder."""
    from huggingface_hub import create_repo

    from hf_replearn.cli import main
    from hf_replearn.hub.probe_card import check_push_target
    from hf_replearn.models.simclr import SimCLRConfig, SimCLRModel

    model = tmp_path / "simclr"
    SimCLRModel(SimCLRConfig(num_channels=1, image_size=8, widths=[4, 8], projection_dim=4)).save_pretrained(model)
    out = tmp_path / "probe"
    argv = ["eval", "probe", "--model", str(model), "--dataset", "digits", "--labels-per-class", "1", "--seeds", "1",
            "--no-tsne", "--output-dir", str(out), "--push", "me/not-there"]
    assert main(argv) == 2
    assert "--push me/not-there: no such repo on the hub; push the model first" in capsys.readouterr().err
    assert not out.exists()
    create_repo("me/there")
    check_push_target("me/there")  # a repo that is there passes
