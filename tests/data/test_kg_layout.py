"""A KG in the KEnS / SS-AGA layout (DBP-5L) -> the Prix-LM dataset folder, then load_dataset."""

from __future__ import annotations

import os
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from kg_files import write_files

from prixlm.data.kg_layout import __main__ as cli
from prixlm.data.kg_layout import convert_layout, entity_label

JA = "http://ja.dbpedia.org/resource/"
EN = "http://dbpedia.org/resource/"
ONTOLOGY = "http://dbpedia.org/ontology/"
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
DBP5L = Path(os.environ.get("PRIXLM_DBP5L", SHARED / "dbp5l"))

#: A tiny KG: ja has a percent-encoded and a raw UTF-8 IRI with the same label (東京), an
#: empty validation file; en has a slash in a local name, an IRI listed at two ids (0 and 4)
#: and an IRI with an empty label (5); de has entities but no KG.
FILES = {
    "entity/ja.tsv": [f"{JA}%E6%9D%B1%E4%BA%AC", f"{JA}日本", f"{JA}大阪", f"{JA}東京"],
    "entity/en.tsv": [
        f"{EN}Tokyo",
        f"{EN}Japan",
        f"{EN}AC/DC",
        f"{EN}Osaka_Prefecture",
        f"{EN}Tokyo",
        EN,
    ],
    "entity/de.tsv": ["http://de.dbpedia.org/resource/Tokio"],
    "relations.txt": [f"{ONTOLOGY}country", "http://dbpedia.org/property/capital"],
    "kg/en-train.tsv": ["0\t0\t1", "3\t0\t1", "1\t1\t0", "5\t0\t1"],
    "kg/en-val.tsv": ["4\t0\t1"],
    "kg/en-test.tsv": ["2\t0\t1", "0\t0\t3"],
    "kg/ja-train.tsv": ["0\t0\t1", "2\t0\t1"],
    "kg/ja-val.tsv": [],
    "kg/ja-test.tsv": ["3\t0\t1"],
    "seed_alignlinks/ja-en.tsv": ["0.0\t0.0", "1.0\t1.0", "2\t3", "3.0\t5.0"],
    "seed_alignlinks/de-en.tsv": ["0.0\t0.0"],
}


def write_layout(root: Path, files: dict[str, list[str]] = FILES) -> Path:
    """Write `files` (`{relative path: lines}`) under `root`, UTF-8, one LF a line."""
    return write_files(root, files)


def test_labels_come_from_the_iris_local_names() -> None:
    assert entity_label(f"{JA}%E6%9D%B1%E4%BA%AC") == "東京"
    assert entity_label(f"{JA}東京") == "東京"
    assert entity_label(f"{EN}AC/DC") == "AC/DC"
    assert entity_label(f"{EN}Osaka_Prefecture") == "Osaka Prefecture"
    assert entity_label(f"{EN}%28500%29_Days") == "(500) Days"
    assert entity_label("http://example.org/kg#Big_Ben") == "Big Ben"
    assert entity_label(EN) == ""


def test_labels_are_cleaned_as_the_dbpedia_build_cleans_them(tmp_path: Path) -> None:
    """`A__B` or an escaped tab or newline made a label with two spaces, a tab or a newline
    (`strip` only): the model reads it as `A B` (its tokenizer splits at white space), so
    one entity became two candidates that tokenise alike, and the Hub pipeline refuses a
    query holding a tab or newline. The label is the DBpedia build's (`clean_label`)."""
    from modeling_prixlm.pipeline_queries import check_input
    from prixlm.data.dbpedia.arrow_values import clean_label

    iris = [f"{EN}A__B", f"{EN}A%09B", f"{EN}A_%0A_B", f"{EN}A%20%20B", f"{EN}_A_B_", f"{EN}A_B"]
    labels = [entity_label(iri) for iri in iris]
    assert labels == ["A B"] * 6
    for raw in ("A\tB", "A\nB", "A  B"):
        assert clean_label(raw) == "A B"
    check_input("A B | country")
    files = {
        "entity/en.tsv": [f"{EN}Japan", f"{EN}A__B", f"{EN}A_B"],
        "relations.txt": [f"{ONTOLOGY}country"],
        "kg/en-train.tsv": ["1\t0\t0", "2\t0\t0"],
        "kg/en-val.tsv": [],
        "kg/en-test.tsv": ["0\t0\t1"],
    }
    stats = convert_layout(write_layout(tmp_path / "kg", files), tmp_path / "dataset")
    assert stats.languages["en"].shared_labels == 2  # two IRIs, one label: counted
    rows = datasets.load_dataset(str(tmp_path / "dataset"), "en")
    assert {r["subject"] for r in rows["train"]} == {"A B"}
    assert [r["object"] for r in rows["test"]] == ["A B"]


