"""Dataset columns are read whole, once: the same labels and checks from a `Dataset` as
from row dicts, one read of the splits for every query group of a config, and one hash of
a release folder's weights for every report its card checks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from datasets import Dataset

import prixlm.link_prediction.candidate_files as candidate_files
import prixlm.link_prediction.evaluation as evaluation
import prixlm.training.resume as resume
from prixlm.cli import UsageError
from prixlm.data.columns import column, columns
from prixlm.link_prediction.candidate_files import KINDS, check_gold_objects, row_kind
from prixlm.link_prediction.evaluation import EvaluationSettings, candidate_labels
from prixlm.release.card_results import WEIGHTS_DIGEST, weights_digest
from prixlm.release.model_card import main as model_card_main
from prixlm.release.model_card import write_model_card

LANGUAGES = ("de", "en", "fr")


def _row(kind: str | None, subject: str, first: str, object_: str, second: str) -> dict:
    return {"kind": kind, "subject": subject, "relation": "r" if first == second else "",
            "object": object_, "subject_language": first, "object_language": second,
            "all_objects": [object_]}  # fmt: skip


def _rows(offset: int) -> list[dict[str, Any]]:
    """Triples of each language, links between every two (link-only labels `L...`), and
    rows without a kind (their languages decide)."""
    rows = []
    for one in LANGUAGES:
        for i in range(offset, offset + 4):
            rows.append(_row("triple", f"{one}-s{i}", one, f"{one}-o{i % 2}", one))
        rows.append(_row(None, f"{one}-bare{offset}", one, f"{one}-o0", one))
        for other in (language for language in LANGUAGES if language != one):
            rows.append(_row("link", f"{one}-s{offset}", one, f"{other}-L{offset}", other))
            rows.append(_row(None, f"{one}-x{offset}", one, f"{other}-X{offset}", other))
    return rows


def _splits() -> dict[str, list[dict[str, Any]]]:
    return {"train": _rows(0), "validation": _rows(10), "test": _rows(20)}


def _counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[int]:
    """Replace `owner.name` by a wrapper counting its calls; the count as a one-item list."""
    calls = [0]
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return calls


def test_a_dataset_and_its_row_dicts_read_the_same():
    """The column reader, `candidate_labels` and `check_gold_objects` answer the same for a
    `Dataset` (also a selection of one), a dict of columns and the row dicts."""
    splits = _splits()
    tables = {split: Dataset.from_list(rows) for split, rows in splits.items()}
    dicts = {split: {k: [r[k] for r in rows] for k in rows[0]} for split, rows in splits.items()}
    rows, table = splits["train"], tables["train"]
    for name in ("subject", "kind", "all_objects"):
        assert column(table, name) == column(rows, name) == [row[name] for row in rows]
    picked = table.select([5, 0, 3])
    assert column(picked, "object") == [rows[i]["object"] for i in (5, 0, 3)]
    bare = [{k: v for k, v in row.items() if k != "kind"} for row in rows]
    assert column(bare, "kind", None) == column(table.remove_columns("kind"), "kind", None)
    assert column(bare, "kind", None) == [None] * len(rows)
    assert columns(iter(rows), ("subject", "object")) == columns(table, ("subject", "object"))
    with pytest.raises(KeyError):
        column(bare, "kind")
    with pytest.raises(KeyError):
        column(table.remove_columns("kind"), "kind")

    for language in (*LANGUAGES, "ja"):
        for kinds in (("triple",), ("link",), KINDS):
            expected = candidate_labels(splits, language, kinds)
            assert candidate_labels(tables, language, kinds) == expected
            assert candidate_labels(dicts, language, kinds) == expected
    assert "de-L0" in candidate_labels(tables, "de") == candidate_labels(tables, "de", KINDS)
    assert "de-L0" not in candidate_labels(tables, "de", ("triple",))

    given = {language: candidate_labels(splits, language, ("triple",)) for language in LANGUAGES}
    for every in (rows, table, dicts["train"]):  # every triple gold is a candidate
        check_gold_objects(given, [r for r in column_rows(every) if r["kind"] == "triple"], "c")
    messages = []
    for every in (rows, table, dicts["train"], iter(rows)):
        with pytest.raises(UsageError) as error:
            check_gold_objects(given, every, "--candidates c.json")
        messages.append(str(error.value))
    assert len(set(messages)) == 1 and "lacks the gold object of 4 of its" in messages[0]


def column_rows(table: Any) -> list[dict[str, Any]]:
    """Row dicts of a `Dataset`, a dict of columns or row dicts."""
    if isinstance(table, list):
        return table
    names = table.column_names if hasattr(table, "column_names") else list(table)
    return [
        dict(zip(names, values, strict=True)) for values in zip(*columns(table, names), strict=True)
    ]


def _row_by_row(splits: dict[str, Any], language: str, kinds: tuple[str, ...]) -> list[str]:
    """The labels in `language` of the `kinds` rows of `splits`, read row by row."""
    labels = set()
    for rows in splits.values():
        for row in rows:
            first, second = row["subject_language"], row["object_language"]
            if row_kind(row.get("kind"), first, second) in kinds:
                labels.update(name for name, lang in ((row["subject"], first),
                              (row["object"], second)) if lang == language)  # fmt: skip
    return sorted(labels)


def test_a_config_reads_its_splits_once_for_every_query_group(monkeypatch):
    """Each (language, kind) group of an `all` config of three languages is ranked among
    the language's labels of every kind (triples and links alike), as row by row, from one
    read of each split's columns."""
    splits = _splits()
    ranked: dict[str, list[str]] = {}

    def fake_protocols(model, tokenizer, rows, labels, *args, protocols=("ours",), **kwargs):
        name = _group_name(rows)
        ranked[name] = list(labels)
        return {protocol: {"num_queries": len(rows)} for protocol in protocols}

    monkeypatch.setattr(evaluation, "evaluate_protocols", fake_protocols)
    sets = _counting(monkeypatch, evaluation, "labels_by_kind")
    single = _counting(monkeypatch, candidate_files, "column")
    several = _counting(monkeypatch, candidate_files, "columns")
    tables = {split: Dataset.from_list(rows) for split, rows in splits.items()}
    results = evaluation.evaluate_config(
        None, None, tables, "all", EvaluationSettings(progress=False)
    )
    assert sorted(results["ours"]) == [
        "all/de", "all/en", "all/fr", "all/links/de", "all/links/en", "all/links/fr"
    ]  # fmt: skip
    assert len(ranked) == 6
    for name, labels in ranked.items():
        language, _ = name.split("/")
        assert labels == _row_by_row(splits, language, KINDS), name
    assert sets == [1]  # not once per group
    assert single == [len(splits)] and several == [len(splits)]  # each split read once


