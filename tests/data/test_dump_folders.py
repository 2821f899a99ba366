"""Dump folders as DBpedia publishes them (codes with `_`, variant files) and folders that
cannot give a loadable dataset (no facts, broken files): what the build does with each."""

from __future__ import annotations

import bz2
import logging
import os
from pathlib import Path

import pytest
from dbpedia_dumps import write_dumps
from huggingface_hub import DatasetCard

from prixlm.data.dbpedia.build import build_dataset, main
from prixlm.data.dbpedia.dumps import DumpIndex, discover_languages, find_dump_files

GARBAGE = b"this is not N-Triples\n"


def _arguments(dumps: Path, out: Path, *extra: str) -> list[str]:
    return ["--dump_dir", str(dumps), "--output_dir", str(out), "--no_progress", *extra]


def _as_zh_yue(folder: Path) -> Path:
    """`write_dumps`' fr edition renamed to the 2016-10 files of wiki `zh-yue` (`zh_yue`)."""
    for path in sorted(folder.iterdir()):
        text = path.read_text(encoding="utf-8")
        text = text.replace("fr.dbpedia.org", "zh-yue.dbpedia.org").replace("@fr .", "@zh-yue .")
        path.write_text(text, encoding="utf-8")
        if path.name.endswith("_fr.ttl"):
            path.rename(path.with_name(path.name.replace("_fr.ttl", "_zh_yue.ttl")))
    return folder


def test_2016_10_codes_with_underscores_build_without_renaming(tmp_path: Path, dumps) -> None:
    folder = _as_zh_yue(write_dumps(tmp_path / "dumps"))
    assert (folder / "labels_zh_yue.ttl").is_file()
    assert (folder / "interlanguage_links_zh_yue.ttl").is_file()
    assert discover_languages(folder) == ["de", "en", "zh-yue"]
    found = find_dump_files(folder, "zh_yue")
    assert found.objects.name == "mappingbased_objects_zh_yue.ttl"
    rows, _ = build_dataset(folder, None, ["en", "zh_yue", "de"])
    reference, _ = build_dataset(dumps, None)
    assert rows.stats["zh-yue"].triples == reference.stats["fr"].triples > 0
    assert rows.stats["zh-yue"].links == reference.stats["fr"].links > 0
    assert {row.object_language for row in rows.links} == {"de", "en", "zh-yue"}
    out = tmp_path / "kb"
    assert main(_arguments(folder, out, "--languages", "zh_yue,en")) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "en", "links", "zh-yue"]


def test_2016_10_variant_files_are_skipped_with_one_note(tmp_path: Path, caplog) -> None:
    folder = write_dumps(tmp_path / "dumps", ".bz2")
    reference, _ = build_dataset(folder, None)
    variants = [  # real 2016-10 names
        "labels_en_uris_fr.ttl.bz2",
        "labels_wkd_uris_fr.ttl.bz2",
        "labels_wkd_uris_en.ttl.bz2",
        "mappingbased_objects_en_uris_fr.ttl.bz2",
        "mappingbased_objects_wkd_uris_de.ttl.bz2",
        "interlanguage_links_en_uris_de.ttl.bz2",
        "labels_xyz_uris_de.ttl.bz2",  # not a variant we know
    ]
    others = [  # other 2016-10 datasets that share a prefix with ours
        "mappingbased_objects_uncleaned_fr.ttl.bz2",
        "mappingbased_objects_disjoint_domain_fr.ttl.bz2",
        "interlanguage_links_chapters_fr.ttl.bz2",
        "category_labels_fr.ttl.bz2",
    ]
    for name in variants + others:
        (folder / name).write_bytes(bz2.compress(GARBAGE))
    assert discover_languages(folder) == ["de", "en", "fr"]
    assert sorted(p.name for p in DumpIndex.scan(folder).variants) == sorted(variants)
    with caplog.at_level(logging.WARNING):
        assert main(_arguments(folder, tmp_path / "kb")) == 0
    notes = [r.getMessage() for r in caplog.records if "variant" in r.getMessage()]
    assert len(notes) == 1
    assert notes[0].startswith("not reading 7 variant dump file(s)")
    assert all(name in notes[0] for name in variants)
    assert notes[0].endswith(
        "unknown variants (not en_uris, wkd_uris, disjointDomain, "
        "disjointRange): labels_xyz_uris_de.ttl.bz2"
    )
    rows, options = build_dataset(folder, None)
    assert rows.triples == reference.triples and rows.links == reference.links
    assert sorted(Path(path).name for path in options.stats) == sorted(  # the files read
        f"{kind}_{language}.ttl.bz2"
        for kind in ("labels", "mappingbased_objects", "interlanguage_links")
        for language in ("de", "en", "fr")
    )


