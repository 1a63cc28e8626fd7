"""The few-shot section of a model card, from :func:`evaluate_grid` results."""

from __future__ import annotations


def model_card_section(task_results: dict[str, dict], plot_paths: dict[str, str] | None = None,
                       heading: bool = True) -> str:
    """Markdown: one table per task (rows k, columns metrics as mean ± std over seeds), then its plot."""
    lines = (["## Few-shot evaluation", ""] if heading else []) + [
             "In-context, no gradient updates: k demonstrations drawn per test document (seeded), scored by "
             "log-likelihood (multiple_choice) or greedy generation (generate_until); mean ± std over seeds.", ""]
    for task, grid in task_results.items():
        metrics = list(next(iter(grid.values())))
        lines += [f"### {task}", "", "| k | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
        for key, values in grid.items():
            cells = [f"{values[m]['mean']:.3f} ± {values[m]['std']:.3f}" for m in metrics]
            lines.append(f"| {key.split('=')[1]} | " + " | ".join(cells) + " |")
        if plot_paths and task in plot_paths:
            lines += ["", f"![accuracy against k for {task}]({plot_paths[task]})"]
        lines.append("")
    return "\n".join(lines)
