"""The completion docs block of a report written before every method was scored on the queries
the model ranked: such a report scored `link_projection` on every query, and says so."""

from __future__ import annotations

import json
from pathlib import Path

from prixlm.completion import results_docs
from prixlm.completion.results_docs import results_block

ROOT = Path(__file__).resolve().parents[2]


def _committed_report() -> dict:
    return json.loads((ROOT / "results" / "completion.json").read_text(encoding="utf-8"))


def _old_report_with_queries_the_model_did_not_rank() -> dict:
    """The committed report (written before the rule: neither new key) with 3 of its 308
    queries too long for the model, as an older `measure` recorded them."""
    report = _committed_report()
    report["queries"].update(queries_too_long=3, queries_unencodable=0, queries_beyond_limit=0)
    return report


def test_the_committed_report_predates_the_rule_and_renders_as_before():
    report = _committed_report()
    assert not results_docs.scored_on_ranked_queries(report)
    docs = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert results_block(report) in docs
    assert "The model ranked" not in results_block(report)


def test_an_old_report_says_link_projection_covers_every_query():
    report = _old_report_with_queries_the_model_did_not_rank()
    block = results_block(report)
    assert (
        "recall is over all 302.\n"
        "The model ranked 305 of these 308 queries (3 too long for the model). `model` and "
        "`model_agreeing` below are scored on those 305 queries only; `link_projection` on all "
        "308 (this report was written before every method was scored on the model's ranked "
        "queries, and does not record how many hidden facts those cover).\n\n"
    ) in block
    assert "Every method below is scored" not in block
    assert "?" not in block.split("recall is over all 302.")[1].split("- `model`")[0]


def test_an_old_report_keeps_its_ambiguous_proposals_line():
    report = _old_report_with_queries_the_model_did_not_rank()
    report["queries"]["ambiguous_objects"] = 4
    block = results_block(report)
    assert (
        "cover).\n4 model proposals were skipped as ambiguous (labels the model cannot tell "
        "apart, and no evidence language says which entity is meant).\n\n"
    ) in block


def test_a_report_written_under_the_rule_says_every_method_is_scored_on_the_ranked_queries():
    report = _old_report_with_queries_the_model_did_not_rank()
    report["hidden_facts_with_ranked_queries"] = 290
    zero = report["methods"]["link_projection"][report["thresholds"].index(0.0)]
    report["link_projection_every_query"] = report["methods"]["link_projection"]
    assert results_docs.scored_on_ranked_queries(report)
    assert (
        "The model ranked 305 of these 308 queries (3 too long for the model); they cover 290 "
        "of the 302 hidden facts. Every method below is scored on those 305 queries only.\n"
        f"`link_projection` on all 308: {zero['correct']} of {zero['judged']} judged proposals "
        f"correct, recall {100 * zero['recall']:.1f}%.\n\n"
    ) in results_block(report)


def test_a_report_ranked_on_training_facts_says_its_figures_are_inflated():
    """`measure --allow_training_facts`: the docs block showed the figures unmarked."""
    report = _committed_report()
    assert "Inflated" not in results_block(report)
    report["training_split"] = {
        "result": "overlap",
        "allowed": True,
        "expected_training_share": 0.85,
    }
    assert (
        "\n**Inflated figures**: about 85% of the hidden split is drawn from the model's "
        "training facts (ranked with `--allow_training_facts`).\n"
    ) in results_block(report)
