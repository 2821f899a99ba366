"""prixlm.completion.measure: every method is scored on the queries the model ranks, and the
docs block says which queries those are when the model could not rank them all."""

from __future__ import annotations

import json
from pathlib import Path

from completion_kb import dataset_rows, write_dataset

from prixlm.completion.measure import main
from prixlm.completion.results_docs import results_block

LONG = "Frankreich " * 30 + "Republik"  # the held-out fact's subject: too long for the model


def _dataset_with_a_long_subject(folder: Path) -> Path:
    configs = dataset_rows()
    for rows in (rows for splits in configs.values() for rows in splits.values()):
        for row in rows:
            for column in ("subject", "object"):
                if row[column] == "Frankreich":
                    row[column] = LONG
            row["all_objects"] = [LONG if o == "Frankreich" else o for o in row["all_objects"]]
    return write_dataset(folder, configs)


def _at_zero(report: dict, rows: list[dict]) -> dict:
    return rows[report["thresholds"].index(0.0)]


def test_link_projection_is_scored_on_the_queries_the_model_ranked(completion_kb, tmp_path):
    _, model = completion_kb
    dataset = _dataset_with_a_long_subject(tmp_path / "dataset")
    report = main(
        [
            "--model", str(model), "--dataset", str(dataset), "--target_language", "de",
            "--num_beams", "5", "--max_per_pair", "1",
            "--output", str(tmp_path / "completion.json"),
        ]
    )  # fmt: skip
    assert report["queries"]["queries"] == report["queries"]["queries_too_long"] == 1
    for method in ("model", "model_agreeing", "link_projection"):
        row = _at_zero(report, report["methods"][method])
        assert (row["proposals"], row["correct"], row["recall"]) == (0, 0, 0.0), method
        assert report["curves"][method] == []
    assert report["hidden_facts_with_evidence"] == 1
    assert report["hidden_facts_with_ranked_queries"] == 0
    every = _at_zero(report, report["link_projection_every_query"])
    assert (every["proposals"], every["judged"], every["correct"], every["recall"]) == (
        1,
        1,
        1,
        1.0,
    )
    block = results_block(report)
    assert (
        "The model ranked 0 of these 1 queries (1 too long for the model); they cover 0 of the 1 "
        "hidden facts. Every method below is scored on those 0 queries only.\n"
        "`link_projection` on all 1: 1 of 1 judged proposals correct, recall 100.0%."
    ) in block
    written = json.loads((tmp_path / "completion.json").read_text(encoding="utf-8"))
    assert written["link_projection_every_query"] == report["link_projection_every_query"]


def test_a_model_that_ranks_every_query_scores_link_projection_on_all(completion_kb, tmp_path):
    dataset, model = completion_kb
    report = main(
        [
            "--model", str(model), "--dataset", str(dataset), "--target_language", "de",
            "--num_beams", "5", "--output", str(tmp_path / "completion.json"),
        ]
    )  # fmt: skip
    assert report["methods"]["link_projection"] == report["link_projection_every_query"]
    assert report["hidden_facts_with_ranked_queries"] == report["hidden_facts_with_evidence"] == 1
    assert "The model ranked" not in results_block(report)


def _committed_report() -> dict:
    root = Path(__file__).resolve().parents[2]
    return json.loads((root / "results" / "completion.json").read_text(encoding="utf-8"))


def test_the_block_names_every_count_of_queries_the_model_did_not_rank():
    report = _committed_report()  # written before these fields: none of them
    assert "link_projection_every_query" not in report
    assert "The model ranked" not in results_block(report)
    report["queries"].update(
        queries=300, queries_beyond_limit=8, queries_too_long=3, queries_unencodable=2
    )
    report["queries"]["ambiguous_objects"] = 4
    report["hidden_facts_with_ranked_queries"] = 210
    assert (
        "only proposals for pairs with hidden facts (judged); recall is over all 302.\n"
        "The model ranked 295 of these 308 queries (8 beyond the query limit, 3 too long for the "
        "model, 2 that it cannot encode); they cover 210 of the 302 hidden facts. Every method "
        "below is scored on those 295 queries only.\n"
        "4 model proposals were skipped as ambiguous (labels the model cannot tell apart, and no "
        "evidence language says which entity is meant).\n"
    ) in results_block(report)
    assert "are 308 distinct\net queries" in results_block(report)
