"""KEnS-layout language codes are checked before anything is written: a code that is not
one (`..`), a code taken by the dataset's own configs (`all`, `links`), two codes naming
the same language (`EN`, `en`)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from huggingface_hub import DatasetCard

from prixlm.data.kg_layout import LayoutError, convert_layout, find_layout

EN = "http://dbpedia.org/resource/"


def write_layout(root: Path, codes: list[str]) -> Path:
    """A one-fact KG for each of `codes`: `entity/<code>.tsv`, `kg/<code>-{train,val,test}.tsv`
    and `relations.txt`."""
    files = {"relations.txt": ["http://dbpedia.org/ontology/country"]}
    for code in codes:
        files[f"entity/{code}.tsv"] = [f"{EN}Tokyo", f"{EN}Japan"]
        files[f"kg/{code}-train.tsv"] = ["0\t0\t1"]
        files[f"kg/{code}-val.tsv"] = ["1\t0\t0"]
        files[f"kg/{code}-test.tsv"] = ["0\t0\t1"]
    for name, lines in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return root


def test_a_dot_dot_code_is_refused_and_nothing_is_written_outside(tmp_path: Path) -> None:
    root = write_layout(tmp_path / "kg", ["..", "en"])
    work = tmp_path / "work"
    out = work / "dataset"
    work.mkdir()
    with pytest.raises(LayoutError, match=r"kg/\.\.-train\.tsv: '\.\.' is not a language code"):
        convert_layout(root, out)
    assert list(work.iterdir()) == []  # no shard beside the output folder, no output folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kg", "work"]


@pytest.mark.parametrize("code", ["#x", "-x", "e|n", "a b", "x-"])
def test_codes_that_are_not_codes_are_refused_in_languages(tmp_path: Path, code: str) -> None:
    root = write_layout(tmp_path / "kg", ["en", code])
    with pytest.raises(LayoutError, match=f"--languages {re.escape(code)}: '.*' is not a language"):
        find_layout(root, ["en", code])


def test_a_code_with_a_folder_is_refused(tmp_path: Path) -> None:
    root = write_layout(tmp_path / "kg", ["en", "sub/en"])  # entity/sub/en.tsv, kg/sub/...
    with pytest.raises(LayoutError, match="--languages sub/en: 'sub/en' is not a language"):
        find_layout(root, ["sub/en"])


@pytest.mark.parametrize("code", ["all", "links", "ALL"])
def test_the_dataset_configs_are_not_languages(tmp_path: Path, code: str) -> None:
    root = write_layout(tmp_path / "kg", ["en", code])
    out = tmp_path / "dataset"
    with pytest.raises(LayoutError, match=f"-train.tsv: language '{code}' is taken"):
        convert_layout(root, out)
    with pytest.raises(LayoutError, match=f"--languages {code}: language '{code}' is taken"):
        find_layout(root, [code])
    assert not out.exists()


def test_two_codes_of_the_same_language_are_refused(tmp_path: Path) -> None:
    root = write_layout(tmp_path / "kg", ["EN", "en"])
    with pytest.raises(LayoutError, match="languages 'EN' and 'en' name the same language"):
        find_layout(root)
    with pytest.raises(LayoutError, match="--languages en: .* name the same language"):
        find_layout(root, ["EN", "en"])
    assert find_layout(root, ["EN"]).languages == ["EN"]  # either one alone converts


def test_codes_of_the_dbpedia_rule_pass(tmp_path: Path) -> None:
    root = write_layout(tmp_path / "kg", ["en", "zh-hant", "be_x_old"])
    assert find_layout(root).languages == ["be_x_old", "en", "zh-hant"]


def test_the_card_does_not_depend_on_the_order_languages_are_given(tmp_path: Path) -> None:
    """The card's statistics table followed `--languages` (`en,ja` and `ja,en` gave two
    cards of the same files); the Parquet files were equal already."""
    from test_kg_layout import write_layout

    from prixlm.data.kg_layout import __main__ as cli

    root = write_layout(tmp_path / "kg")
    cards = []
    for order in ("en,ja", "ja,en"):
        out = tmp_path / order.replace(",", "_")
        argv = ["--input_dir", str(root), "--output_dir", str(out), "--languages", order]
        assert cli.main([*argv, "--no_progress"]) == 0
        text = (out / "README.md").read_text("utf-8")
        cards.append("\n".join(line for line in text.splitlines() if order not in line))
    assert cards[0] == cards[1]


def test_each_config_is_keyed_on_its_files_digest(tmp_path: Path) -> None:
    """`load_dataset` caches a local folder under its name and card: each config's
    `description` holds the sha256 of its files (their own digests, split by split, in the
    card's order), so a folder converted again with other rows is read anew."""
    out = tmp_path / "out"
    convert_layout(write_layout(tmp_path / "kg", ["en", "fr"]), out)
    configs = DatasetCard.load(out / "README.md").data.to_dict()["configs"]
    assert {entry["config_name"] for entry in configs} == {"en", "fr", "all"}
    for entry in configs:
        lines = [
            f"{files['split']} {path} {hashlib.sha256((out / path).read_bytes()).hexdigest()}"
            for files in entry["data_files"]
            for path in files["path"]
        ]
        digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
        assert entry["description"] == f"Parquet files sha256 {digest}"
