"""`docs/similarity.md`'s checkpoint table and run line, and `docs/similarity_curve.png`, as
drawn from a study's JSON: the series, their labels, and no point under the legend."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from prixlm.similarity.study_docs import plot_curve, render

ROOT = Path(__file__).resolve().parents[2]
SERIES = {  # curve key -> the legend's label
    "xel_accuracy": "XEL accuracy (+Mirror)",
    "bli_accuracy": "BLI accuracy (+Mirror)",
    "probing_accuracy": "probing accuracy (single token)",
    "probing_multi_token_accuracy": "probing accuracy (multi-token)",
    "lp_hits_at_1": "link prediction hits@1 (validation sample)",
}


def _committed() -> dict:
    return json.loads((ROOT / "results" / "similarity.json").read_text("utf-8"))


def test_the_chart_draws_each_series_of_the_json_under_its_label(tmp_path, drawn):
    curve = [
        {"step": 10, "xel_accuracy": 0.1, "bli_accuracy": 0.2, "probing_accuracy": 0.01,
         "probing_multi_token_accuracy": 0.3, "lp_hits_at_1": 0.4},
        {"step": 20, "xel_accuracy": 0.15, "bli_accuracy": 0.25, "probing_accuracy": 0.0,
         "probing_multi_token_accuracy": 0.35, "lp_hits_at_1": None},
    ]  # fmt: skip
    plot_curve(curve, tmp_path / "curve.png")
    (axis,) = drawn[-1].axes
    lines = {line.get_label(): line for line in axis.get_lines()}
    assert set(lines) == set(SERIES.values())
    for key, label in SERIES.items():
        assert list(lines[label].get_xdata()) == [10, 20]
        expected = [float("nan") if p[key] is None else p[key] for p in curve]
        assert lines[label].get_ydata() == pytest.approx(expected, nan_ok=True)
    assert "0 to 1" in axis.get_ylabel()  # fractions, where the page gives %


def test_no_point_of_the_committed_curve_is_under_the_legend(tmp_path, drawn):
    """The legend sat over the last two single-token probing points (0.0 and 1.8%)."""
    plot_curve(_committed()["curve"], tmp_path / "curve.png")
    figure = drawn[-1]
    figure.canvas.draw()
    (axis,) = figure.axes
    box = axis.get_legend().get_window_extent()
    hidden = [
        (line.get_label(), x, y)
        for line in axis.get_lines()
        for x, y in line.get_xydata()
        if box.contains(*axis.transData.transform((x, y)))
    ]
    assert hidden == []


def test_the_checkpoint_table_names_the_value_outside_the_parentheses():
    """Its cells are "single-token (multi-token)"; the header said "probing acc
    (multi-token)", naming the single-token accuracy as the multi-token one."""
    results = copy.deepcopy(_committed())
    results["curve"] = [{"step": 5, "xel_accuracy": 0.1, "bli_accuracy": 0.2,
                         "probing_accuracy": 0.012, "probing_multi_token_accuracy": 0.345,
                         "lp_hits_at_1": 0.5}]  # fmt: skip
    page = render(results, "curve.png")
    table = page.split("## Checkpoints (Fig. 2)")[1].split("## Run")[0]
    header, _, row = [line for line in table.splitlines() if line.startswith("|")]
    column = header.split("|").index(next(c for c in header.split("|") if "probing" in c))
    assert row.split("|")[column].strip() == "1.2 (34.5)"
    assert "single token" in header.split("|")[column]
    assert header.split("|")[column].strip().endswith("(multi-token)")


@pytest.mark.parametrize(("threads", "said"), [(2, ", 2 torch threads."), (1, ", 1 torch thread.")])
def test_the_run_line_gives_the_recorded_torch_threads(threads, said):
    """The line said "(one torch thread)" whatever the run's `torch_num_threads` (the
    committed run: 2, and its command OMP_NUM_THREADS=2)."""
    results = _committed()
    results["torch_num_threads"] = threads
    line = render(results, "curve.png").split("## Run")[1].strip().splitlines()[0]
    assert said in line and "one torch thread" not in line
    del results["torch_num_threads"]  # a run made before it was recorded says nothing
    line = render(results, "curve.png").split("## Run")[1].strip().splitlines()[0]
    assert "torch thread" not in line
