"""Model families (configuration/modeling pairs); importing this registers them with the Auto classes."""

from hf_replearn.models.auto import register_all

register_all()
