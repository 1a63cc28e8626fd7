from hf_replearn.tasks.word2vec import COMPILE_MIN_PAIRS, compiles_loss


def test_compile_loss_null_compiles_long_runs_only():
    assert not compiles_loss(None, 64 * 6)  # a smoke run stays eager
    assert not compiles_loss(None, COMPILE_MIN_PAIRS - 1) and compiles_loss(None, COMPILE_MIN_PAIRS)
    assert compiles_loss(True, 10) and not compiles_loss(False, 10 * COMPILE_MIN_PAIRS)
