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
