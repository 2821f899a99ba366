"""The dataset card's statistics table: every cell, read by its header, is the build's count.

The table's validation and test columns could be swapped under the right headers while the
YAML `dataset_info` stayed right; the build below has a test share unlike its validation
share, so the two columns differ."""

from __future__ import annotations

from pathlib import Path

from prixlm.data.dbpedia import SplitSettings
from prixlm.data.dbpedia.build import build_dataset

SETTINGS = SplitSettings(test_fraction=0.4, validation_fraction=0.1, inverse_threshold=1.0)


def statistics_rows(card: str) -> dict[str, dict[str, int]]:
    """`{language: {header: count}}` from the card's table that starts with `| language |`."""
    lines = card.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| language |"))
    headers = [cell.strip() for cell in lines[start].strip("|").split("|")]
    table = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert len(cells) == len(headers), line
        table[cells[0]] = {
            h: int(c.replace(",", "")) for h, c in zip(headers[1:], cells[1:], strict=True)
        }
    return table


def test_statistics_table_cells_are_the_build_s_counts(dumps: Path, tmp_path: Path) -> None:
    rows, _ = build_dataset(dumps, tmp_path / "kb", settings=SETTINGS)
    card = (tmp_path / "kb" / "README.md").read_text(encoding="utf-8")
    table = statistics_rows(card)
    assert sorted(table) == ["de", "en", "fr"]
    differ = 0
    for language, stats in rows.stats.items():
        written = {split: len(rows.triples[language][split]) for split in stats.splits}
        assert written == stats.splits  # the rows written are the counts stated
        assert table[language] == {
            "entities": stats.entities,
            "triples": stats.triples,
            "train": written["train"],
            "validation": written["validation"],
            "test": written["test"],
            "removed (inverse)": stats.removed_inverse,
            "removed (length)": stats.removed_length,
            "links": stats.links,
            "labelled entities": stats.labelled_entities,
        }
        assert (
            table[language]["train"] + table[language]["validation"] + table[language]["test"]
            == table[language]["triples"]
        )
        differ += written["validation"] != written["test"]
    assert differ == 3  # every language tells a swap of the two columns
