"""The DBP-5L counts that docs/dbp5l_protocol.md and dataset_builders/kg_layout/README.md
give: what `evaluate_lp` ranks by default (each language's labels in its triples and at its
link ends, `dataset_candidates`), what the card's `labels in rows` counts (the triples
alone), and the test queries that `kens` and `ours` filter, counted by text as they filter
(and by ids, which the page gives beside them)."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from prixlm.data.kg_layout import convert_layout
from prixlm.data.loading import load_kb
from prixlm.link_prediction.candidate_files import candidate_labels, dataset_candidates

REPO = Path(__file__).resolve().parents[2]
DBP5L = Path(os.environ.get("PRIXLM_DBP5L", REPO.parent / "shared" / "dbp5l"))
LANGUAGES = ("el", "en", "es", "fr", "ja")
SPLITS = ("train", "validation", "test")
COLUMNS = ["subject", "relation", "object", "subject_id", "relation_id", "object_id"]


def _page(path: Path) -> str:
    """The text of `path` with its line breaks read as spaces."""
    return " ".join(path.read_text(encoding="utf-8").split())


def _filtered_queries(folder: Path, language: str) -> dict[str, int]:
    """Test rows whose `(h, r)` has a train tail other than the gold (`kens`' filter) and
    another true tail in any split (`ours`' filter), by text and by ids."""
    rows = {s: pq.read_table(folder / language / f"{s}.parquet", columns=COLUMNS).to_pylist() for s in SPLITS}  # fmt: skip
    counts = {}
    for form, (s, r, o) in {"text": COLUMNS[:3], "ids": COLUMNS[3:]}.items():
        train, every = defaultdict(set), defaultdict(set)
        for split in SPLITS:
            for row in rows[split]:
                every[row[s], row[r]].add(row[o])
                if split == "train":
                    train[row[s], row[r]].add(row[o])
        test = rows["test"]
        counts[f"kens {form}"] = sum(bool(train[x[s], x[r]] - {x[o]}) for x in test)
        counts[f"ours {form}"] = sum(bool(every[x[s], x[r]] - {x[o]}) for x in test)
    return counts


@pytest.mark.skipif(not (DBP5L / "kg").is_dir(), reason="DBP-5L is not on this machine")
def test_the_documented_candidate_and_filter_counts_are_the_data_s(tmp_path: Path) -> None:
    """The pages gave the triples' labels (el 4,020 ... ja 7,473) as the default candidates,
    which also hold the link ends (el 4,578 ... ja 9,323), and English's filtered queries
    by ids (3,527, 4,217) where the protocols filter by text (3,532, 4,225)."""
    convert_layout(DBP5L, tmp_path / "ds")
    default = dataset_candidates(tmp_path / "ds", LANGUAGES)
    in_rows = {lang: candidate_labels(load_kb(tmp_path / "ds", lang), lang) for lang in LANGUAGES}
    assert [len(default[lang]) for lang in LANGUAGES] == [4578, 13179, 10638, 10896, 9323]
    assert [len(in_rows[lang]) for lang in LANGUAGES] == [4020, 13132, 10108, 10074, 7473]
    assert all(set(in_rows[lang]) < set(default[lang]) for lang in LANGUAGES)
    counts = {lang: _filtered_queries(tmp_path / "ds", lang) for lang in LANGUAGES}
    assert [counts[lang]["kens text"] for lang in LANGUAGES] == [405, 3532, 2519, 1869, 859]
    assert [counts[lang]["ours text"] for lang in LANGUAGES] == [524, 4225, 3021, 2314, 1074]
    assert counts["en"]["kens ids"] == 3527 and counts["en"]["ours ids"] == 4217
    assert all(
        counts[lang][f"{p} text"] == counts[lang][f"{p} ids"]
        for lang in LANGUAGES
        if lang != "en"
        for p in ("kens", "ours")
    )

    def cells(numbers: list[int]) -> str:
        return " | ".join(f"{n:,}" for n in numbers) + " |"

    protocol = _page(REPO / "docs" / "dbp5l_protocol.md")
    for claim in (
        "| ... or by a link (`evaluate_lp`'s candidates by default) | "
        + cells([len(default[lang]) for lang in LANGUAGES]),
        "has a train tail other than the gold (filtered by `kens`) | "
        + cells([counts[lang]["kens text"] for lang in LANGUAGES]),
        "another true tail in any split (filtered by `ours`) | "
        + cells([counts[lang]["ours text"] for lang in LANGUAGES]),
        "the English cells of these two rows are 3,527 and 4,217",
        "by default each language's labels in the dataset, those its triples name (any split) "
        "and those at an end of its links",
        "(el 4,578, against the 4,020 its triples name",
    ):
        assert claim in protocol, claim
    assert "by default the labels the dataset's rows name" not in protocol
    layout = _page(REPO / "dataset_builders" / "kg_layout" / "README.md")
    assert (
        "DBP-5L el 4,578, en 13,179, es 10,638, fr 10,896, ja 9,323 labels. The card's "
        "`labels in rows` column counts those of the triples alone (el 4,020 ... ja 7,473)"
    ) in layout
    assert "column gives the candidate count per language" not in layout
