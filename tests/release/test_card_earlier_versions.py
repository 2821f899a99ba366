"""Release folders and reports of earlier versions, rendered by this one. Reports and training
records written before the metric keys were spelt `hits_at_k` / `mrr_at_K` (`hits@1`,
`mrr@50`, `lp_en/hits@1`): the card shows their values (it showed a `–` in every hits cell
and left them out of the model-index, silently), and the reports it keeps in the folder are
stored with today's keys. A card without `widget:` is rendered again."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from prixlm.release.model_card import main

#: `evaluate_lp --output` of an earlier version (beam mode, K=10).
EARLIER_REPORT = {
    "model": "earlier/run/model",  # a path not on this machine: taken on trust
    "dataset": "org/kb",
    "split": "test",
    "mode": "beam",
    "num_beams": 10,
    "results": {
        "en": {"hits@1": 0.25, "hits@3": 0.5, "hits@10": 0.75, "mrr@10": 0.4, "num_queries": 4}
    },
}
#: `train_results.json` of an earlier run that evaluated its checkpoints (K=5).
EARLIER_RESULTS = {
    "languages": ["en"],
    "checkpoint_link_prediction": [
        {"step": 10, "lp_en/hits@1": 0.125, "lp_en/hits@3": 0.375, "lp_en/mrr": 0.3}
    ],
    "checkpoint_link_prediction_settings": {
        "dataset": "org/kb",
        "split": "validation",
        "num_beams": 5,
        "queries_per_language": 8,
    },
}


def _card(tmp_path: Path) -> tuple[str, Path]:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "prixlm"}), encoding="utf-8")
    (folder / "train_results.json").write_text(json.dumps(EARLIER_RESULTS), encoding="utf-8")
    report = tmp_path / "lp_test.json"
    report.write_text(json.dumps(EARLIER_REPORT), encoding="utf-8")
    card = main([str(folder), "--evaluation", str(report)]).read_text(encoding="utf-8")
    return card, folder


def test_an_earlier_reports_metrics_are_on_the_card(tmp_path):
    card, folder = _card(tmp_path)
    rows = [line for line in card.splitlines() if line.startswith("| org/kb | en |")]
    assert rows == [
        "| org/kb | en | validation | beam (K=5), step 10 | 8 | 12.5 | 37.5 | – | 30.0 (MRR@5) |",
        "| org/kb | en | test | beam (K=10), candidates not recorded | 4 | 25.0 | 50.0 | 75.0 | "
        "40.0 (MRR@10) |",
    ]
    index = yaml.safe_load(card.split("---")[1])["model-index"][0]["results"]
    shown = sorted(
        (r["dataset"]["split"], m["type"], m["value"]) for r in index for m in r["metrics"]
    )
    assert shown == [
        ("test", "hits_at_1", 0.25),
        ("test", "hits_at_10", 0.75),
        ("test", "hits_at_3", 0.5),
        ("test", "mrr_at_10", 0.4),
        ("validation", "hits_at_1", 0.125),
        ("validation", "hits_at_3", 0.375),
        ("validation", "mrr_at_5", 0.3),
    ]
    kept = json.loads((folder / "evaluation_results.json").read_text(encoding="utf-8"))
    assert kept[0]["results"]["en"] == {
        "hits_at_1": 0.25,
        "hits_at_3": 0.5,
        "hits_at_10": 0.75,
        "mrr_at_10": 0.4,
        "num_queries": 4,
    }


def test_a_kept_earlier_report_is_shown_when_the_card_is_rendered_again(tmp_path):
    """A release whose `evaluation_results.json` an earlier card wrote with the old keys."""
    _, folder = _card(tmp_path)
    kept = folder / "evaluation_results.json"
    kept.write_text(json.dumps([EARLIER_REPORT]), encoding="utf-8")
    card = main([str(folder)]).read_text(encoding="utf-8")
    assert "| 4 | 25.0 | 50.0 | 75.0 | 40.0 (MRR@10) |" in card


def test_an_earlier_card_without_a_widget_is_rendered_again(tmp_path):
    """The first releases' card (the repository's `model_card.md` copied as it was: tagged
    `prix-lm`, no `widget:`): rendering it again, or publishing, stopped with
    `AttributeError: 'ModelCardData' object has no attribute 'widget'`."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "prixlm"}), encoding="utf-8")
    earlier = "---\nlibrary_name: transformers\ntags:\n  - prix-lm\n---\n\n# Prix-LM\n"
    (folder / "README.md").write_text(earlier, encoding="utf-8")
    card = main([str(folder)]).read_text(encoding="utf-8")
    assert yaml.safe_load(card.split("---")[1])["widget"] == [{"text": "Germany | currency"}]
