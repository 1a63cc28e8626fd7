"""Accuracy against the number of demonstrations k, mean +- std over seeds."""

from __future__ import annotations

from pathlib import Path


def _axes(figsize=(5, 3.5)):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, *plt.subplots(figsize=figsize)


def _save(plt, fig, ax, ks: list[int], path: str | Path, title: str, ylabel: str) -> Path:
    ax.set_xlabel("demonstrations k")
    ax.set_ylabel(ylabel)
    ax.set_xticks(ks)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    else:  # a task scored by perplexities alone (loglikelihood_rolling)
        ax.text(0.5, 0.5, "no score in [0, 1] to plot:\nthe perplexities are in fewshot_results.json",
                ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_accuracy_vs_k(results: dict, path: str | Path, title: str = "", chance: float | None = None) -> Path:
    """``results`` is :func:`evaluate_grid`'s output; one line per metric."""
    ks = [int(key.split("=")[1]) for key in results]
    plt, fig, ax = _axes()
    for metric in next(iter(results.values())):
        if any(not 0 <= results[f"k={k}"][metric]["mean"] <= 1 for k in ks):
            continue  # a perplexity is not a score in [0, 1]: it stays in the JSON, off this axis
        means = [results[f"k={k}"][metric]["mean"] for k in ks]
        stds = [results[f"k={k}"][metric]["std"] for k in ks]
        ax.errorbar(ks, means, yerr=stds, marker="o", capsize=3, label=metric)
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label="chance")
    return _save(plt, fig, ax, ks, path, title, "score (mean ± std over seeds)")


def plot_group_vs_k(layouts: dict[int, dict], group, path: str | Path, max_labelled: int = 10) -> Path:
    """A group's score against k: its aggregate (bold) and one line per direct member (a subgroup's aggregate or a
    task's score), read from the lm-eval layouts of each k (``layouts[k]["results"]``); one figure however many
    tasks the group holds (MMLU: 57 tasks in 4 subgroups). Past ``max_labelled`` members, they are thin grey lines
    under one legend entry."""
    from hf_replearn.evaluation.fewshot.groups import Group

    ks = sorted(layouts)
    first = layouts[ks[0]]["results"]
    metrics = [e["metric"] for e in group.aggregate_metric_list]

    def key_of(name: str) -> str | None:  # the group's first aggregated metric (any filter), else the first score
        keys = [k for k, v in first.get(name, {}).items() if isinstance(v, float) and "_stderr" not in k]
        return next((k for m in metrics for k in keys if k.startswith(m + ",")), None if metrics else next(iter(keys), None))

    plt, fig, ax = _axes((6, 4))
    members = [m.name if isinstance(m, Group) else m.task for m in group.members]
    many = len(members) > max_labelled
    for i, name in enumerate(members + [group.name]):
        key = key_of(name)
        if key is None:  # a group without aggregate_metric_list reports no score of its own
            continue
        values = [layouts[k]["results"][name][key] for k in ks]
        if name == group.name:
            ax.plot(ks, values, marker="o", linewidth=2.5, color="black", label=f"{name} ({key})")
        elif many:
            ax.plot(ks, values, linewidth=0.8, color="grey", alpha=0.5, label=f"its {len(members)} members" if i == 0 else None)
        else:
            ax.plot(ks, values, marker="o", linewidth=1, alpha=0.7, label=name)
    return _save(plt, fig, ax, ks, path, group.name, "score (lm-eval's aggregation)")
