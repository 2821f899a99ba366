"""Beam mode reports hits@k for k <= K only: a gold outside the K beams is a miss, so hits@10
of a beam of 3 is not hits@10. `evaluate_lp --num_beams 3` printed and wrote a hits@10 (and
the model card published it as `hits_at_10`); now its JSON has no `hits_at_10`, its table
shows `–`, a line on stderr says why, and the card lists no hits@10 for that evaluation.
K >= 10 and full mode keep every k."""

from __future__ import annotations

import json
import shutil

import pytest
from huggingface_hub import ModelCard
from test_evaluate_lp import save_model_and_dataset, tiny_rows
from test_lp_table_cells import table_rows

from modeling_prixlm.beam_search import predict_objects
from prixlm.link_prediction.evaluate_lp import main
from prixlm.link_prediction.evaluation import evaluate_link_prediction, markdown_table
from prixlm.link_prediction.lp_table import reported_ks
from prixlm.link_prediction.ranking import filtered_rank, ranking_metrics
from prixlm.release.card_results import eval_results, results_table
from prixlm.release.model_card import main as model_card_main

HITS_1, HITS_3, HITS_10 = "hits_at_1", "hits_at_3", "hits_at_10"


@pytest.fixture(scope="module")
def saved(tiny_prixlm, tmp_path_factory):
    """A saved tiny model folder and a dataset folder (`en`: 10 train rows, 4 test rows)."""
    return save_model_and_dataset(tiny_prixlm, tmp_path_factory.mktemp("beam_hits"))[0]


def labels() -> list[str]:
    rows = tiny_rows()
    return sorted({r["subject"] for r in rows} | {r["object"] for r in rows})


def evaluate(saved, output, capsys, *options: str) -> tuple[dict, dict[str, str], str]:
    """`evaluate_lp` on the test split: (the written report, the printed `en` row, stderr)."""
    main(
        ["--model", str(saved / "model"), "--dataset", str(saved / "data"),
         "--languages", "en", "--output", str(output), *options]
    )  # fmt: skip
    out, err = capsys.readouterr()
    return json.loads(output.read_text(encoding="utf-8")), table_rows(out)["en"], err


def test_a_beam_of_3_reports_no_hits_at_10(saved, tiny_prixlm, tmp_path, capsys):
    report, row, err = evaluate(saved, tmp_path / "k3.json", capsys, "--num_beams", "3")
    metrics = report["results"]["en"]
    assert "hits_at_10" not in metrics
    assert "hits_at_10" not in report["results_by_protocol"]["ours"]["en"]
    assert row["hits@10"] == "–"
    assert row["hits@1"] == f"{100 * metrics['hits_at_1']:.1f}"
    assert row["hits@3"] == f"{100 * metrics['hits_at_3']:.1f}"
    assert row["MRR@3"] == f"{100 * metrics['mrr_at_3']:.1f}"
    assert "hits@10: not reported with --num_beams 3" in err and "--num_beams 10" in err
    model, tokenizer = tiny_prixlm
    direct = evaluate_link_prediction(model, tokenizer, tiny_rows()[10:], labels(), "beam", 3)
    assert metrics == pytest.approx(direct)
    assert (direct["hits_at_1"], direct["hits_at_3"], direct["num_missing"]) == (0.0, 0.25, 2)


def test_a_beam_of_50_and_the_full_ranking_keep_hits_at_10(saved, tiny_prixlm, tmp_path, capsys):
    """K=50: hits@10 as before (ranks among the 50 beams' completions); full mode: all k."""
    model, tokenizer = tiny_prixlm
    report, row, err = evaluate(saved, tmp_path / "k50.json", capsys, "--num_beams", "50")
    metrics = report["results"]["en"]
    rows = tiny_rows()[10:]
    results = predict_objects(model, tokenizer, rows, labels(), num_beams=50)
    ranks = [
        filtered_rank(r.labels, row_["object"], r.scores, row_["all_objects"])
        for row_, r in zip(rows, results, strict=True)
    ]
    expected = ranking_metrics(ranks, (1, 3, 10), cutoff=50)
    assert {key: metrics[key] for key in expected} == pytest.approx(expected)
    assert metrics["hits_at_10"] == 0.75
    assert row["hits@10"] == "75.0" and "not reported" not in err
    full, full_row, _ = evaluate(saved, tmp_path / "full.json", capsys, "--mode", "full")
    assert full["results"]["en"]["hits_at_10"] == 0.75 and full_row["hits@10"] == "75.0"


