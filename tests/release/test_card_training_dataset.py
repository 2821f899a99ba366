"""The model card's `datasets:` (the Hub's "datasets used to train" the model) names the Hub
dataset training read, whatever the card's evaluations were run on."""

from __future__ import annotations

from card_folders import card_folder
from huggingface_hub import ModelCard

from prixlm.release.model_card import write_model_card


def _trained_on(dataset: str, folder: str | None) -> dict:
    """`train_results.json` of a run on `dataset` (`train.py --dataset`) with no checkpoint
    evaluation (`--lp_eval_queries 0`); `folder` is what training records as its folder."""
    settings = {"dataset": dataset, "dataset_argument": dataset, "dataset_folder": folder,
                "num_beams": 10, "queries": {}, "queries_per_language": 0, "split": "validation"}  # fmt: skip
    return {"checkpoint_link_prediction": [], "checkpoint_link_prediction_settings": settings,
            "languages": ["de", "en"]}  # fmt: skip


def _hub_report(dataset: str) -> dict:
    metrics = {"hits_at_1": 0.5, "hits_at_3": 0.5, "hits_at_10": 0.5, "mrr": 0.5,
               "num_queries": 2, "num_missing": 0, "num_candidates": 5}  # fmt: skip
    return {"model": "me/prixlm", "dataset": dataset, "split": "test", "mode": "full",
            "num_beams": None, "protocol": "ours", "limit": None, "candidates": None,
            "candidates_sha256": None, "results": {"de": metrics}}  # fmt: skip


def test_the_hub_dataset_trained_on_is_listed_without_an_evaluation_on_it(tmp_path):
    """A run on the Hub dataset `org/kb` without a report on it: the card's body said
    "Training data: org/kb" while `datasets:` was empty, or named only the dataset of an
    evaluation (`org/eval-kb`) as what the model was trained on."""
    folder = card_folder(tmp_path / "model", train_results=_trained_on("org/kb", None))
    write_model_card(folder, repo_id="me/prixlm")
    card = ModelCard.load(folder / "README.md")
    assert card.data.datasets == ["org/kb"]
    assert "Training data: [`org/kb`](https://huggingface.co/datasets/org/kb)." in card.text
    write_model_card(folder, evaluations=[_hub_report("org/eval-kb")], repo_id="me/prixlm")
    card = ModelCard.load(folder / "README.md")
    assert card.data.datasets == ["org/eval-kb", "org/kb"]
    assert {e.dataset_type for e in card.data.eval_results} == {"org/eval-kb"}


def test_a_local_training_folder_is_not_listed(tmp_path):
    """Training read a local folder (recorded by its path): no Hub id to list."""
    data = tmp_path / "data" / "kb"
    data.mkdir(parents=True)
    record = _trained_on(str(data), str(data))
    folder = card_folder(tmp_path / "model", train_results=record)
    write_model_card(folder, repo_id="me/prixlm")
    assert ModelCard.load(folder / "README.md").data.datasets is None
