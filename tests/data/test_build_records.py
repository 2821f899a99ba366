"""What a build records and keeps: the source description of dumps in a subfolder, the
split keys of linked entities when a language is added, the card's record of the options
that decide the data (and the command line), and token counts of the text the model reads.
"""

from __future__ import annotations

import copy
import json
import shutil
import unicodedata
from pathlib import Path

import duckdb
import pytest
from dbpedia_dumps import DBO, EN, LABEL
from huggingface_hub import DatasetCard

from prixlm.data.cldr.export import export_cldr_kb
from prixlm.data.dbpedia.build import build_dataset, main
from prixlm.data.dbpedia.build_arguments import recorded_command
from prixlm.data.dbpedia.card import read_source_info, source_info_files
from prixlm.data.dbpedia.schema import SplitSettings, encode_row
from prixlm.data.dbpedia.tables import entity_ids
from prixlm.data.dbpedia.token_lengths import count_tokens

AR = "http://ar.dbpedia.org/resource/"
DE = "http://de.dbpedia.org/resource/"
ENGINE = ["--num_proc", "1", "--threads", "1", "--no_progress"]


@pytest.fixture(scope="module")
def cldr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CLDR export of en, de and ar (Arabic IRIs sort before English ones)."""
    folder = tmp_path_factory.mktemp("cldr") / "dumps"
    export_cldr_kb(["en", "de", "ar"], folder, progress=False)
    return folder


def _card(folder: Path) -> DatasetCard:
    return DatasetCard.load(folder / "README.md")


# -- the source description (`*_info.json`) of dumps in a subfolder ----------------------


def test_an_export_in_a_subfolder_keeps_its_licence_and_source(tmp_path, cldr) -> None:
    nested = tmp_path / "nest"
    shutil.copytree(cldr, nested / "cldr_kb")
    (nested / "notes").mkdir()  # a description of files the build does not read
    (nested / "notes" / "probes_info.json").write_text('{"name": "probes"}', encoding="utf-8")
    argv = ["--languages", "en,de", *ENGINE]
    assert main(["--dump_dir", str(cldr), "--output_dir", str(tmp_path / "top"), *argv]) == 0
    assert main(["--dump_dir", str(nested), "--output_dir", str(tmp_path / "sub"), *argv]) == 0
    top, sub = _card(tmp_path / "top").data, _card(tmp_path / "sub").data
    assert (sub.license, sub.to_dict().get("license_name")) == ("other", "unicode-3.0")
    assert sub.source_datasets == ["extended|cldr_kb"]
    assert sub.to_dict() == top.to_dict()
    text = (tmp_path / "sub" / "README.md").read_text(encoding="utf-8")
    assert "Licence: Unicode License v3" in text and "CC BY-SA" not in text
    assert source_info_files(nested) == [nested / "cldr_kb" / "cldr_kb_info.json"]


def test_several_descriptions_of_one_source_are_one_and_of_two_a_named_error(
    tmp_path, cldr, capsys
) -> None:
    dumps = tmp_path / "dumps"  # one CLDR release, exported a language at a time
    for language in ("en", "de"):
        export_cldr_kb([language], dumps / language, progress=False)
    infos = [dumps / language / "cldr_kb_info.json" for language in ("de", "en")]
    assert source_info_files(dumps) == infos
    one = json.loads(infos[0].read_text(encoding="utf-8"))
    assert read_source_info(dumps) == {
        key: value for key, value in one.items() if key not in ("locales", "statistics")
    }
    assert source_info_files(dumps, ["en"]) == infos[1:]  # only the folders of dumps read
    output = tmp_path / "kb"
    assert main(["--dump_dir", str(dumps), "--output_dir", str(output), *ENGINE]) == 0
    assert _card(output).data.license_name == "unicode-3.0"
    other = dict(one, cldr_version="0", license="Another Licence (MIT)")
    infos[0].write_text(json.dumps(other), encoding="utf-8")
    mixed = tmp_path / "mixed"
    assert main(["--dump_dir", str(dumps), "--output_dir", str(mixed), *ENGINE]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: several source descriptions for the dumps read")
    assert "differ in cldr_version, license" in error
    assert f"{infos[0]}, {infos[1]}" in error and not mixed.exists()


# -- the fact split's keys when a language is added ----------------------------------


def test_an_english_iri_is_the_id_of_its_link_group() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE pairs (la VARCHAR, ia VARCHAR, lb VARCHAR, ib VARCHAR)")
    pairs = [
        ("ar", AR + "x", "en", EN + "X"),
        ("de", DE + "X", "en", EN + "X"),
        ("ar", AR + "y", "de", DE + "Y"),  # no English IRI: the smallest
    ]
    con.executemany("INSERT INTO pairs VALUES (?, ?, ?, ?)", pairs)
    entity_ids(con, "pairs")
    ids = dict(con.execute("SELECT iri, eid FROM entity").fetchall())
    assert ids == {
        **dict.fromkeys((AR + "x", DE + "X", EN + "X"), EN + "X"),
        **dict.fromkeys((AR + "y", DE + "Y"), AR + "y"),
    }


def test_adding_a_language_that_sorts_first_keeps_the_other_splits(cldr) -> None:
    two, _ = build_dataset(cldr, None, ["en", "de"])
    three, _ = build_dataset(cldr, None, ["en", "de", "ar"])
    for language in ("en", "de"):
        assert two.stats[language].splits == three.stats[language].splits
        for split in ("train", "validation", "test"):
            assert three.triples[language][split] == two.triples[language][split], split
    assert sum(three.stats["ar"].splits.values()) > 1000


# -- the card's record of the build -------------------------------------------------


def test_the_card_records_the_options_that_decide_the_data(
    tmp_path, dumps, tiny_tokenizer, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(dumps, tmp_path / "dumps")
    tiny_tokenizer.save_pretrained(tmp_path / "tok")
    ontology = tmp_path / "onto.nt"
    ontology.write_text(f'<{DBO}currency> {LABEL} "Zahlungsmittel"@de .\n', encoding="utf-8")
    given = ["--dump_dir", "./dumps/", "--link_languages", "en", "--tokenizer", "tok",
             "--max_length", "40", "--ontology", "onto.nt", "--seed", "3"]  # fmt: skip
    assert main([*given, "--output_dir", "kb1", *ENGINE]) == 0
    reordered = [*given[8:], "--threads=2", "--output_dir", "kb2", "--num_proc", "2", *given[:8]]
    assert main([*reordered, "--no_progress", "--memory_limit", "1GB"]) == 0
    card = (tmp_path / "kb1" / "README.md").read_text(encoding="utf-8")
    assert (tmp_path / "kb2" / "README.md").read_text(encoding="utf-8") == card
    command = (
        "python -m prixlm.data.dbpedia.build --dump_dir ./dumps/ --link_languages en "
        "--max_length 40 --seed 3 --tokenizer tok --ontology onto.nt"
    )
    assert f"```bash\n{command}\n```" in card
    assert "- links: only those with one end in `en`\n  (`--link_languages`)" in card
    assert "rows of 40 tokens or more were dropped, as counted by\n  the tokenizer `tok`" in card
    assert "- relation names: the labels of the ontology `onto.nt` (`--ontology`)." in card
    assert "hash seed 3" in card
    plain, _ = build_dataset(tmp_path / "dumps", tmp_path / "plain")
    text = (tmp_path / "plain" / "README.md").read_text(encoding="utf-8")
    assert "- length filter: none (no tokenizer given" in text
    assert "- links: between every pair of built languages (no `--link_languages`)" in text
    assert "- relation names: from the relation IRIs (no `--ontology`)." in text
    assert "Built with `prixlm.data.dbpedia.build` from Python" in text


def test_recorded_command_keeps_values_as_given_and_leaves_out_the_engine() -> None:
    argv = ["--output_dir", "out", "--dump_dir=~/dumps dir", "--temp_dir", "/scratch",
            "--strict", "--lang", "de,en", "--profile", "--license", "mit"]  # fmt: skip
    assert recorded_command(argv) == (
        "python -m prixlm.data.dbpedia.build --dump_dir '~/dumps dir' --languages de,en "
        "--license mit --strict"
    )


# -- the length filter counts the text the model reads ---------------------------------


def test_token_counts_are_of_the_composed_text_encode_row_encodes(tmp_path, tiny_tokenizer):
    tokenizer = copy.deepcopy(tiny_tokenizer)
    composed = {"A": "Zürich Müller Köln", "B": "Schweiz", "C": "Währung"}
    decomposed = {key: unicodedata.normalize("NFD", text) for key, text in composed.items()}
    assert decomposed["A"] != composed["A"]
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    labels = [f'<{EN}{key}> {LABEL} "{text}"@en .' for key, text in decomposed.items()]
    facts = [f"<{EN}A> <{DBO}country> <{EN}B> .", f"<{EN}C> <{DBO}country> <{EN}B> ."]
    for name, lines in (("labels_en.ttl", labels), ("mappingbased_objects_en.ttl", facts)):
        (dumps / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE texts AS SELECT ? AS subject, 'country' AS relation, ? AS object",
        [decomposed["A"], decomposed["B"]],
    )
    con.execute("CREATE TABLE link_ends AS SELECT ? AS subject", [decomposed["C"]])
    count_tokens(con, tokenizer, tmp_path)
    counts = dict(con.execute("SELECT text, n FROM token_counts").fetchall())
    for text, n in counts.items():
        composed = unicodedata.normalize("NFC", text)
        assert n == len(tokenizer(composed, add_special_tokens=False)["input_ids"]), text
    raw = len(tokenizer(decomposed["A"], add_special_tokens=False)["input_ids"])
    assert counts[decomposed["A"]] < raw
    everything = SplitSettings(test_fraction=0, validation_fraction=0, max_length=1000)
    (row,) = [
        r for r in build_dataset(dumps, None, settings=everything)[0].triples["en"]["train"]
        if r.subject_id == EN + "A"
    ]  # fmt: skip
    length = len(encode_row(tokenizer, row).input_ids)  # the raw text counts more
    settings = SplitSettings(test_fraction=0, validation_fraction=0, max_length=length + 1)
    rows, _ = build_dataset(dumps, None, tokenizer=tokenizer, settings=settings)
    by_row, _ = build_dataset(
        dumps,
        None,
        sequence_length=lambda r: len(encode_row(tokenizer, r).input_ids),
        settings=settings,
    )
    assert row in rows.triples["en"]["train"]
    assert rows.triples["en"]["train"] == by_row.triples["en"]["train"]
    assert rows.stats == by_row.stats