def test_labels_spelled_composed_and_decomposed_are_one_label(tmp_path: Path) -> None:
    """`Qu%C3%A9bec` (NFC) and `Que%CC%81bec` (NFD) gave two labels that the model reads as
    one (it composes every name): the test row's filter list lacked the train row's object,
    which the model is asked the same prompt for, and `shared_labels` counted 0."""
    fr = "http://fr.dbpedia.org/resource/"
    assert entity_label(f"{fr}Que%CC%81bec") == "Qu\u00e9bec"
    files = {
        "entity/fr.tsv": [f"{fr}Qu%C3%A9bec", f"{fr}Que%CC%81bec", f"{fr}Canada", f"{fr}France"],
        "relations.txt": [f"{ONTOLOGY}country"],
        "kg/fr-train.tsv": ["0\t0\t2"],
        "kg/fr-val.tsv": [],
        "kg/fr-test.tsv": ["1\t0\t3"],
    }
    stats = convert_layout(write_layout(tmp_path / "kg", files), tmp_path / "dataset")
    assert stats.languages["fr"].shared_labels == 2
    rows = datasets.load_dataset(str(tmp_path / "dataset"), "fr")
    assert [r["subject"] for r in rows["test"]] == ["Qu\u00e9bec"]
    assert [r["all_objects"] for r in rows["test"]] == [["Canada", "France"]]