def _group_name(rows: list[dict[str, Any]]) -> str:
    """`language/kind` of a query group's rows (one object language and kind)."""
    (name,) = {
        f"{row['object_language']}/"
        f"{row_kind(row.get('kind'), row['subject_language'], row['object_language'])}"
        for row in rows
    }
    return name


CONFIG = {"model_type": "prixlm", "object_attention": "causal", "hidden_size": 8}


def _release(folder: Path, reports: int) -> list[Path]:
    """A release folder with weights, and `reports` evaluate_lp reports of it."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(CONFIG), encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"the weights")
    digest = weights_digest(folder)
    metrics = {"hits_at_1": 0.25, "hits_at_3": 0.5, "hits_at_10": 0.75, "mrr_at_50": 0.4}
    paths = []
    for i in range(reports):
        report = {"model": str(folder), "dataset": "me/kb", "split": f"test{i}",
                  "mode": "beam", "num_beams": 50, "limit": None, "candidates": None,
                  "candidates_sha256": None, WEIGHTS_DIGEST: digest,
                  "results": {f"en{i}": {**metrics, "num_queries": 10}}}  # fmt: skip
        paths.append(folder.parent / f"report{i}.json")
        paths[-1].write_text(json.dumps(report), encoding="utf-8")
    return paths


def test_a_card_hashes_the_weights_once_for_all_its_reports(tmp_path, monkeypatch):
    """`model_card` with five `--evaluation` reports (each checked on reading and again on
    writing) hashes the folder's weights once; a report of other weights is still refused."""
    folder = tmp_path / "run" / "model"
    paths = _release(folder, 5)
    hashes = _counting(monkeypatch, resume, "files_digest")
    model_card_main([str(folder), *(f"--evaluation={path}" for path in paths)])
    assert hashes == [1]
    kept = json.loads((folder / "evaluation_results.json").read_text(encoding="utf-8"))
    assert len(kept) == 5

    hashes[0] = 0
    reports = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
    write_model_card(folder, evaluations=reports)
    assert hashes == [1]
    other = {**reports[0], WEIGHTS_DIGEST: "0" * 64}
    with pytest.raises(ValueError, match="evaluates other weights"):
        write_model_card(folder, evaluations=[*reports, other])
    # between runs the folder is hashed again: new weights are seen
    (folder / "model.safetensors").write_bytes(b"new weights")
    with pytest.raises(ValueError, match="evaluates other weights"):
        write_model_card(folder, evaluations=reports[:1])
