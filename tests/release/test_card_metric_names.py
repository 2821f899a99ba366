"""A model-index group (task, dataset, config, split) shows each metric by its name: two
values of one metric there (a beam search and a full ranking of one split) are told apart."""

from __future__ import annotations

import yaml
from card_folders import card_folder
from huggingface_hub import ModelCard

from prixlm.release.model_card import write_model_card


def _report(mode: str, num_beams: int | None, value: float) -> dict:
    """An `evaluate_lp --output` report of the Hub dataset `org/kb`, test split, German."""
    mrr = f"mrr_at_{num_beams}" if num_beams else "mrr"
    metrics = {"hits_at_1": value, "hits_at_3": value, mrr: value, "num_queries": 4,
               "num_missing": 0, "num_candidates": 9}  # fmt: skip
    return {"model": "me/prixlm", "dataset": "org/kb", "split": "test", "mode": mode,
            "num_beams": num_beams, "protocol": "ours", "limit": None, "candidates": None,
            "candidates_sha256": None, "results": {"de": metrics}}  # fmt: skip


def test_one_metric_of_two_rankings_of_one_split_has_two_names(tmp_path):
    """The beam's and the full ranking's hits@1 of one split were one model-index entry's
    two metrics both named `Hits@1 (filtered)` (0.25 and 0.5): the Hub showed two values
    under one name. Each name now says its ranking; a name that occurs once stays."""
    folder = card_folder(tmp_path / "model")
    reports = [_report("beam", 5, 0.25), _report("full", None, 0.5)]
    write_model_card(folder, evaluations=reports, repo_id="me/prixlm")
    text = (folder / "README.md").read_text(encoding="utf-8")
    groups = yaml.safe_load(text.split("---")[1])["model-index"][0]["results"]
    assert len(groups) == 1  # the Hub's grouping: one task, dataset, config and split
    names = [metric["name"] for metric in groups[0]["metrics"]]
    assert len(names) == len(set(names))
    read = ModelCard.load(folder / "README.md").data.eval_results
    got = {(e.metric_name, e.metric_value) for e in read}
    assert got == {
        ("Hits@1 (filtered) [beam K=5, all 4 queries]", 0.25),
        ("Hits@3 (filtered) [beam K=5, all 4 queries]", 0.25),
        ("MRR@5 (filtered)", 0.25),
        ("Hits@1 (filtered) [full, all 4 queries]", 0.5),
        ("Hits@3 (filtered) [full, all 4 queries]", 0.5),
        ("MRR (filtered)", 0.5),
    }