def test_conversion_keeps_the_splits_and_loads(tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    stats = convert_layout(write_layout(tmp_path / "kg"), out)
    en, ja = stats.languages["en"], stats.languages["ja"]
    # rows = lines minus the documented drops (en train: the fact of the empty label)
    assert en.lines == {"train": 4, "validation": 1, "test": 2}
    assert en.rows == {"train": 3, "validation": 1, "test": 2}
    assert en.dropped_empty_label == {"train": 1, "validation": 0, "test": 0}
    assert ja.rows == ja.lines == {"train": 2, "validation": 0, "test": 1}
    assert (en.repeated_iris, en.text_repeats, ja.shared_labels) == (1, 1, 2)
    assert stats.link_lines == {"ja-en.tsv": 4}
    assert (stats.link_rows, stats.links_dropped_empty_label) == (6, 1)
    assert stats.skipped_files == ["seed_alignlinks/de-en.tsv"]  # no path of this machine
    assert "`seed_alignlinks/de-en.tsv`" in (out / "README.md").read_text(encoding="utf-8")
    assert str(tmp_path) not in (out / "README.md").read_text(encoding="utf-8")

    cache = str(tmp_path / "cache")
    loaded = datasets.load_dataset(str(out), "en", cache_dir=cache)
    assert {split: len(rows) for split, rows in loaded.items()} == en.rows
    first = loaded["train"][0]  # file order: line 1 of kg/en-train.tsv
    assert first == {
        "kind": "triple",
        "subject": "Tokyo",
        "relation": "country",
        "object": "Japan",
        "subject_language": "en",
        "object_language": "en",
        "subject_id": f"{EN}Tokyo",
        "relation_id": f"{ONTOLOGY}country",
        "object_id": f"{EN}Japan",
        # every split: Japan (train, validation via id 4), Osaka Prefecture (test)
        "all_objects": ["Japan", "Osaka Prefecture"],
    }
    assert loaded["train"]["relation"] == ["country", "country", "capital"]
    assert loaded["test"]["subject"] == ["AC/DC", "Tokyo"]
    assert loaded["validation"][0]["subject_id"] == f"{EN}Tokyo"

    ja_rows = datasets.load_dataset(str(out), "ja", cache_dir=cache)
    assert sorted(ja_rows) == ["test", "train"]  # an empty split has no file
    card = (out / "README.md").read_text(encoding="utf-8")  # its snippet: ja had validation
    assert 'en = load_dataset("PATH_OR_REPO", "en")  # train / validation / test triples' in card
    assert 'ja = load_dataset("PATH_OR_REPO", "ja")  # train / test triples' in card
    assert ja_rows["train"]["subject"] == ["東京", "大阪"]
    assert ja_rows["test"][0]["subject_id"] == f"{JA}東京"
    assert ja_rows["test"][0]["all_objects"] == ["日本"]

    links = datasets.load_dataset(str(out), "links", split="train", cache_dir=cache)
    pairs = list(zip(links["subject"], links["object"], links["subject_language"], strict=True))
    assert pairs == [
        ("東京", "Tokyo", "ja"),
        ("Tokyo", "東京", "en"),
        ("日本", "Japan", "ja"),
        ("Japan", "日本", "en"),
        ("大阪", "Osaka Prefecture", "ja"),
        ("Osaka Prefecture", "大阪", "en"),
    ]
    assert links[0]["subject_id"] == f"{JA}%E6%9D%B1%E4%BA%AC"
    everything = datasets.load_dataset(str(out), "all", cache_dir=cache)
    assert len(everything["train"]) == 3 + 2 + 6 and len(everything["test"]) == 3
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "| en | 6 | 1 | 4 | 3 of 4 | 1 of 1 | 2 of 2 | 1 | 1 |" in card


BAD = [
    ("kg/en-train.tsv", ["0\t0\t1", "0\t0"], "kg/en-train.tsv:2: expected 3 tab-separated ids"),
    ("kg/en-test.tsv", ["0\t2\t1"], "kg/en-test.tsv:1: relation 2 out of range"),
    ("kg/en-val.tsv", ["x\t0\t1"], "kg/en-val.tsv:1: head 'x' is not a whole number"),
    ("seed_alignlinks/ja-en.tsv", ["0.0\t0.0", "3072.5\t1.0"], "ja-en.tsv:2: ja id '3072.5'"),
    ("seed_alignlinks/ja-en.tsv", ["0.0\t6.0"], "ja-en.tsv:1: en id 6 out of range"),
    ("entity/ja.tsv", [f"{JA}%FF"], "entity/ja.tsv:1: percent-escapes that are not UTF-8"),
    ("entity/en.tsv", [f"{EN}Tokyo", ""], "entity/en.tsv:2: expected one IRI"),
]


@pytest.mark.parametrize(("name", "lines", "message"), BAD, ids=[b[2][:24] for b in BAD])
def test_a_malformed_line_is_one_error_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, lines: list[str], message: str
) -> None:
    root = write_layout(tmp_path / "kg", {**FILES, name: lines})
    out = tmp_path / "out"
    argv = ["--input_dir", str(root), "--output_dir", str(out), "--no_progress"]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: ") and message in error[0], error
    assert not out.exists() and not list(tmp_path.glob(".out*"))  # nothing written


def test_bytes_that_are_not_utf8_name_the_line(tmp_path: Path) -> None:
    root = write_layout(tmp_path / "kg")
    (root / "kg/en-test.tsv").write_bytes(b"2\t0\t1\n0\t0\xff\t3\n")
    with pytest.raises(ValueError, match=r"kg/en-test\.tsv:2: not UTF-8"):
        convert_layout(root, tmp_path / "out")


def test_a_byte_order_mark_stays_out_of_the_first_iri(tmp_path: Path) -> None:
    """Windows editors write one: it stayed in the first IRI (`subject_id`), not in its label."""
    from prixlm.data.kg_layout.read import read_iris

    path = tmp_path / "en.tsv"
    path.write_bytes(b"\xef\xbb\xbf" + f"{EN}Tokyo\r\n{EN}Japan\r\n".encode())
    assert read_iris(path) == [f"{EN}Tokyo", f"{EN}Japan"]


