"""One row of the table of sentence-classification tasks: GLUE's, and the embedded ones of
:mod:`hf_replearn.data.embedded_text`, so one recipe runs them all."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class GlueTask:
    name: str
    keys: tuple[str, ...]
    """Sentence columns: one for single-sentence tasks, two for pair tasks."""
    label_names: tuple[str, ...] | None
    """Class names in label-id order; ``None`` for regression (STS-B: a 0-5 similarity score)."""
    metric_config: str
    """Configuration of the project's ``glue`` metric."""
    eval_splits: tuple[str, ...] = ("validation",)
    tsv_dir: str | None = None
    """Folder of the task in the GLUE distribution."""
    tsv_columns: tuple = ()
    """Columns of the distribution's TSV files, in order ``keys..., label``: header names, or indices when
    the files have no header (CoLA)."""
    description: str = ""

    @property
    def is_regression(self) -> bool:
        return self.label_names is None

    @property
    def num_labels(self) -> int:
        return 1 if self.label_names is None else len(self.label_names)