def test_databus_names_and_content_variants(tmp_path: Path, caplog) -> None:
    folder = write_dumps(tmp_path / "bus", ".bz2", scheme="databus")
    assert (folder / "labels_lang=fr.ttl.bz2").is_file()
    reference, _ = build_dataset(write_dumps(tmp_path / "plain"), None)
    for name in (
        "mappingbased-objects_lang=fr_disjointDomain.ttl.bz2",
        "mappingbased-objects_lang=fr_disjointRange.ttl.bz2",
    ):
        (folder / name).write_bytes(bz2.compress(GARBAGE))
    with caplog.at_level(logging.WARNING):
        rows, options = build_dataset(folder, None)
    assert rows.triples == reference.triples and rows.links == reference.links
    assert not [path for path in options.stats if "disjoint" in path]
    assert "not reading 2 variant dump file(s)" in caplog.text
    assert "unknown variants" not in caplog.text


def test_discovered_language_without_facts_is_left_out_with_a_warning(
    tmp_path: Path, caplog
) -> None:
    folder = write_dumps(tmp_path / "dumps")
    (folder / "mappingbased_objects_fr.ttl").unlink()
    out = tmp_path / "kb"
    with caplog.at_level(logging.WARNING):
        assert main(_arguments(folder, out)) == 0
    assert (
        f"language 'fr' left out: a labels file but no object-facts file in {folder} "
        "(looked for mappingbased_objects_fr.ttl, mappingbased-objects_lang=fr.ttl"
    ) in caplog.text
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "de", "en", "links"]
    card = (out / "README.md").read_text()
    assert "config_name: fr" not in card and "| fr |" not in card
    assert DatasetCard.load(out / "README.md").data.language == ["de", "en"]


def test_named_language_without_facts_is_an_error(tmp_path: Path, capsys) -> None:
    folder = write_dumps(tmp_path / "dumps")
    (folder / "mappingbased_objects_fr.ttl").unlink()
    out = tmp_path / "kb"
    assert main(_arguments(folder, out, "--languages", "en,fr")) == 2
    assert (
        f"error: language 'fr': no object-facts file in {folder} (looked for "
        "mappingbased_objects_fr.ttl, mappingbased-objects_lang=fr.ttl (or .nt; plain, .bz2 or .gz))"
    ) in capsys.readouterr().err
    assert not out.exists()


def test_labels_without_any_facts_is_an_error_not_an_empty_dataset(tmp_path: Path, capsys) -> None:
    folder = write_dumps(tmp_path / "dumps")
    for path in folder.glob("mappingbased_objects_*"):
        path.unlink()
    out = tmp_path / "kb"
    assert main(_arguments(folder, out)) == 2
    error = capsys.readouterr().err
    assert f"--dump_dir {folder}: labels for de, en, fr but no object-facts file" in error
    assert not out.exists()


@pytest.mark.parametrize("broken", ["folder", "dangling link"])
def test_facts_path_that_is_not_a_file_is_an_error(tmp_path: Path, capsys, broken: str) -> None:
    folder = write_dumps(tmp_path / "dumps")
    facts = folder / "mappingbased_objects_fr.ttl"
    facts.unlink()
    if broken == "folder":
        facts.mkdir()
    else:
        os.symlink(tmp_path / "gone.ttl", facts)
    out = tmp_path / "kb"
    assert main(_arguments(folder, out)) == 2
    what = "a folder" if broken == "folder" else "a dangling symbolic link"
    assert (
        f"error: {facts}: {what}, not a dump file (the objects of language 'fr')"
        in capsys.readouterr().err
    )
    assert not out.exists()


