"""Whose results a model card's model-index shows: each value under its own object
language (the Hub groups results by task, dataset, config and split), and never a kept
report of weights the release folder no longer holds.

The folders hold only the JSON the card reads, and a stand-in weights file where the
weights' digest matters.
"""

from __future__ import annotations

import json

import pytest
from card_folders import card_folder
from huggingface_hub import ModelCard

from prixlm.publish import main as publish_main
from prixlm.release.model_card import render_model_card, write_model_card
from prixlm.release.report_checks import WEIGHTS_DIGEST, weights_digest


def _report(results: dict, **fields) -> dict:
    """An `evaluate_lp --output` report over the Hub dataset `me/kb`, full mode, test split."""
    return {"model": "me/prixlm", "dataset": "me/kb", "split": "test", "mode": "full",
            "num_beams": None, "protocol": "ours", "limit": None, "candidates": None,
            "candidates_sha256": None, "results": results, **fields}  # fmt: skip


def _metrics(hits: float, queries: int) -> dict:
    return {"hits_at_1": hits, "hits_at_3": hits, "hits_at_10": hits, "mrr": hits,
            "num_queries": queries, "num_missing": 0, "num_candidates": 50}  # fmt: skip


def test_each_object_language_of_one_config_keeps_its_own_values(tmp_path):
    """The `all` config's results per object language (`all/de`, `all/en`) and its link rows
    (`all/links/ja`) were one model-index entry, under the first language's
    `object_language`: the card, read back, said en's and ja's values were de's."""
    folder = card_folder(tmp_path / "model")
    results = {"all/de": _metrics(0.25, 4), "all/en": _metrics(0.5, 6),
               "all/links/ja": _metrics(0.75, 8)}  # fmt: skip
    card = render_model_card(folder, evaluations=[_report(results)])
    read = ModelCard(str(card)).data.eval_results  # the YAML as the Hub parses it
    got = {
        (e.dataset_config, e.dataset_split, json.dumps(e.metric_args, sort_keys=True),
         e.metric_type): e.metric_value
        for e in read
    }  # fmt: skip
    expected = {}
    for args, value in (({"object_language": "de"}, 0.25), ({"object_language": "en"}, 0.5),
                        ({"object_language": "ja", "kind": "link"}, 0.75)):  # fmt: skip
        for metric in ("hits_at_1", "hits_at_3", "hits_at_10", "mrr"):
            expected["all", "test", json.dumps(args, sort_keys=True), metric] = value
    assert got == expected
    assert all(e.dataset_args is None for e in read)  # no group-wide language
    names = {e.metric_name for e in read if e.metric_type == "hits_at_1"}
    assert names == {"Hits@1 (filtered, de)", "Hits@1 (filtered, en)",
                     "Hits@1 (filtered, links/ja)"}  # fmt: skip


def test_a_kept_report_of_replaced_weights_is_refused(tmp_path, capsys):
    """A report kept in `evaluation_results.json` was rendered again on every card and
    published (`prixlm.publish`) after new weights were saved into the folder, though the
    same report given as `--evaluation` was refused: it is refused too, naming the file,
    until a report of the folder's weights with the same settings replaces it."""
    folder = card_folder(tmp_path / "model")
    (folder / "model.safetensors").write_bytes(b"weights")
    first = _report({"en": _metrics(0.5, 6)}, **{WEIGHTS_DIGEST: weights_digest(folder)})
    write_model_card(folder, evaluations=[first])  # the card is ours: publish re-renders it
    kept = folder / "evaluation_results.json"
    assert json.loads(kept.read_text(encoding="utf-8")) == [first]

    (folder / "model.safetensors").write_bytes(b"weight2")  # new weights, same size
    with pytest.raises(ValueError, match=rf"{kept}, report 1: evaluates other weights"):
        render_model_card(folder)
    with pytest.raises(SystemExit) as stopped:
        publish_main([str(folder), "me/prixlm", "--dry_run"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "evaluates other weights" in error and f"remove the report from {kept}" in error

    # the folder's weights evaluated again with the same settings: the new report replaces it
    second = {**first, "results": {"en": _metrics(0.25, 6)}, WEIGHTS_DIGEST: weights_digest(folder)}
    card = write_model_card(folder, evaluations=[second])
    assert [e.metric_value for e in card.data.eval_results] == [0.25] * 4
    assert json.loads(kept.read_text(encoding="utf-8")) == [second]
    render_model_card(folder)  # kept, and of these weights


def test_reports_of_two_local_folders_of_one_name_are_told_apart(tmp_path):
    """Two dataset folders both named `dataset` (another build's test rows): the card showed
    two rows "dataset | de | test" with other scores and one model-index entry holding both
    values. Each is named by its path's short sha256 (`<local DIGEST>/dataset`, as an upload
    names local folders: no folder of this machine on the Hub)."""
    from prixlm.release.uploaded_records import local_name

    folders = [tmp_path / run / "dataset" for run in ("first", "second")]
    for path in folders:
        path.mkdir(parents=True)
    reports = [_report({"de": _metrics(hits, 20)}, dataset=str(path), dataset_folder=str(path))
               for hits, path in ((0.2, folders[0]), (0.35, folders[1]))]  # fmt: skip
    card = render_model_card(card_folder(tmp_path / "model"), evaluations=reports)
    read = ModelCard(str(card)).data.eval_results
    got = {(e.dataset_type, e.dataset_name, e.metric_value) for e in read
           if e.metric_type == "hits_at_1"}  # fmt: skip
    names = [local_name(str(path)) for path in folders]
    assert names[0] != names[1] and all(name.endswith(">/dataset") for name in names)
    assert got == {
        (f"{names[0]} (local folder, not on the Hub)", f"dataset ({names[0]})", 0.2),
        (f"{names[1]} (local folder, not on the Hub)", f"dataset ({names[1]})", 0.35),
    }
    assert not any("first" in e.dataset_type + e.dataset_name for e in read)
    rows = [line for line in str(card).splitlines() if line.startswith("| dataset (")]
    assert len(rows) == 2
    alone = render_model_card(card_folder(tmp_path / "alone"), evaluations=reports[:1])
    (entry,) = {(e.dataset_type, e.dataset_name) for e in ModelCard(str(alone)).data.eval_results}
    assert entry == ("dataset (local folder, not on the Hub)", "dataset")
