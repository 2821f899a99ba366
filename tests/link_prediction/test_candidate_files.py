"""Candidate lists for `evaluate_lp --candidates`: a KG layout folder's entity lists, or JSON."""

from __future__ import annotations

import json

import pytest

from prixlm.cli import UsageError
from prixlm.link_prediction.candidate_files import layout_candidates, read_candidates

IRIS = [
    "http://xx.dbpedia.org/resource/A",
    "http://xx.dbpedia.org/resource/B_c",
    "http://xx.dbpedia.org/resource/A",  # the same IRI at a second id
    "http://xx.dbpedia.org/resource/%E6%9D%B1%E4%BA%AC",
    "http://other.org/resource/B_c",  # another IRI, the same label
]


def test_a_layout_folder_gives_every_entity_label_in_id_order(tmp_path):
    (tmp_path / "entity").mkdir()
    (tmp_path / "entity" / "xx.tsv").write_text("\n".join(IRIS) + "\n", encoding="utf-8")
    (tmp_path / "entity" / "yy.tsv").write_text("http://yy.org/resource/Z\n", encoding="utf-8")
    expected = {"xx": ["A", "B c", "東京"], "yy": ["Z"]}
    assert layout_candidates(tmp_path) == expected
    assert read_candidates(str(tmp_path)) == expected
    with pytest.raises(UsageError, match="no entity/<lang>.tsv in this folder"):
        layout_candidates(tmp_path / "entity")


def test_a_json_file_is_read_and_checked(tmp_path):
    path = tmp_path / "candidates.json"
    path.write_text(json.dumps({"en": ["b", "a"]}), encoding="utf-8")
    assert read_candidates(str(path)) == {"en": ["b", "a"]}
    path.write_text(json.dumps({"en": ["a", "a"]}), encoding="utf-8")
    with pytest.raises(UsageError, match="'en' repeats a label"):
        read_candidates(str(path), "candidates_file")
    with pytest.raises(UsageError, match="cannot be read"):
        read_candidates(str(tmp_path / "missing.json"))


def test_a_candidates_file_must_list_every_language_ranked(tmp_path):
    """A language missing from the file is an error naming it (before, the dataset's own
    labels were ranked instead, without a word)."""
    from prixlm.experiments.table1_data import job_candidates
    from prixlm.link_prediction.candidate_files import check_languages

    check_languages({"en": [], "de": ["Euro"]}, ["de"])
    with pytest.raises(
        UsageError, match=r"^x.json: no candidates for 'fr', 'ja' \(it lists 'de'\)$"
    ):
        check_languages({"de": ["Euro"]}, ["ja", "de", "fr"], "x.json")
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"de": ["Yen", "Euro"]}), encoding="utf-8")
    rows = {"de": {"object": ["Euro"], "object_language": ["de"]}}
    assert job_candidates(rows, str(path)) == {"de": ["Yen", "Euro"]}
    with pytest.raises(UsageError, match=f"candidates_file {path}: no candidates for 'en'"):
        job_candidates({**rows, "en": {"object": ["Euro"], "object_language": ["en"]}}, str(path))


def test_an_empty_list_or_a_missing_gold_object_is_a_usage_error():
    """`evaluate_lp --candidates` with `{"en": []}` or without a test row's gold object
    ended in a ValueError traceback after the model had loaded."""
    from datasets import Dataset

    from prixlm.link_prediction.candidate_files import check_gold_objects, check_languages

    with pytest.raises(UsageError, match=r"^--candidates c.json: the list of 'en' is empty$"):
        check_languages({"en": [], "de": ["Euro"]}, ["de", "en"], "--candidates c.json")
    rows = [
        {"object": gold, "object_language": language}
        for gold, language in [("Euro", "de"), ("Yen", "en"), ("Euro", "en"), ("Pfund", "de")]
    ]
    given = {"de": ["Euro", "Yen"], "en": ["Yen", "Euro"]}
    check_languages(given, ["de", "en"], rows=rows[:3])
    expected = (
        r"^--candidates c.json: the list of 'de' lacks the gold object of 1 of its 2 rows "
        r"\(first: row 3, 'Pfund'\); every gold object must be a candidate$"
    )
    for table in (rows, Dataset.from_list(rows)):  # row dicts or evaluate_lp's `Dataset`
        with pytest.raises(UsageError, match=expected):
            check_languages(given, ["de", "en"], "--candidates c.json", rows=table)
    with pytest.raises(UsageError, match=r"'en' lacks the gold object of 2 of its 2 rows"):
        check_gold_objects({"en": ["Pfund"]}, rows[1:3], "--candidates c.json")
