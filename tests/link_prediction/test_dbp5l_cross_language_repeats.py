"""DBP-5L test rows that repeat, by text, a train row of another language: the counts that
docs/dbp5l_protocol.md gives, measured on the converted dataset (`prixlm.data.kg_layout`)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from prixlm.data.kg_layout import convert_layout

REPO = Path(__file__).resolve().parents[2]
DBP5L = Path(os.environ.get("PRIXLM_DBP5L", REPO.parent / "shared" / "dbp5l"))
LANGUAGES = ("el", "en", "es", "fr", "ja")
TEXT = ["subject", "relation", "object"]

Text = tuple[str, str, str]


def _texts(folder: Path, language: str, split: str) -> list[Text]:
    """The `(subject, relation, object)` texts of one split of a language's config."""
    table = pq.read_table(folder / language / f"{split}.parquet", columns=TEXT)
    return [(r["subject"], r["relation"], r["object"]) for r in table.to_pylist()]


def cross_language_repeats(folder: Path) -> dict[str, Counter[str]]:
    """Per test language: test rows equal to a train row of another language (`train`), to
    a train or validation row of another one (`seen`), and those of `train` whose subject
    and object are both seed-linked to the same labels of such a language (`linked`)."""
    train = {lang: set(_texts(folder, lang, "train")) for lang in LANGUAGES}
    seen = {lang: train[lang] | set(_texts(folder, lang, "validation")) for lang in LANGUAGES}
    links = {
        (r["subject_language"], r["subject"], r["object_language"], r["object"])
        for r in pq.read_table(folder / "links" / "train.parquet").to_pylist()
    }
    counts: dict[str, Counter[str]] = {"train": Counter(), "seen": Counter(), "linked": Counter()}
    for lang in LANGUAGES:
        for text in _texts(folder, lang, "test"):
            others = [other for other in LANGUAGES if other != lang and text in train[other]]
            counts["train"][lang] += bool(others)
            counts["seen"][lang] += any(text in seen[o] for o in LANGUAGES if o != lang)
            counts["linked"][lang] += any(
                (lang, text[0], o, text[0]) in links and (lang, text[2], o, text[2]) in links
                for o in others
            )
    return counts


@pytest.mark.skipif(not (DBP5L / "kg").is_dir(), reason="DBP-5L is not on this machine")
def test_the_documented_cross_language_repeats_are_the_data_s(tmp_path: Path) -> None:
    convert_layout(DBP5L, tmp_path / "ds")
    counts = cross_language_repeats(tmp_path / "ds")
    per_language = {kind: [counts[kind][lang] for lang in LANGUAGES] for kind in counts}
    assert per_language == {
        "train": [13, 824, 804, 511, 1],
        "seen": [15, 1165, 1118, 666, 1],
        "linked": [8, 332, 348, 288, 1],
    }
    assert sum(per_language["train"]) == 2153 and sum(per_language["seen"]) == 2965
    assert sum(per_language["linked"]) == 977
    fr_test = set(_texts(tmp_path / "ds", "fr", "test"))
    example = ("Jeff Lynne", "birth place", "Birmingham")
    assert example in fr_test
    assert [lang for lang in LANGUAGES if example in _texts(tmp_path / "ds", lang, "train")] == [
        "en",
        "es",
    ]
    page = " ".join((REPO / "docs" / "dbp5l_protocol.md").read_text("utf-8").split())
    for claim in (
        "2,153 test rows are, by text, a train row of another language (el 13, en 824, es 804, "
        "fr 511, ja 1; e.g. fr `('Jeff Lynne', 'birth place', 'Birmingham')`, an en and an es "
        "train row)",
        "and 2,965 (el 15, en 1,165, es 1,118, fr 666, ja 1) a train or validation row of "
        "another language",
        "the seed alignment links both entities of 977 of the 2,153 rows",
    ):
        assert claim in page, claim
