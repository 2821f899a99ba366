"""The DBP-5L KGE searches as curves: validation MRR against epochs, one line per grid point.

One panel per language; TransE solid, RotatE dashed; each winner (point, epochs) is ringed.
Read from `results/dbp5l.json`'s `details` (every evaluated epoch point of every grid point,
with early stopping where the profile sets it), so the chart and the docs come from one file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prixlm.outputs.atomic import atomic_file

RUN_KEYS = ("epochs", "validation_mrr", "seconds", "stopped_early")
STYLE = {"TransE": "-", "RotatE": "--"}


def search_lines(grid: list[Mapping[str, Any]]) -> list[tuple[dict[str, Any], list[tuple]]]:
    """`[(point, [(epochs, validation_mrr), ...]), ...]`: the grid's entries grouped by
    point (consecutive entries with the same settings, in the order they were trained)."""
    lines: list[tuple[dict[str, Any], list[tuple]]] = []
    for entry in grid:
        point = {key: value for key, value in entry.items() if key not in RUN_KEYS}
        if not lines or lines[-1][0] != point:
            lines.append((point, []))
        lines[-1][1].append((entry["epochs"], entry["validation_mrr"]))
    return lines


def point_label(model: str, point: Mapping[str, Any], base: Mapping[str, Any]) -> str:
    """`model` and the settings where `point` differs from the first point (`base`)."""
    changed = [f"{key} {value}" for key, value in point.items() if base.get(key) != value]
    return f"{model} " + (", ".join(changed) if changed else "base")


def point_colours(details: Mapping[str, Any], languages: list[str]) -> dict[str, str]:
    """One colour per grid point label, the same in every panel (with the axes' own colour
    cycle, a panel lacking a model or a point gave the next lines the colours that the
    legend, drawn in the first panel, names other points by)."""
    labels: list[str] = []
    for model in STYLE:
        for language in languages:
            run = details.get(model, {}).get(language)
            if not run:
                continue
            lines = search_lines(run["grid"])
            for point, _values in lines:
                label = point_label(model, point, lines[0][0])
                if label not in labels:
                    labels.append(label)
    return {label: f"C{index % 10}" for index, label in enumerate(labels)}


def write_search_chart(table: Mapping[str, Any], chart: Path) -> None:
    """One panel per language of `table["details"]`' KGE searches, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    languages = table["languages"]
    details = table.get("details", {})
    colours = point_colours(details, languages)
    handles: dict[str, Any] = {}  # label -> its first line: one legend for every panel
    figure, axes = plt.subplots(1, len(languages), figsize=(3.2 * len(languages), 3.4),
                                sharey=True, squeeze=False)  # fmt: skip
    for axis, language in zip(axes[0], languages, strict=True):
        for model, style in STYLE.items():
            run = details.get(model, {}).get(language)
            if not run:
                continue
            lines = search_lines(run["grid"])
            winner = run["winner"]
            for point, values in lines:
                epochs, mrr = zip(*values, strict=True)
                label = point_label(model, point, lines[0][0])
                (line,) = axis.plot(epochs, mrr, style, marker=".", lw=1, label=label,
                                    color=colours[label])  # fmt: skip
                handles.setdefault(label, line)
                if all(winner.get(k) == v for k, v in point.items()):
                    best = dict(values)[winner["epochs"]]
                    axis.plot([winner["epochs"]], [best], "o", ms=10, mfc="none", color="black")
        axis.set_title(language)
        axis.set_xlabel("epochs")
    axes[0][0].set_ylabel("validation MRR (ours)")
    ordered = [label for label in colours if label in handles]
    axes[0][0].legend([handles[label] for label in ordered], ordered, fontsize=6)
    figure.tight_layout()
    with atomic_file(chart, "--chart") as staging:
        figure.savefig(staging, format="png", dpi=100)
    plt.close(figure)


__all__ = ["point_colours", "point_label", "search_lines", "write_search_chart"]
