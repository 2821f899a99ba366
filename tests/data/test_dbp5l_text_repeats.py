"""DBP-5L's repeats: none by ids, and by text the English rows that docs/dbp5l_protocol.md
counts (an `ontology/x` and its `property/x` read as one relation name)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from prixlm.data.kg_layout import convert_layout

REPO = Path(__file__).resolve().parents[2]
DBP5L = Path(os.environ.get("PRIXLM_DBP5L", REPO.parent / "shared" / "dbp5l"))
SPLITS = ("train", "validation", "test")


def _repeats(rows: dict[str, list[dict]], columns: tuple[str, ...]) -> dict[str, int]:
    """Rows of a split equal (on `columns`) to a row of an earlier split or of their own."""
    keys = {split: [tuple(row[c] for c in columns) for row in rows[split]] for split in SPLITS}
    train, validation = set(keys["train"]), set(keys["validation"])
    within = {s: sum(n - 1 for n in Counter(keys[s]).values()) for s in SPLITS}
    return {
        "test in train": sum(key in train for key in keys["test"]),
        "test in validation only": sum(
            key in validation and key not in train for key in keys["test"]
        ),
        "validation in train": sum(key in train for key in keys["validation"]),
        **{f"within {s}": within[s] for s in SPLITS},
    }


@pytest.mark.skipif(not (DBP5L / "kg").is_dir(), reason="DBP-5L is not on this machine")
def test_english_text_repeats_are_the_ones_the_protocol_page_counts(tmp_path: Path) -> None:
    """The page said no test triple repeats a train or validation triple: true by ids, not
    by the text every method reads."""
    stats = convert_layout(DBP5L, tmp_path / "en", ["en"])
    rows = {s: pq.read_table(tmp_path / "en" / "en" / f"{s}.parquet").to_pylist() for s in SPLITS}
    by_ids = _repeats(rows, ("subject_id", "relation_id", "object_id"))
    by_text = _repeats(rows, ("subject", "relation", "object"))
    assert set(by_ids.values()) == {0}
    assert by_text == {
        "test in train": 8,
        "test in validation only": 3,
        "validation in train": 21,
        "within train": 25,
        "within validation": 8,
        "within test": 0,
    }
    assert stats.languages["en"].text_repeats == sum(by_text.values()) == 65
    page = " ".join((REPO / "docs" / "dbp5l_protocol.md").read_text("utf-8").split())
    for claim in (
        "no test triple repeats a train or validation triple by ids",
        "8 of its 7,464 test rows are a train row",
        "3 more are a validation row, and 21 validation rows are a train row",
        "gives English 65, these 32 plus 25 repeats within train and 8 within validation",
    ):
        assert claim in page
    assert "no test triple repeats a train or validation triple;" not in page
