"""Trainer subclasses, callbacks, and the output-directory discipline shared by all recipes."""
