"""The toy `make table1` run that test_table1*.py share and the toy `make dbp5l` run that
test_dbp5l*.py share (each made once a session: ~1 min)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from urllib.parse import quote

import pytest
from tiny_kb import TABLE1_DOCS_KEPT, write_tiny_dumps


@pytest.fixture(scope="session")
def table1_toy_run(tmp_path_factory):
    """(root, argv, table): `table1.main` at the toy profile over two tiny languages; the
    tests that change its work folder put it back as they found it."""
    pytest.importorskip("pykeen")
    from prixlm.experiments import table1

    root = tmp_path_factory.mktemp("table1")
    docs = root / "docs" / "results.md"
    docs.parent.mkdir()
    docs.write_text("# Results\n\nintro\n\n" + TABLE1_DOCS_KEPT, "utf-8")
    argv = [
        "--profile", "toy", "--languages", "en,de", "--work_dir", str(root / "work"),
        "--dump_dir", str(write_tiny_dumps(root / "dumps")), "--workers", "1",
        "--results", str(root / "table1.json"), "--docs", str(docs),
        "--chart", str(root / "docs" / "table1.png"),
    ]  # fmt: skip
    table = table1.main(argv)
    return root, argv, table


NAMES = {
    "en": [
        "Berlin",
        "Paris",
        "Rome",
        "Oslo",
        "Vienna",
        "Madrid",
        "Lisbon",
        "Athens",
        "Dublin",
        "Prague",
        "Germany",
        "France",
        "Italy",
        "Norway",
        "Austria",
        "Spain",
        "Portugal",
        "Greece",
        "Ireland",
        "Czechia",
        "Bern",
    ],
    "ja": [
        "ベルリン",
        "パリ",
        "ローマ",
        "オスロ",
        "ウィーン",
        "マドリード",
        "リスボン",
        "アテネ",
        "ダブリン",
        "プラハ",
        "ドイツ",
        "フランス",
        "イタリア",
        "ノルウェー",
        "オーストリア",
        "スペイン",
        "ポルトガル",
        "ギリシャ",
        "アイルランド",
        "チェコ",
        "ベルン",
    ],
}  # fmt: skip  (the last entity of each list is named by no fact: a candidate all the same)
RELATIONS = ["http://dbpedia.org/ontology/country", "http://dbpedia.org/ontology/capital",
             "http://dbpedia.org/ontology/largestCity"]  # fmt: skip


def write_layout(root: Path) -> Path:
    """entity/ (ja percent-encoded), kg/ (train/val/test), relations.txt, seed_alignlinks/ for en, ja."""
    (root / "entity").mkdir(parents=True)
    (root / "kg").mkdir()
    (root / "seed_alignlinks").mkdir()
    (root / "relations.txt").write_text("\n".join(RELATIONS) + "\n", "utf-8")
    for lang, names in NAMES.items():
        host = "dbpedia.org" if lang == "en" else f"{lang}.dbpedia.org"
        iris = [f"http://{host}/resource/{quote(name.replace(' ', '_'))}" for name in names]
        (root / "entity" / f"{lang}.tsv").write_text("\n".join(iris) + "\n", "utf-8")
        facts = [(city, 0, city + 10) for city in range(10)]  # city -> country
        facts += [(city + 10, 1, city) for city in range(10)]  # country -> capital
        facts += [(city + 10, 2, city) for city in range(10)]  # country -> largest city
        random.Random(lang).shuffle(facts)
        splits = {"train": facts[:22], "val": facts[22:26], "test": facts[26:]}
        for split, rows in splits.items():
            text = "".join(f"{h}\t{r}\t{t}\n" for h, r, t in rows)
            (root / "kg" / f"{lang}-{split}.tsv").write_text(text, "utf-8")
    pairs = "".join(f"{i}.0\t{i}.0\n" for i in range(0, 20, 2))  # floats, as published
    (root / "seed_alignlinks" / "ja-en.tsv").write_text(pairs, "utf-8")
    return root


@pytest.fixture
def layout_writer():
    """`write_layout`, for tests of this folder (an import of `conftest` may find another
    folder's when the whole suite runs)."""
    return write_layout


@pytest.fixture(scope="session")
def dbp5l_toy_run(tmp_path_factory):
    """(root, argv, table): `dbp5l.main` at the toy profile on a tiny KEnS-layout KG (en, ja),
    one process; the tests that change its work folder put it back as they found it."""
    pytest.importorskip("pykeen")
    from prixlm.experiments import dbp5l

    root = tmp_path_factory.mktemp("dbp5l")
    docs = root / "results.md"
    docs.write_text("# Results\n\nkept text\n", "utf-8")
    published = root / "published.json"
    published.write_text(json.dumps({"KEnS (TransE)": {
        "en": {"hits_at_1": 0.1, "hits_at_10": 0.4, "mrr": 0.2},
        "ja": {"hits_at_1": 0.2, "hits_at_10": 0.5, "mrr": 0.3},
        "source": "KEnS, Table 2, protocol kens", "source_kind": "primary"}}), "utf-8")  # fmt: skip
    argv = ["--profile", "toy", "--data", str(write_layout(root / "layout")),
            "--work_dir", str(root / "work"), "--results", str(root / "dbp5l.json"),
            "--docs", str(docs), "--published", str(published), "--chart", str(root / "search.png"),
            "--note", "made on a test machine"]  # fmt: skip
    table = dbp5l.main(argv)
    return root, argv, table
