import pytest

from hf_replearn.training.outputs import save_model_atomically


def test_save_model_atomically_survives_a_crash_mid_save(tmp_path):
    from hf_replearn.models.simclr import SimCLRConfig, SimCLRModel

    model = SimCLRModel(SimCLRConfig(widths=[4], projection_dim=2))
    save_model_atomically(model, tmp_path)
    good = (tmp_path / "model.safetensors").read_bytes()

    class Crashing(SimCLRModel):
        def save_pretrained(self, path, **kw):
            super().save_pretrained(path, **kw)
            raise RuntimeError("killed mid-save")

    with pytest.raises(RuntimeError):
        save_model_atomically(Crashing(SimCLRConfig(widths=[4], projection_dim=2)), tmp_path)
    assert (tmp_path / "model.safetensors").read_bytes() == good
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".save-")]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_saved_weights_follow_the_umask(tmp_path, umask):
    import os

    from hf_replearn.models.simclr import SimCLRConfig, SimCLRModel

    old = os.umask(umask)
    try:
        save_model_atomically(SimCLRModel(SimCLRConfig(widths=[4], projection_dim=2)), tmp_path)
    finally:
        os.umask(old)
    for name in ("model.safetensors", "config.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask, name
