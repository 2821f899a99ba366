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


def _trained_on_a_local_folder(tmp_path: Path) -> Path:
    """A release trained on the local folder `tmp_path/dataset`, recorded as an earlier
    version recorded it (`dataset`: the folder's path, no `dataset_folder`)."""
    (tmp_path / "dataset").mkdir()
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "prixlm"}), encoding="utf-8")
    settings = {**EARLIER_RESULTS["checkpoint_link_prediction_settings"]}
    settings["dataset"] = str(tmp_path / "dataset")
    results = {**EARLIER_RESULTS, "checkpoint_link_prediction_settings": settings}
    (folder / "train_results.json").write_text(json.dumps(results), encoding="utf-8")
    return folder


def _earlier_card(datasets: list[str]) -> str:
    """A card as an earlier version wrote it: `datasets:` named the local training folder by
    its name (`dataset`), or the Hub id it was published with."""
    listed = "".join(f"- {name}\n" for name in datasets)
    return f"---\ndatasets:\n{listed}tags:\n- prix-lm\nwidget:\n- text: Germany | currency\n---\n"


def test_an_earlier_cards_local_folder_name_is_no_hub_dataset(tmp_path):
    """The earlier card's `datasets: [dataset]` was taken as the Hub id of the training data:
    the card linked huggingface.co/datasets/dataset and filed the results under it."""
    from prixlm.publish import refresh_model_card

    folder = _trained_on_a_local_folder(tmp_path)
    fresh = main([str(folder)]).read_text(encoding="utf-8")
    (folder / "README.md").write_text(_earlier_card(["dataset"]), encoding="utf-8")
    again = main([str(folder)]).read_text(encoding="utf-8")
    assert again == fresh
    assert "datasets" not in yaml.safe_load(again.split("---")[1])
    assert "Training data: dataset (a local dataset folder, not on the Hub)." in again
    assert "huggingface.co/datasets/dataset" not in again
    # publish renders it again for the repo: no Hub dataset, and it says how to add one
    (folder / "README.md").write_text(_earlier_card(["dataset"]), encoding="utf-8")
    card, warnings = refresh_model_card(folder, "org/prixlm")
    assert card.data.datasets is None
    assert warnings[0].startswith("the card names no Hub dataset: pass --dataset_id")


def test_an_earlier_cards_hub_dataset_is_kept(tmp_path):
    """A card published with `--dataset_id org/prixlm-kb` keeps naming it."""
    folder = _trained_on_a_local_folder(tmp_path)
    (folder / "README.md").write_text(_earlier_card(["org/prixlm-kb"]), encoding="utf-8")
    card = main([str(folder)]).read_text(encoding="utf-8")
    assert yaml.safe_load(card.split("---")[1])["datasets"] == ["org/prixlm-kb"]
    assert (
        "Training data: [`org/prixlm-kb`](https://huggingface.co/datasets/org/prixlm-kb)." in card
    )
