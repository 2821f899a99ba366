"""`python -m prixlm.data.dbpedia.build` ends with a table of each language's rows: the
counts a user compares across languages, in columns, equal to the Parquet files written."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from prixlm.data.cldr.export import export_cldr_kb
from prixlm.data.dbpedia.build import main

SPLITS = ("train", "validation", "test")


def _rows(folder: Path) -> int:
    return sum(pq.read_metadata(path).num_rows for path in folder.parent.glob(f"{folder.name}*"))


def test_build_prints_a_table_of_the_rows_it_wrote(tmp_path: Path, capsys) -> None:
    export_cldr_kb(["en", "de"], tmp_path / "dumps")
    out = tmp_path / "kb"
    assert (
        main(["--dump_dir", str(tmp_path / "dumps"), "--output_dir", str(out), "--no_progress"])
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("| language | triples | train | validation | test | links |")
    assert lines[start + 1] == "|---|---:|---:|---:|---:|---:|"
    table = {}
    for line in lines[start + 2 :]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        table[cells[0]] = [int(cell.replace(",", "")) for cell in cells[1:]]
    assert sorted(table) == ["de", "en"]
    links = pq.read_table(out / "links").to_pylist()
    for language, (triples, *splits, linked) in table.items():
        written = [_rows(out / language / split) for split in SPLITS]
        assert splits == written and triples == sum(written) > 1000
        assert linked == sum(row["subject_language"] == language for row in links) > 1000