def test_a_language_without_its_files_is_named(tmp_path: Path, capsys) -> None:
    root = write_layout(tmp_path / "kg")
    argv = ["--input_dir", str(root), "--output_dir", str(tmp_path / "out"), "--languages", "de"]
    with pytest.raises(SystemExit):
        cli.main(argv)
    error = capsys.readouterr().err
    assert f"--languages de: no {root / 'kg/de-train.tsv'}" in error and "en, ja" in error


def test_the_command_prints_counts_and_replaces_its_earlier_output(tmp_path: Path, capsys) -> None:
    root = write_layout(tmp_path / "kg")
    out = tmp_path / "out"
    argv = ["--input_dir", str(root), "--output_dir", str(out), "--languages", "en,en"]
    assert cli.main([*argv, "--no_progress"]) == 0
    printed = capsys.readouterr().out
    # a language named twice is converted once (its rows were written twice)
    assert "en: train 3/4, validation 1/1, test 2/2 rows/lines; 1 dropped" in printed
    assert pq.read_metadata(out / "en" / "train.parquet").num_rows == 3
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "en"]  # no links: ja not read
    (out / "notes.txt").write_text("mine")
    assert cli.main(["--input_dir", str(root), "--output_dir", str(out), "--no_progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "en", "ja", "links", "notes.txt"]


@pytest.mark.skipif(not (DBP5L / "kg").is_dir(), reason="DBP-5L is not on this machine")
def test_dbp5l_splits_are_the_published_ones(tmp_path: Path) -> None:
    stats = convert_layout(DBP5L, tmp_path / "dbp5l")
    published = {  # PROVENANCE.md: train / val / test lines
        "el": (8_670, 4_152, 1_017),
        "en": (48_652, 24_051, 7_464),
        "es": (33_036, 16_220, 4_810),
        "fr": (30_139, 14_705, 4_171),
        "ja": (17_979, 8_633, 2_162),
    }
    for language, (train, validation, test) in published.items():
        expected = {"train": train, "validation": validation, "test": test}
        assert stats.languages[language].rows == stats.languages[language].lines == expected
    assert sum(stats.link_lines.values()) == 37_723 and stats.link_rows == 2 * 37_723
    el = datasets.load_dataset(str(tmp_path / "dbp5l"), "el", cache_dir=str(tmp_path / "c"))
    assert [len(el[s]) for s in ("train", "validation", "test")] == [8_670, 4_152, 1_017]
    assert all(row["subject"] and row["object"] for row in el["test"])


def test_alignment_files_of_codes_with_a_hyphen_are_read() -> None:
    """`en-zh-hant.tsv` was skipped: the name was cut at every hyphen."""
    from prixlm.data.kg_layout.read import alignment_pair

    assert alignment_pair("en-zh-hant.tsv", ["en", "zh-hant"]) == ("en", "zh-hant")
    assert alignment_pair("zh-hant-en.tsv", ["en", "zh-hant"]) == ("zh-hant", "en")
    assert alignment_pair("de-en.tsv", ["en", "de"]) == ("de", "en")
    assert alignment_pair("de-en.tsv", ["en"]) is None  # a language not converted
    assert alignment_pair("de-en.txt", ["en", "de"]) is None
    assert alignment_pair("a-b-c.tsv", ["a", "b-c", "a-b", "c"]) is None  # two readings


def test_the_card_of_a_kg_without_alignments_shows_no_links_config(tmp_path: Path) -> None:
    """Its usage example loaded a `links` config the folder does not have."""
    files = {k: v for k, v in FILES.items() if not k.startswith("seed_alignlinks")}
    convert_layout(write_layout(tmp_path / "kg", files), tmp_path / "out", ["en", "ja"])
    card = (tmp_path / "out" / "README.md").read_text("utf-8")
    assert '"links")' not in card and "(no alignment pairs)" in card
    convert_layout(write_layout(tmp_path / "kg2"), tmp_path / "out2", ["en", "ja"])
    assert '"links")' in (tmp_path / "out2" / "README.md").read_text("utf-8")


def test_a_links_true_objects_are_those_of_its_object_language(tmp_path: Path) -> None:
    """東京 (ja) is aligned to Tokyo (en) and to Tokio (de): ranking the ja -> en link must
    filter only the English name, not the German one (a filter list shared by all object
    languages would hold both, and filter a candidate of another language's name)."""
    files = {
        **FILES,
        "kg/de-train.tsv": ["0\t0\t0"],
        "kg/de-val.tsv": [],
        "kg/de-test.tsv": [],
        "seed_alignlinks/ja-de.tsv": ["0\t0"],
    }
    out = tmp_path / "out"
    convert_layout(write_layout(tmp_path / "kg", files), out)
    links = datasets.load_dataset(str(out), "links", split="train", cache_dir=str(tmp_path / "c"))
    lists = {
        (row["subject_language"], row["subject"], row["object_language"]): row["all_objects"]
        for row in links
    }
    assert lists == {
        ("ja", "東京", "en"): ["Tokyo"],
        ("ja", "東京", "de"): ["Tokio"],
        ("en", "Tokyo", "ja"): ["東京"],
        ("en", "Tokyo", "de"): ["Tokio"],
        ("de", "Tokio", "ja"): ["東京"],
        ("de", "Tokio", "en"): ["Tokyo"],
        ("ja", "日本", "en"): ["Japan"],
        ("en", "Japan", "ja"): ["日本"],
        ("ja", "大阪", "en"): ["Osaka Prefecture"],
        ("en", "Osaka Prefecture", "ja"): ["大阪"],
    }
    assert len(links) == len(lists)  # one row per (subject, object language) here


def test_the_train_py_options_the_converter_s_docs_name_are_train_py_s():
    """The converter's docstring named `train.py --max_length`, an option train.py refuses
    ("unrecognized arguments"); its length filter is `--max_fact_length`."""
    import re

    from transformers import HfArgumentParser

    from prixlm.data.kg_layout import __main__ as main_module
    from prixlm.data.kg_layout import convert
    from prixlm.training.arguments import DataArguments, ModelArguments, PrixLMTrainingArguments

    parser = HfArgumentParser((ModelArguments, DataArguments, PrixLMTrainingArguments))
    readme = Path(__file__).resolve().parents[2] / "dataset_builders" / "kg_layout" / "README.md"
    texts = [convert.__doc__, main_module.__doc__, readme.read_text(encoding="utf-8")]
    named = {option for text in texts for option in re.findall(r"train\.py (--\w+)", text)}
    assert "--max_fact_length" in named
    assert named <= set(parser._option_string_actions)


@pytest.mark.parametrize(
    ("name", "what"), [("entity/en.tsv", "entity IRIs"), ("relations.txt", "relation IRIs")]
)
def test_an_empty_iri_file_is_named(tmp_path: Path, capsys, name: str, what: str) -> None:
    """It said "kg/en-train.tsv:1: head 0 out of range (the file lists 0)", naming the
    triples' file and not the empty one."""
    root = write_layout(tmp_path / "kg", {**FILES, name: []})
    argv = ["--input_dir", str(root), "--output_dir", str(tmp_path / "out"), "--no_progress"]
    with pytest.raises(SystemExit):
        cli.main(argv)
    error = capsys.readouterr().err
    assert error == f"error: {root / name}: empty file: no {what} (one IRI a line)\n"


@pytest.mark.parametrize("name", ["entity/en.tsv", "kg/en-test.tsv", "relations.txt"])
def test_a_folder_where_a_file_should_be_is_named(tmp_path: Path, capsys, name: str) -> None:
    """It said "no .../entity/en.tsv", as if the file were missing."""
    root = write_layout(tmp_path / "kg")
    (root / name).unlink()
    (root / name).mkdir()
    argv = ["--input_dir", str(root), "--output_dir", str(tmp_path / "out"), "--languages", "en"]
    with pytest.raises(SystemExit):
        cli.main(argv)
    where = f"--input_dir {root}" if name == "relations.txt" else "--languages en"
    assert capsys.readouterr().err == f"error: {where}: {root / name} is a folder, not a file\n"
