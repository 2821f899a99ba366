"""The committed Table 1 blocks of docs/results.md and where `table1_docs` puts a block."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prixlm.experiments.table1_docs import METRIC_NAMES

COMPLETION = "<!-- completion:start -->\nkept: precision table\n<!-- completion:end -->\n"


@pytest.mark.parametrize(
    ("block", "source", "chart"),
    [
        ("table1", "results/table1.json", "table1.png"),
        ("table1-quick", "results/table1_quick.json", "table1_quick.png"),
    ],
)
def test_committed_docs_are_the_rendering_of_the_committed_json(block, source, chart):
    """Each Table 1 block of docs/results.md is exactly what table1_docs.render makes of its JSON."""
    from prixlm.experiments.table1_docs import markers, render

    root = Path(__file__).resolve().parents[2]
    table = json.loads((root / source).read_text("utf-8"))
    docs = (root / "docs" / "results.md").read_text("utf-8")
    start, end = markers(block)
    assert docs.count(start) == docs.count(end) == 1
    text = docs[docs.index(start) + len(start) + 1 : docs.index(end) - 1]
    rendered = render(table, block, source).replace("](table1.png)", f"]({chart})")
    curve = Path(chart).stem + "_all_curve.png"
    assert text == rendered.replace("](table1_all_curve.png)", f"]({curve})")
    assert (root / "docs" / chart).read_bytes()[:4] == b"\x89PNG"
    assert set(table["methods"]) >= {"TransE", "RotatE", "Prix-LM (Single)", "Prix-LM (All)"}
    for cells in table["methods"].values():
        assert list(cells) == table["languages"]
        for metrics in cells.values():
            assert set(metrics) == {"hits_at_1", "hits_at_3", "hits_at_10", "mrr"}
            assert all(0 <= v <= 1 for v in metrics.values())
    assert (root / "docs" / "table1.png").read_bytes()[:4] == b"\x89PNG"


def test_quick_block_goes_after_the_table1_block_and_leaves_it_alone(tmp_path):
    from prixlm.experiments.table1_docs import main

    table = {"languages": ["en"], "methods": {"TransE": {"en": dict.fromkeys(METRIC_NAMES, 0.25)}},
             "profile": {"name": "quick"}}  # fmt: skip
    results, docs = tmp_path / "quick.json", tmp_path / "results.md"
    results.write_text(json.dumps(table), "utf-8")
    before = "# Results\n\n<!-- table1:start -->\nfull run\n<!-- table1:end -->\n\n" + COMPLETION
    docs.write_text(before, "utf-8")
    argv = ["--results", str(results), "--docs", str(docs), "--chart", str(tmp_path / "q.png")]
    main([*argv, "--block", "table1-quick"])
    text = docs.read_text("utf-8")
    assert text.startswith("# Results\n\n<!-- table1:start -->\nfull run\n<!-- table1:end -->\n\n")
    assert text.index("<!-- table1-quick:end -->") < text.index(COMPLETION)
    assert f"from `{results.as_posix()}`" in text and "| TransE | 25.0 | 25.0 |" in text
    assert "](q.png)" in text and "](table1.png)" not in text
    table["methods"]["TransE"]["en"]["mrr"] = 0.5
    results.write_text(json.dumps(table), "utf-8")
    main([*argv, "--block", "table1-quick"])  # a second run replaces the block in place
    again = docs.read_text("utf-8")
    assert again.count("<!-- table1-quick:start -->") == 1 and "| TransE | 50.0 | 50.0 |" in again
    with pytest.raises(SystemExit):
        main([*argv, "--block", "table2"])


def test_the_chart_draws_no_bar_for_a_cell_not_measured_yet(tmp_path, monkeypatch):
    """The runner redraws the chart after each job: a language not ranked yet was a bar at
    0 (and so was the average), where the table shows "–"."""
    import math

    import matplotlib.axes
    import matplotlib.figure

    from prixlm.experiments.table1_docs import write_chart

    cell = {"hits_at_1": 0.5, "hits_at_3": 0.6, "hits_at_10": 0.7, "mrr": 0.55}
    table = {
        "languages": ["en", "de"],
        "methods": {"TransE": {"en": cell, "de": cell}, "Prix-LM (All)": {"en": cell}},
    }
    drawn = []
    original = matplotlib.axes.Axes.bar
    monkeypatch.setattr(
        matplotlib.axes.Axes,
        "bar",
        lambda self, x, heights, *a, **k: (
            drawn.append((k["label"], list(heights))) or original(self, x, heights, *a, **k)
        ),
    )
    figures, save = [], matplotlib.figure.Figure.savefig
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig",
                        lambda self, *a, **k: figures.append(self) or save(self, *a, **k))  # fmt: skip
    write_chart(table, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"
    # the bars are fractions, where the tables beside the chart give %
    assert "0 to 1" in figures[0].axes[0].get_ylabel()
    bars = dict(drawn[:2])  # the hits@1 panel
    assert bars["TransE"] == [0.5, 0.5, 0.5]
    assert bars["Prix-LM (All)"][0] == 0.5
    assert all(math.isnan(value) for value in bars["Prix-LM (All)"][1:])


def test_a_table_without_paired_ranks_says_why_it_has_no_paired_section():
    from prixlm.experiments.table1_docs import render

    root = Path(__file__).resolve().parents[2]
    table = json.loads((root / "results" / "table1.json").read_text("utf-8"))
    table.pop("paired", None)
    assert "**Paired differences**: none (the jobs' records keep no per-query" in render(
        table, "table1", "results/table1.json"
    )
