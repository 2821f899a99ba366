"""A report over `evaluate_lp --candidates` (a few labels instead of the dataset's own) is
another evaluation on the model card: kept beside the ordinary one, and its table row and
model-index config name the candidate file (the card showed the small-candidate figures as
the dataset's test result, replacing the ordinary report)."""

from __future__ import annotations

from prixlm.release.card_results import eval_results, results_table
from prixlm.release.model_card import merged_evaluations


def _report(hits: float, candidates: str | None = None, digest: str | None = None) -> dict:
    return {
        "dataset": "me/kb", "dataset_folder": None, "split": "test", "mode": "beam",
        "num_beams": 5, "limit": 3, "candidates": candidates, "candidates_sha256": digest,
        "results": {"en": {"hits_at_1": hits, "hits_at_3": hits, "hits_at_10": hits,
                           "mrr_at_5": hits, "num_queries": 3}},
    }  # fmt: skip


def test_a_report_over_other_candidates_is_kept_beside_the_ordinary_one(tmp_path) -> None:
    ordinary = _report(0.0)
    few = _report(1 / 3, "/data/cands.json", "ab12cd34" + "0" * 56)
    merged = merged_evaluations(tmp_path, [ordinary, few])
    assert [r["results"]["en"]["hits_at_1"] for r in merged] == [0.0, 1 / 3]
    # the same candidates by content again: replaces that report only
    again = _report(2 / 3, "/elsewhere/cands.json", "ab12cd34" + "0" * 56)
    merged = merged_evaluations(tmp_path, [ordinary, few, again])
    assert [r["results"]["en"]["hits_at_1"] for r in merged] == [0.0, 2 / 3]


def test_the_table_and_model_index_name_the_candidates() -> None:
    few = _report(1 / 3, "/data/cands.json", "ab12cd34" + "0" * 56)
    rows = results_table([_report(0.0), few]).splitlines()[2:]
    assert "| beam (K=5) |" in rows[0] and "cands.json" not in rows[0]
    assert "| beam (K=5), candidates cands.json (sha256 ab12cd34) |" in rows[1]
    configs = {e.metric_config for e in eval_results([few])}
    assert configs == {"beam K=5, candidates cands.json (sha256 ab12cd34), first 3 queries"}
    assert {e.metric_config for e in eval_results([_report(0.0)])} == {"beam K=5, first 3 queries"}


def test_a_report_of_an_earlier_version_says_what_it_did_not_record(tmp_path) -> None:
    """Reports written before `limit` and `candidates` were recorded read as every query over
    the dataset's labels, and one over a small candidate file replaced the ordinary one."""
    old = {key: value for key, value in _report(1 / 3).items()
           if key not in ("limit", "candidates", "candidates_sha256")}  # fmt: skip
    (config,) = {e.metric_config for e in eval_results([old])}
    assert config == "beam K=5, candidates not recorded, 3 queries (query limit not recorded)"
    assert "all" not in config
    ordinary = {**_report(0.0), "limit": None}
    merged = merged_evaluations(tmp_path, [ordinary, old])
    assert [r["results"]["en"]["hits_at_1"] for r in merged] == [0.0, 1 / 3]


def test_reports_record_the_candidates_they_ranked() -> None:
    from prixlm.link_prediction.candidate_files import candidates_record

    assert candidates_record(None) == {"candidates": None, "candidates_sha256": None}
    one = candidates_record({"en": ["b", "a"]})
    assert one["candidates"] == "given" and len(one["candidates_sha256"]) == 64
    assert candidates_record({"en": ["a", "b"]}) == one != candidates_record({"en": ["a"]})