def _break(path: Path, broken: str, tmp_path: Path) -> None:
    """Replace the file `path` (if any) by a folder or a dangling symbolic link."""
    path.unlink(missing_ok=True)
    if broken == "folder":
        path.mkdir()
    else:
        os.symlink(tmp_path / "gone.ttl", path)


@pytest.mark.parametrize("broken", ["folder", "dangling link"])
@pytest.mark.parametrize(
    ("name", "kind", "language"),
    [("labels_en.ttl", "labels", "en"), ("interlanguage_links_de.ttl", "links", "de")],
)
def test_dump_path_that_is_not_a_file_is_an_error_without_languages(
    tmp_path: Path, capsys, broken: str, name: str, kind: str, language: str
) -> None:
    """Without --languages, a labels (or links) entry that is not a file is named, as with
    --languages: a broken labels_en.ttl built de alone, every de link lost, rc 0."""
    folder = write_dumps(tmp_path / "dumps")
    path = folder / name
    _break(path, broken, tmp_path)
    what = "a folder" if broken == "folder" else "a dangling symbolic link"
    error = f"error: {path}: {what}, not a dump file (the {kind} of language {language!r})"
    for extra in ([], ["--languages", "en,de"]):
        out = tmp_path / "kb"
        assert main(_arguments(folder, out, *extra)) == 2
        assert error in capsys.readouterr().err
        assert not out.exists()
    index = DumpIndex.scan(folder)
    assert index.languages("labels", broken=True) == ["de", "en", "fr"]
    assert index.languages("labels") == (["de", "fr"] if kind == "labels" else ["de", "en", "fr"])


@pytest.mark.parametrize("broken", ["folder", "dangling link"])
def test_hub_path_that_is_not_a_file_is_an_error(tmp_path: Path, capsys, broken: str) -> None:
    """A sameas-all-wikis file that is not a file was skipped unnoticed (its links lost)."""
    folder = write_dumps(tmp_path / "dumps")
    hub = folder / "sameas-all-wikis.ttl"
    _break(hub, broken, tmp_path)
    what = "a folder" if broken == "folder" else "a dangling symbolic link"
    for extra in ([], ["--languages", "en,de"]):
        out = tmp_path / "kb"
        assert main(_arguments(folder, out, *extra)) == 2
        assert (
            f"error: {hub}: {what}, not a dump file (the Wikidata hub links)"
            in capsys.readouterr().err
        )
        assert not out.exists()


def test_language_ending_with_no_triples_is_an_error(tmp_path: Path, capsys) -> None:
    folder = write_dumps(tmp_path / "dumps")
    facts = folder / "mappingbased_objects_fr.ttl"
    facts.write_text(  # facts, but none between two entities labelled in fr
        "<http://fr.dbpedia.org/resource/X> <http://dbpedia.org/ontology/p> "
        "<http://fr.dbpedia.org/resource/Y> .\n"
    )
    out = tmp_path / "kb"
    assert main(_arguments(folder, out)) == 2
    assert (
        f"error: language 'fr' has no triples: {facts} (1 lines) holds 0 facts between the "
        f"10 entities labelled in {folder / 'labels_fr.ttl'}; nothing written"
    ) in capsys.readouterr().err
    assert not out.exists()


def test_no_triples_error_names_the_malformed_lines_that_caused_it(tmp_path: Path, capsys) -> None:
    folder = write_dumps(tmp_path / "dumps")
    facts = folder / "mappingbased_objects_fr.ttl"
    good = facts.read_text().splitlines()
    facts.write_text("".join(line.rstrip(" .") + "\n" for line in good))  # no final dots
    assert main(_arguments(folder, tmp_path / "kb")) == 2
    err = capsys.readouterr().err
    assert "error: language 'fr' has no triples:" in err
    assert f"{facts}: {len(good)} malformed lines skipped, the first: {facts}:1: " in err
