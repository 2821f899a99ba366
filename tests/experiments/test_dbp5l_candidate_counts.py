"""The candidates each DBP-5L method ranked, as `results/dbp5l.json` and its docs state them:
counted by the job records (a Prix-LM record takes its language's KGE count: one list), never
read from `kb` (whose `entities` once counted the labels the triples name); the committed
file's counts are those of the DBP-5L layout."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from prixlm.experiments.dbp5l_docs import candidate_note, read_block, render
from prixlm.experiments.dbp5l_results import assemble

ROOT = Path(__file__).resolve().parents[2]
DBP5L = Path(os.environ.get("PRIXLM_DBP5L", ROOT.parent / "shared" / "dbp5l"))
#: `kb` of a run made before `entities` meant the candidates: fewer (the triples' labels)
OLD_KB = {"ja": {"entities": 20, "triples": 5, "train": 3, "validation": 1, "test": 1}}


def _test(merged: int = 0) -> dict[str, Any]:
    ours = {"hits_at_1": 0.5, "hits_at_10": 1.0, "mrr": 0.75, "num_queries": 2}
    return {"ja": {"ours": {**ours, **({"merged_candidates": merged} if merged else {})}}}


def _kge(candidates: int) -> dict[str, Any]:
    return {"winner": {"model": "TransE", "embedding_dim": 8},
            "validation": {"ja": {"ours": {"mrr": 0.5}}}, "grid": [], "grid_points": 1,
            "epoch_points": [5], "seconds": 1.0, "test": _test(), "test_full": None,
            "candidates": candidates}  # fmt: skip


def _prixlm(merged: int) -> dict[str, Any]:
    return {"job": "all-links", "settings": {}, "steps": 10, "time_budget_s": None,
            "budget_clock": "cpu", "train_seconds": 1.0, "eval_seconds": 1.0, "command": "c",
            "seconds": 2.0, "test": _test(merged)}  # fmt: skip


def _table(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return assemble({"languages": ["ja"], "seed": 0}, records, OLD_KB, {}, 0.0, "c")


def test_prix_lm_ranks_the_count_its_language_s_kge_record_states_not_kb_entities():
    """Prix-LM records hold no count of their own: they rank the KGE's list (23 labels),
    not `kb`'s 20 (the triples' labels of an older run)."""
    table = _table({"kge-TransE-ja": _kge(23), "all-links": _prixlm(merged=1)})
    assert table["candidates"] == {"TransE": {"ja": 23}, "Prix-LM (All)": {"ja": 23}}
    assert table["merged_candidates"] == {"TransE": {"ja": 0}, "Prix-LM (All)": {"ja": 1}}
    assert candidate_note(table).endswith("TransE: ja 23; Prix-LM (All): ja 22 (1 merged).")
    assert "Prix-LM (All): ja 22 (1 merged)." in render(table)


def test_without_a_record_counting_the_language_no_count_is_printed():
    """Prix-LM alone: its count is unknown (`–`), not `kb`'s entities."""
    table = _table({"all-links": _prixlm(merged=1)})
    assert table["candidates"] == {"Prix-LM (All)": {}}
    assert candidate_note(table).endswith(
        "which rank every entity: Prix-LM (All): ja – (1 merged)."
    )


def test_committed_candidate_counts_are_every_entity_for_every_method():
    """The committed run ranked every entity of each KG with every method (Prix-LM ranked
    labels that tokenise alike as tied candidates then, merging none): `kb` entities and
    each method's `candidates` are one count, so the docs print no merge note."""
    table = json.loads((ROOT / "results" / "dbp5l.json").read_text("utf-8"))
    entities = {lang: table["kb"][lang]["entities"] for lang in table["languages"]}
    assert entities == {"el": 5210, "en": 13951, "es": 12342, "fr": 13134, "ja": 11763}
    assert set(table["candidates"]) == set(table["test_queries"])
    assert all(counts == entities for counts in table["candidates"].values())
    assert all(set(m.values()) == {0} for m in table["merged_candidates"].values())
    block = read_block((ROOT / "docs" / "results.md").read_text("utf-8"))
    assert candidate_note(table) == "" and "tokenise alike" not in block


@pytest.mark.skipif(not (DBP5L / "kg").is_dir(), reason="DBP-5L is not on this machine")
def test_committed_kb_is_what_kb_statistics_gives_for_the_layout(tmp_path):
    """`kb` as the runner computes it (`kb_statistics` over the converted layout)."""
    from prixlm.experiments.dbp5l import prepare_dataset
    from prixlm.experiments.table1_data import kb_statistics

    table = json.loads((ROOT / "results" / "dbp5l.json").read_text("utf-8"))
    dataset = prepare_dataset(DBP5L, tmp_path, table["languages"])
    assert kb_statistics(dataset, table["languages"], DBP5L) == table["kb"]
