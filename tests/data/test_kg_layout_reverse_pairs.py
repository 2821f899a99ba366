"""Alignment pairs listed in both `a-b.tsv` and `b-a.tsv` are one link, counted."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import datasets
import pytest

from prixlm.data.kg_layout import __main__ as cli

EN = "http://dbpedia.org/resource/"
SW = "http://sw.dbpedia.org/resource/"
#: en-sw.tsv lists {en 0, sw 1} and {en 1, sw 2} (the latter twice: a file's repeat, kept);
#: sw-en.tsv (sw id, en id) lists both again reversed, plus two pairs of its own.
EN_SW = ["0\t1", "1\t2", "1\t2"]
SW_EN = ["1\t0", "2\t1", "0\t1", "2\t2"]


def write_layout(root: Path, alignments: dict[str, list[str]]) -> Path:
    """A two-language KG (en, sw: three entities each) with the given alignment files."""
    files = {
        "relations.txt": ["http://dbpedia.org/ontology/country"],
        "entity/en.tsv": [f"{EN}Nairobi", f"{EN}Kenya", f"{EN}Tanzania"],
        "entity/sw.tsv": [f"{SW}Kenya", f"{SW}Nairobi", f"{SW}Tanzania"],
        "kg/en-train.tsv": ["0\t0\t1"],
        "kg/en-val.tsv": [],
        "kg/en-test.tsv": ["0\t0\t1"],
        "kg/sw-train.tsv": ["1\t0\t0"],
        "kg/sw-val.tsv": [],
        "kg/sw-test.tsv": ["1\t0\t0"],
        **{f"seed_alignlinks/{name}": lines for name, lines in alignments.items()},
    }
    for name, lines in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return root


def convert(root: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command; returns the links line it prints."""
    capsys.readouterr()
    assert cli.main(["--input_dir", str(root), "--output_dir", str(out), "--no_progress"]) == 0
    return next(line for line in capsys.readouterr().out.splitlines() if "links:" in line)


def test_a_pair_in_both_direction_files_is_one_link_and_is_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_layout(tmp_path / "kg", {"en-sw.tsv": EN_SW, "sw-en.tsv": SW_EN})
    out = tmp_path / "dataset"
    printed = convert(root, out, capsys)
    assert printed == (
        "  links: 10 rows from 7 pairs in 2 files; 0 pairs dropped (empty label), "
        "1 listed twice in one file (kept), 2 also in the other direction's file (kept once)"
    )
    links = datasets.load_dataset(str(out), "links", split="train", cache_dir=str(tmp_path / "c"))
    listed = Counter(zip(links["subject"], links["object"], strict=True))
    assert listed == {
        ("Nairobi", "Nairobi"): 2,  # en 0 - sw 1 (both files): en -> sw, sw -> en, once each
        ("Kenya", "Tanzania"): 2,  # en 1 - sw 2: twice in en-sw.tsv, once in sw-en.tsv
        ("Tanzania", "Kenya"): 2,
        ("Kenya", "Kenya"): 2,  # en 1 - sw 0 (sw-en.tsv only)
        ("Tanzania", "Tanzania"): 2,  # en 2 - sw 2 (sw-en.tsv only)
    }
    ends = Counter(zip(links["subject_id"], links["object_id"], strict=True))
    assert ends[(f"{EN}Nairobi", f"{SW}Nairobi")] == ends[(f"{SW}Nairobi", f"{EN}Nairobi")] == 1
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "Links: 10 rows (both directions) from 7 pairs\nin 2 files;" in card
    assert "1 pairs listed more than once in one file (kept);" in card
    assert "2 pairs listed in both `<a>-<b>.tsv` and `<b>-<a>.tsv` (kept once)." in card


def test_one_file_a_pair_keeps_its_lines_and_its_card_wording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_layout(tmp_path / "kg", {"en-sw.tsv": EN_SW})
    out = tmp_path / "dataset"
    assert convert(root, out, capsys).endswith(
        "1 listed twice in one file (kept), 0 also in the other direction's file (kept once)"
    )
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "Links: 6 rows (both directions) from 3 pairs\nin 1 files; 0 pairs dropped" in card
    assert "(empty label);\n1 pairs listed more than once (kept).\n" in card
    assert "<b>-<a>.tsv" not in card
