"""Table 1 says what each method was measured on: the test queries each ranked (a truncating
`eval_limit` included), which validation rows each choice used, and the links the
union-graph RotatE trains on against the All beside it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from prixlm.experiments.table1_docs import markers, render

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("TransE", "RotatE", "RotatE (union graph)", "Prix-LM (Single)", "Prix-LM (All)")


def _committed(name: str = "table1.json") -> dict:
    return json.loads((ROOT / "results" / name).read_text("utf-8"))


def _block(text: str, block: str = "table1") -> str:
    start, end = markers(block)
    return text[text.index(start) : text.index(end)]


def test_a_truncating_eval_limit_is_recorded_and_said(table1_toy_run):
    """The toy profile ranks the first 6 of the 8 test queries per language: the JSON
    counts them per method and language, and neither the protocol line nor the paired
    header claims the whole split."""
    root, _, table = table1_toy_run
    saved = json.loads((root / "table1.json").read_text("utf-8"))
    assert saved["kb"]["en"]["test"] == saved["kb"]["de"]["test"] == 8
    assert saved["test_queries"] == {method: {"en": 6, "de": 6} for method in METHODS}
    assert saved["protocol"].endswith(
        "; test: the first 6 queries of each language's test split (`eval_limit`), not every one"
    )
    docs = _block((root / "docs" / "results.md").read_text("utf-8"))
    assert (
        "**Test queries per language** (the first ones of each test split): TransE, RotatE, "
        "Prix-LM (Single), Prix-LM (All), RotatE (union graph): en 6, de 6; the test splits "
        "hold en 8, de 8."
    ) in docs
    assert saved["paired"]  # the toy records keep per-query ranks
    assert (
        "**Paired differences** (the same test queries, the first of each language's split: "
        "en 6 of 8, de 6 of 8; the difference"
    ) in docs
    assert "test queries, every one" not in docs


def test_every_test_query_ranked_keeps_the_every_one_wording():
    table = _committed()  # written before `test_queries`: rendered as it was
    assert "test_queries" not in table and "**Test queries per language**" not in render(table)
    table["test_queries"] = {
        method: {lang: cells["test"] for lang, cells in table["kb"].items()} for method in METHODS
    }
    table["paired"] = {"Prix-LM (All) - TransE": {"ours": {m: {"difference": 0.1, "low": 0.0,
                       "high": 0.2, "share_above_zero": 0.99} for m in ("hits_at_1", "mrr")}}}  # fmt: skip
    text = render(table)
    assert "**Paired differences** (the same test queries, every one; the" in text
    assert "the test splits hold en 275, it 269, de 273" in text


def test_the_validation_note_says_which_rows_each_choice_used():
    """KGE searches choose on every validation query, All's curve is the validation loss over
    every fact, and only the Prix-LM rankings use `validation_limit` queries."""
    table = _committed()
    kb, details = table["kb"], table["details"]
    kge = [run["validation"]["num_queries"] for m in ("TransE", "RotatE") for run in details[m].values()]  # fmt: skip
    assert all(
        details[m][lang]["validation"]["num_queries"] == kb[lang]["validation"]
        for m in ("TransE", "RotatE")
        for lang in table["languages"]
    )
    curve = details["Prix-LM (All)"]["variants"]["all-pivot"]["curve"]
    assert (curve["metric"], curve["queries_per_language"]) == ("loss", None)
    limit = table["profile"]["validation_limit"]
    prixlm = {
        cell["num_queries"]
        for method in ("Prix-LM (Single)", "Prix-LM (All)")
        for run in details[method]["variants"].values()
        for cell in run["validation"].values()
    }
    assert prixlm == {limit} == {50}
    note = next(n for n in table["notes"] if n.startswith("Full ranking:"))
    assert (
        "Validation: the KGE searches choose their grid point and epochs on every validation "
        f"query of the language ({min(kge)} to {max(kge)}); All's curve, and the flat-then-anneal "
        "rule that ended its training, is the validation loss over every validation fact; only "
        "the Prix-LM validation rankings"
    ) in note
    assert f"use the first {limit} validation queries per language. Test: every query." in note
    assert "what the curve and choices use" not in note


def test_the_union_graph_line_names_its_links_beside_alls():
    table = _committed()
    text = render(table)
    line = (
        "RotatE (union graph) trains on every language's train triples and the sameAs links "
        "between every pair of languages (156,246 training triples); the Prix-LM (All) beside it "
        "(variant `pivot`) trains on the links with one end in en only, so the union graph sees "
        "more links than All. It is trained at the first grid point of the RotatE search only."
    )
    assert line in text
    assert text.index("| Prix-LM (All) | 48.5 |") < text.index(line) < text.index("**Paired")
    same_links = copy.deepcopy(table)
    same_links["profile"]["all_variants"] = {"pivot": {}}  # All on the main dataset too
    assert (
        "between every pair of languages (156,246 training triples), as the Prix-LM (All) beside "
        "it (variant `pivot`) does."
    ) in render(same_links)
    del table["methods"]["RotatE (union graph)"], table["details"]["RotatE (union graph)"]
    assert "RotatE (union graph) trains" not in render(table)


@pytest.mark.parametrize(("block", "name"), [("table1", "table1.json"), ("table1-quick", "table1_quick.json")])  # fmt: skip
def test_committed_blocks_state_the_union_links(block, name):
    docs = _block((ROOT / "docs" / "results.md").read_text("utf-8"), block)
    size = _committed(name)["details"]["RotatE (union graph)"]["train_triples"]
    assert f"between every pair of languages ({size:,} training triples); the Prix-LM (All)" in docs
