"""Reports the card must not show as what they are not: `--dataset_id` names only the
reports of the folder whose Hub copy it is (several local folders without a training record
are refused, by `model_card` and `publish` alike), and a result whose candidate labels
merged (a language the tokenizer reads through `<unk>`) carries a note saying how many.

The folders hold only the JSON the card reads (no weights): rendering needs nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from card_folders import card_folder
from huggingface_hub import ModelCard

from prixlm.publish import main as publish_main
from prixlm.release.card_results import eval_results, results_table
from prixlm.release.model_card import main as model_card_main
from prixlm.release.model_card import write_model_card


def _dataset(path: Path) -> str:
    """A local dataset folder (its card names it by the folder's name), by absolute path."""
    path.mkdir(parents=True)
    (path / "README.md").write_text(f"---\npretty_name: {path.name}\n---\n", encoding="utf-8")
    return str(path.resolve())


def _report(folder: str, hits: float, **metrics: int) -> dict:
    """An `evaluate_lp --output` report of the local dataset `folder`: beam K=10, en."""
    results = {"en": {"hits_at_1": hits, "hits_at_3": hits, "hits_at_10": hits,
                      "mrr_at_10": hits, "num_queries": 100, **metrics}}  # fmt: skip
    return {"model": "me/prixlm", "dataset": folder, "dataset_folder": folder,
            "split": "test", "mode": "beam", "num_beams": 10, "limit": None,
            "candidates": None, "candidates_sha256": None, "results": results}  # fmt: skip


def _write(path: Path, report: dict) -> str:
    path.write_text(json.dumps(report), encoding="utf-8")
    return str(path)


def test_dataset_id_names_only_the_reports_of_the_training_folder(tmp_path) -> None:
    """A model trained on `fact_split`, evaluated there (23%) and on `language_split`
    (13%): `--dataset_id me/kb` named both, two contradictory values of one metric of
    one dataset. Only the training folder's report is named by the id now."""
    trained, other = _dataset(tmp_path / "fact_split"), _dataset(tmp_path / "language_split")
    settings = {"dataset": trained, "dataset_folder": trained, "num_beams": 10}
    folder = card_folder(
        tmp_path / "model",
        train_results={"checkpoint_link_prediction_settings": settings, "languages": ["en"]},
    )
    first = _write(tmp_path / "a.json", _report(trained, 0.23))
    second = _write(tmp_path / "b.json", _report(other, 0.13))
    model_card_main([str(folder), "--evaluation", first, "--evaluation", second,
                     "--dataset_id", "me/kb"])  # fmt: skip
    card = ModelCard.load(folder / "README.md")
    values = {(e.dataset_type, e.dataset_name, e.metric_value) for e in card.data.eval_results}
    assert {v for v in values if v[2] == 0.23} == {("me/kb", "me/kb", 0.23)}
    assert {v for v in values if v[2] == 0.13} == {
        ("language_split (local folder, not on the Hub)", "language_split", 0.13)
    }
    assert card.data.datasets == ["me/kb"]
    table = [line for line in card.text.splitlines() if line.startswith("| ") and "| en |" in line]
    assert table == [
        "| me/kb | en | test | beam (K=10) | 100 | 23.0 | 23.0 | 23.0 | 23.0 (MRR@10) |",
        "| language\\_split | en | test | beam (K=10) | 100 | 13.0 | 13.0 | 13.0 | 13.0 (MRR@10) |",
    ]
    assert "Training data: [`me/kb`](https://huggingface.co/datasets/me/kb)." in card.text


def test_a_run_trained_with_dataset_id_names_only_its_folders_reports(tmp_path) -> None:
    """`train.py --dataset DIR --dataset_id ORG/NAME` records `dataset: ORG/NAME` and
    `dataset_folder: DIR`: the id named a report of another folder (its only report), and
    with a report of DIR beside it the card was refused though no id was typed."""
    trained, other = _dataset(tmp_path / "fact_split"), _dataset(tmp_path / "language_split")
    settings = {"dataset": "me/kb", "dataset_folder": trained, "num_beams": 10}
    folder = card_folder(
        tmp_path / "model",
        train_results={"checkpoint_link_prediction_settings": settings, "languages": ["en"]},
    )
    second = _write(tmp_path / "b.json", _report(other, 0.13))
    model_card_main([str(folder), "--evaluation", second, "--dataset_id", "me/kb"])
    card = ModelCard.load(folder / "README.md")
    values = {(e.dataset_type, e.dataset_name, e.metric_value) for e in card.data.eval_results}
    assert {v for v in values if v[2] == 0.13} == {
        ("language_split (local folder, not on the Hub)", "language_split", 0.13)
    }
    first = _write(tmp_path / "a.json", _report(trained, 0.23))
    model_card_main([str(folder), "--evaluation", first, "--evaluation", second,
                     "--dataset_id", "me/kb"])  # fmt: skip
    card = ModelCard.load(folder / "README.md")
    values = {(e.dataset_type, e.dataset_name, e.metric_value) for e in card.data.eval_results}
    assert {v for v in values if v[2] == 0.23} == {("me/kb", "me/kb", 0.23)}


def test_reports_of_several_folders_without_a_training_record_are_refused(
    tmp_path, capsys, monkeypatch
) -> None:
    """Converted weights (no training record): which folder the id is the Hub copy of is
    the reports' one folder; reports of two folders are refused, naming both, by
    `model_card` and by `publish` (which renders the card again), and nothing is written."""
    one, two = _dataset(tmp_path / "one"), _dataset(tmp_path / "two")
    folder = card_folder(tmp_path / "model")
    write_model_card(folder, evaluations=[_report(one, 0.23), _report(two, 0.13)])
    before = (folder / "README.md").read_bytes()
    expected = (
        "--dataset_id me/kb names one dataset, but the reports evaluate 2 local dataset "
        f"folders: {one} (test split: en); {two} (test split: en); keep the reports of one "
        "folder, or render the card without --dataset_id"
    )
    with pytest.raises(SystemExit) as stopped:
        model_card_main([str(folder), "--dataset_id", "me/kb"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"error: {expected}"
    assert (folder / "README.md").read_bytes() == before

    (folder / "model.safetensors").write_bytes(b"weights")  # a complete release to publish
    monkeypatch.setattr("prixlm.publish.publish_folder", pytest.fail)  # nothing is sent
    with pytest.raises(SystemExit) as stopped:
        publish_main([str(folder), "me/prixlm", "--dataset_id", "me/kb", "--dry_run"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"error: DIR {folder}: {expected}"

    # one folder: the id is its Hub copy, as before
    alone = eval_results([_report(one, 0.23)], "me/kb")
    assert {(e.dataset_type, e.dataset_name) for e in alone} == {("me/kb", "me/kb")}


def test_a_result_whose_labels_merged_is_marked_with_how_many(tmp_path) -> None:
    """An en,de model on Japanese triples: 1,727 of 1,793 labels merged through `<unk>`,
    91.5 hits@1 beside en's 21.8, nothing to tell them apart on the card."""
    data = _dataset(tmp_path / "kb")
    merged = _report(data, 0.915, num_candidates=66, merged_candidates=1727)
    merged["results"]["ja"] = merged["results"].pop("en")
    clean = _report(data, 0.218, num_candidates=1822, merged_candidates=0)
    table = results_table([merged, clean]).splitlines()
    assert table[2] == (
        "| kb | ja \\[1\\] | test | beam (K=10) | 100 | 91.5 | 91.5 | 91.5 | 91.5 (MRR@10) |"
    )
    assert table[3] == "| kb | en | test | beam (K=10) | 100 | 21.8 | 21.8 | 21.8 | 21.8 (MRR@10) |"
    assert table[4:] == [
        "",
        "\\[1\\] ja (test, beam (K=10)): 1,727 of 1,793 candidate labels ranked as another "
        "(they tokenise alike, as labels the tokenizer reads through \\<unk\\> do): a gold "
        "among them counts as found whichever of them is ranked, so these figures overstate "
        "the model.",
    ]
    configs = {e.dataset_config: e.metric_config for e in eval_results([merged, clean])}
    assert configs == {
        "ja": "beam K=10, all 100 queries, 1,727 of 1,793 candidate labels ranked as another",
        "en": "beam K=10, all 100 queries",
    }
    assert "\\[" not in results_table([clean])  # no merged label: no mark, no note


def _hub_report(dataset: str, hits: float) -> dict:
    """An `evaluate_lp --output` report of the Hub dataset `dataset` (no local folder)."""
    return {**_report(dataset, hits), "dataset_folder": None}


@pytest.mark.parametrize("trained", [True, False])
def test_a_hub_datasets_report_stays_under_its_id_beside_the_named_folder(
    tmp_path, trained
) -> None:
    """With `--dataset_id me/kb`, a report of the Hub dataset `acme/dbp5l-kg` beside one of
    the local folder the id names is shown under its own id (model-index, table and
    `datasets:`), whether the folder is training's or the reports' one local folder."""
    local = _dataset(tmp_path / "fact_split")
    settings = {"dataset": local, "dataset_folder": local, "num_beams": 10}
    record = {"checkpoint_link_prediction_settings": settings, "languages": ["en"]}
    folder = card_folder(tmp_path / "model", **({"train_results": record} if trained else {}))
    first = _write(tmp_path / "a.json", _report(local, 0.23))
    second = _write(tmp_path / "b.json", _hub_report("acme/dbp5l-kg", 0.13))
    model_card_main([str(folder), "--evaluation", first, "--evaluation", second,
                     "--dataset_id", "me/kb"])  # fmt: skip
    card = ModelCard.load(folder / "README.md")
    values = {(e.dataset_type, e.dataset_name, e.metric_value) for e in card.data.eval_results}
    assert values == {("me/kb", "me/kb", 0.23), ("acme/dbp5l-kg", "acme/dbp5l-kg", 0.13)}
    assert card.data.datasets == ["acme/dbp5l-kg", "me/kb"]
    table = [line for line in card.text.splitlines() if line.startswith("| ") and "| en |" in line]
    assert table == [
        "| me/kb | en | test | beam (K=10) | 100 | 23.0 | 23.0 | 23.0 | 23.0 (MRR@10) |",
        "| acme/dbp5l-kg | en | test | beam (K=10) | 100 | 13.0 | 13.0 | 13.0 | 13.0 (MRR@10) |",
    ]
    # the Hub report alone: no local folder for the id to name, the report keeps its own
    alone = eval_results([_hub_report("acme/dbp5l-kg", 0.13)], "me/kb")
    assert {(e.dataset_type, e.dataset_name) for e in alone} == {("acme/dbp5l-kg",) * 2}
    assert "| acme/dbp5l-kg | en |" in results_table([_hub_report("acme/dbp5l-kg", 0.13)], "me/kb")
    # nor does the id name a report that records no dataset
    unrecorded = {k: v for k, v in _report(local, 0.1).items() if not k.startswith("dataset")}
    named = {(e.dataset_type, e.dataset_name) for e in eval_results([unrecorded], "me/kb")}
    assert named == {("dataset not recorded",) * 2}
