from hf_replearn.evaluation.fewshot.report import model_card_section


def test_model_card_section_table():
    grid = {"k=0": {"acc": {"mean": 0.5, "std": 0.0}}, "k=8": {"acc": {"mean": 0.875, "std": 0.0125}}}
    text = model_card_section({"incontext_binary": grid}, {"incontext_binary": "fewshot_incontext_binary.png"})
    assert "| k | acc |\n|---|---|\n| 0 | 0.500 ± 0.000 |\n| 8 | 0.875 ± 0.013 |" in text
    assert "![accuracy against k for incontext_binary](fewshot_incontext_binary.png)" in text