def test_which_k_each_beam_reports(tiny_prixlm):
    """k == K is reported (a list of K holds rank K); the checkpoint evaluation's hits@1
    (any K >= 1) always is."""
    assert reported_ks("beam", 1) == (1,)
    assert reported_ks("beam", 3) == (1, 3)
    assert reported_ks("beam", 10) == reported_ks("full", 3) == (1, 3, 10)
    model, tokenizer = tiny_prixlm
    rows = tiny_rows()[10:]
    two = evaluate_link_prediction(model, tokenizer, rows, labels(), "beam", 2)
    assert [key for key in two if key.startswith("hits_at_")] == ["hits_at_1"]
    ten = evaluate_link_prediction(model, tokenizer, rows, labels(), "beam", 10)
    assert [key for key in ten if key.startswith("hits_at_")] == [HITS_1, HITS_3, HITS_10]
    table = markdown_table({"en": two}, "beam", 2)
    assert table_rows(table)["en"] == {
        "queries": "4", "candidates": "18", "hits@1": f"{100 * two['hits_at_1']:.1f}",
        "hits@3": "–", "hits@10": "–", "MRR@2": f"{100 * two['mrr_at_2']:.1f}",
    }  # fmt: skip


def card_metrics(folder) -> dict[tuple[str, str], float]:
    """`{(split, metric type): value}` of the model-index of `folder/README.md`."""
    card = ModelCard.load(folder / "README.md")
    return {(e.dataset_split, e.metric_type): e.metric_value for e in card.data.eval_results}


def test_the_card_of_a_beam_of_3_lists_no_hits_at_10(saved, tmp_path, capsys):
    report, _, _ = evaluate(saved, tmp_path / "k3.json", capsys, "--num_beams", "3")
    folder = tmp_path / "release"
    shutil.copytree(saved / "model", folder)
    model_card_main([str(folder), "--evaluation", str(tmp_path / "k3.json")])
    metrics = report["results"]["en"]
    assert card_metrics(folder) == {
        ("test", "hits_at_1"): metrics["hits_at_1"],
        ("test", "hits_at_3"): metrics["hits_at_3"],
        ("test", "mrr_at_3"): metrics["mrr_at_3"],
    }
    text = (folder / "README.md").read_text(encoding="utf-8")
    hits_1, hits_3, mrr = (f"{100 * metrics[k]:.1f}" for k in (HITS_1, HITS_3, "mrr_at_3"))
    assert f"| 4 | {hits_1} | {hits_3} | – | {mrr} (MRR@3) |" in text
    evaluate(saved, tmp_path / "k50.json", capsys, "--num_beams", "50")
    model_card_main([str(folder), "--evaluation", str(tmp_path / "k50.json")])
    shown: dict[str, set[str]] = {}  # metric types by `beam K=..` of the metric config
    for entry in ModelCard.load(folder / "README.md").data.eval_results:
        shown.setdefault(entry.metric_config.split(",")[0], set()).add(entry.metric_type)
    assert shown == {
        "beam K=3": {"hits_at_1", "hits_at_3", "mrr_at_3"},
        "beam K=50": {"hits_at_1", "hits_at_3", "hits_at_10", "mrr_at_50"},
    }


def test_a_stored_report_with_hits_beyond_its_beams_is_not_shown_them():
    """A report that holds hits@10 of a beam of 3 (written by an earlier version) or a null
    metric: the card lists neither and shows `–`; a full ranking's hits@10 is listed."""
    metrics = {"hits_at_1": 0.25, "hits_at_3": 0.5, "hits_at_10": 0.5, "mrr_at_3": 0.4,
               "num_queries": 4}  # fmt: skip
    beam = {"dataset": "me/kb", "split": "test", "mode": "beam", "num_beams": 3, "limit": None,
            "candidates": None, "results": {"en": metrics}}  # fmt: skip
    assert {e.metric_type: e.metric_value for e in eval_results([beam])} == {
        "hits_at_1": 0.25, "hits_at_3": 0.5, "mrr_at_3": 0.4,
    }  # fmt: skip
    assert "| 4 | 25.0 | 50.0 | – | 40.0 (MRR@3) |" in results_table([beam])
    hits = {key: value for key, value in metrics.items() if key != "mrr_at_3"}
    wide = {**hits, "hits_at_3": None, "mrr_at_50": 0.4}
    null = {**beam, "num_beams": 50, "results": {"en": wide}}
    assert {e.metric_type for e in eval_results([null])} == {HITS_1, HITS_10, "mrr_at_50"}
    assert "| 4 | 25.0 | – | 50.0 | 40.0 (MRR@50) |" in results_table([null])
    full = {**beam, "mode": "full", "num_beams": None, "results": {"en": {**hits, "mrr": 0.4}}}
    assert {e.metric_type for e in eval_results([full])} == {HITS_1, HITS_3, HITS_10, "mrr"}
