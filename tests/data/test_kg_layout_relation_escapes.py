"""Relation IRIs with percent-escapes get the DBpedia build's names in a converted layout."""

from __future__ import annotations

import os
from pathlib import Path

import datasets
import pytest

from prixlm.data.kg_layout import __main__ as cli
from prixlm.data.kg_layout.read import read_iris, relation_name
from prixlm.data.ntriples import canonical_iri
from prixlm.data.relation_names import relation_words

PT = "http://pt.dbpedia.org/resource/"
ZH = "http://zh.dbpedia.org/resource/"
#: nacionalidadeDoCidadão, 姊妹城市 (twin town), as `.nt` dumps write them, and a plain one
RELATIONS = [
    "http://pt.dbpedia.org/property/nacionalidadeDoCidad%C3%A3o",
    "http://zh.dbpedia.org/property/%E5%A7%8A%E5%A6%B9%E5%9F%8E%E5%B8%82",
    "http://dbpedia.org/ontology/officialLanguage",
]
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
DBP5L = Path(os.environ.get("PRIXLM_DBP5L", SHARED / "dbp5l"))


def write_layout(root: Path, relations: list[str]) -> Path:
    """A two-language KG whose facts use each of `relations` (ids 0, 1, 2) once."""
    files = {
        "relations.txt": relations,
        "entity/pt.tsv": [f"{PT}Lisboa", f"{PT}Portugal", f"{PT}S%C3%A3o_Paulo"],
        "entity/zh.tsv": [f"{ZH}%E9%87%8C%E6%96%AF%E6%9C%AC", f"{ZH}葡萄牙", f"{ZH}聖保羅"],
        "kg/pt-train.tsv": ["0\t0\t1", "0\t1\t2", "1\t2\t0"],
        "kg/pt-val.tsv": [],
        "kg/pt-test.tsv": ["2\t0\t1"],
        "kg/zh-train.tsv": ["0\t0\t1", "0\t1\t2", "1\t2\t0"],
        "kg/zh-val.tsv": [],
        "kg/zh-test.tsv": ["2\t1\t0"],
        "seed_alignlinks/pt-zh.tsv": ["0\t0", "1\t1"],
    }
    for name, lines in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return root


def test_relation_names_are_percent_decoded_as_the_dbpedia_build_names_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_layout(tmp_path / "kg", RELATIONS)
    out = tmp_path / "dataset"
    argv = ["--input_dir", str(root), "--output_dir", str(out), "--no_progress"]
    assert cli.main(argv) == 0
    capsys.readouterr()
    cache = str(tmp_path / "cache")
    for language in ("pt", "zh"):
        rows = datasets.load_dataset(str(out), language, split="train", cache_dir=cache)
        assert rows["relation"] == ["nacionalidade do cidadão", "姊妹城市", "official language"]
        assert rows["relation_id"] == RELATIONS  # the IRIs as the file writes them
    test = datasets.load_dataset(str(out), "zh", split="test", cache_dir=cache)
    assert (test[0]["subject"], test[0]["relation"], test[0]["object"]) == (
        "聖保羅",
        "姊妹城市",
        "里斯本",
    )
    # the dump build reads an IRI in its canonical form, then names it (`tables`)
    assert [relation_name(iri) for iri in RELATIONS] == [
        relation_words(canonical_iri(iri)) for iri in RELATIONS
    ]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "Relations: 3 IRIs, 3 distinct names." in card


def test_relation_escapes_that_are_not_utf8_name_the_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    relations = [RELATIONS[0], "http://zh.dbpedia.org/property/%E5%A7", RELATIONS[2]]
    root = write_layout(tmp_path / "kg", relations)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--input_dir", str(root), "--output_dir", str(out), "--no_progress"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    expected = f"error: {root / 'relations.txt'}:2: percent-escapes that are not UTF-8"
    assert error == [expected]
    assert not out.exists() and not list(tmp_path.glob(".out*"))  # nothing written


@pytest.mark.skipif(not (DBP5L / "relations.txt").is_file(), reason="DBP-5L is not here")
def test_dbp5l_relation_names_are_those_of_their_plain_iris() -> None:
    iris = read_iris(DBP5L / "relations.txt")
    assert len(iris) == 960
    assert [relation_name(iri) for iri in iris] == [relation_words(iri) for iri in iris]
