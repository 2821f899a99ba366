"""A Table 1 JSON written before `test_queries` was recorded: its paired header still says
when `eval_limit` kept only the first queries of each test split, from the profile's limit
and the splits' sizes; a JSON without a limit keeps "every one"."""

from __future__ import annotations

import json
from pathlib import Path

from prixlm.experiments.table1_docs import main, render

ROOT = Path(__file__).resolve().parents[2]


def _committed() -> dict:
    """The committed Table 1 (written before `test_queries`) with one paired difference."""
    table = json.loads((ROOT / "results" / "table1.json").read_text("utf-8"))
    cell = {"difference": 0.1, "low": 0.0, "high": 0.2, "share_above_zero": 0.99}
    table["paired"] = {
        "Prix-LM (All) - TransE": {"ours": dict.fromkeys(("hits_at_1", "mrr"), cell)}
    }
    return table


def _render_through_the_command(table: dict, tmp_path: Path) -> str:
    results, docs = tmp_path / "table1.json", tmp_path / "results.md"
    results.write_text(json.dumps(table), "utf-8")
    docs.write_text("# Results\n", "utf-8")
    main(["--results", str(results), "--docs", str(docs), "--chart", str(tmp_path / "t.png")])
    return docs.read_text("utf-8")


def test_an_old_json_with_a_truncating_eval_limit_names_the_first_queries(tmp_path):
    table = _committed()
    assert "test_queries" not in table
    table["profile"]["eval_limit"] = 270  # it 269 and hu 251 are whole; the others are cut
    text = _render_through_the_command(table, tmp_path)
    assert (
        "**Paired differences** (the same test queries, the first of each language's split: "
        "en 270 of 275, it 269 of 269, de 270 of 273, fr 270 of 274, fi 270 of 275, "
        "et 270 of 274, tr 270 of 272, hu 251 of 251, ja 270 of 272; the difference"
    ) in text
    assert "every one" not in text.split("**Paired differences**")[1].split(";")[0]


def test_an_old_json_whose_limit_cuts_no_split_keeps_every_one():
    table = _committed()
    table["profile"]["eval_limit"] = 275  # the largest split: nothing cut
    assert "**Paired differences** (the same test queries, every one; the" in render(table)


def test_the_committed_json_without_a_limit_renders_every_one():
    table = _committed()
    assert table["profile"].get("eval_limit") is None
    assert "**Paired differences** (the same test queries, every one; the" in render(table)
