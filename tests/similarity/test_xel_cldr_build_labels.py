"""CLDR XEL takes its mentions and its seen check from the export's labels: they are the
labels the dataset build stores, so every lo and km query whose link the dataset holds is
seen, and each mention is the text the model was trained on (a U+200B the build drops was
kept in 209 lo mentions, which were marked unseen and read as `<unk>` pieces)."""

from __future__ import annotations

from pathlib import Path

import pytest

from prixlm.data.cldr.export import export_cldr_kb
from prixlm.data.dbpedia.arrow_values import ZERO_WIDTH
from prixlm.data.dbpedia.build import build_dataset
from prixlm.data.loading import load_kb
from prixlm.similarity.xel_cldr import cldr_xel_queries

LANGUAGES = ("lo", "km")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cldr_xel")
    export_cldr_kb([*LANGUAGES, "en"], root / "dumps", progress=False)
    build_dataset(root / "dumps", root / "kb", [*LANGUAGES, "en"], progress=False)
    return root / "kb"


def dataset_links(dataset: Path) -> set[tuple[str, str, str, str]]:
    """`(subject_language, subject, object_language, object)` of the dataset's link rows."""
    names = ("subject_language", "subject", "object_language", "object")
    return {
        tuple(row[name] for name in names)
        for rows in load_kb(dataset, "links").values()
        for row in rows.to_list()
    }


def test_seen_flags_of_lo_and_km_match_the_dataset_links(dataset: Path) -> None:
    links = dataset_links(dataset)
    english = {(row[0], row[1]): row[3] for row in links if row[2] == "en"}
    data = cldr_xel_queries(list(LANGUAGES), dataset)
    golds = {target.entity: target.name for target in data.targets}
    expected = [
        english.get((query.language, query.mention)) == golds[next(iter(query.gold))]
        for query in data.queries
    ]
    assert data.seen == expected
    for language in LANGUAGES:  # the build puts every link in train: all seen
        counts = data.info[language]
        assert counts["seen"] == counts["queries"] > 1_000, (language, counts)
    assert data.info["lo"]["queries"] == 1_695


def test_mentions_are_the_dataset_labels(dataset: Path) -> None:
    data = cldr_xel_queries(list(LANGUAGES), dataset)
    for language in LANGUAGES:
        labels = {
            row[side]
            for rows in load_kb(dataset, language).values()
            for row in rows.to_list()
            for side in ("subject", "object")
        }
        mentions = [query.mention for query in data.queries if query.language == language]
        assert set(mentions) <= labels, language
        assert not [mention for mention in mentions if set(mention) & ZERO_WIDTH], language
