"""The CLDR KB export: real CLDR facts, DBpedia dump syntax, unique labels, determinism."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from babel import Locale

from prixlm.data.cldr import export as export_module
from prixlm.data.cldr.cldr_facts import Entity
from prixlm.data.cldr.cldr_labels import clash_key, locale_names, unique_labels
from prixlm.data.cldr.dump_format import dbpedia_language, iri_path, literal, resource_iri
from prixlm.data.cldr.export import all_locales, export_cldr_kb, main, resolve_locales

DBO = "http://dbpedia.org/ontology/"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
SAME_AS = "<http://www.w3.org/2002/07/owl#sameAs>"
EN, DE, FR, JA = (
    "http://dbpedia.org/resource/",
    "http://de.dbpedia.org/resource/",
    "http://fr.dbpedia.org/resource/",
    "http://ja.dbpedia.org/resource/",
)
# N-Triples as these files use it: IRIs with no space/<>"{}|^`\, language-tagged literals.
_IRI = r'<[^\x00-\x20<>"{}|^`\\]+>'
_LITERAL = r'"(?:[^"\\\n\r]|\\[tbnrf"\'\\]|\\u[0-9A-F]{4})*"@[a-z]+(?:-[a-z0-9]+)*'
NTRIPLE = re.compile(rf"{_IRI} {_IRI} (?:{_IRI}|{_LITERAL}) \.")


def lines(folder: Path, name: str) -> list[str]:
    return (folder / name).read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="session")
def kb(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, int]]]:
    folder = tmp_path_factory.mktemp("cldr") / "kb"
    return folder, export_cldr_kb(["en", "de", "ja"], folder)


def test_known_facts_in_three_languages(kb):
    folder, _ = kb
    assert f"<{EN}Germany> <{DBO}currency> <{EN}Euro> ." in lines(
        folder, "mappingbased_objects_en.ttl"
    )
    assert f"<{DE}Deutschland> <{DBO}currency> <{DE}Euro> ." in lines(
        folder, "mappingbased_objects_de.ttl"
    )
    assert f"<{JA}ドイツ> <{DBO}currency> <{JA}ユーロ> ." in lines(
        folder, "mappingbased_objects_ja.ttl"
    )
    assert f"<{DE}Deutschland> <{DBO}formerCurrency> <{DE}Deutsche_Mark> ." in lines(
        folder, "mappingbased_objects_de.ttl"
    )
    facts_en = set(lines(folder, "mappingbased_objects_en.ttl"))
    assert f"<{EN}Japan> <{DBO}officialLanguage> <{EN}Japanese> ." in facts_en
    assert f"<{EN}Japanese> <{DBO}mainTerritory> <{EN}Japan> ." in facts_en
    assert f"<{EN}Berlin> <{DBO}country> <{EN}Germany> ." in facts_en
    assert f"<{EN}Berlin> <{DBO}timeZone> <{EN}Central_European_Time> ." in facts_en
    assert f"<{EN}Latin> <{DBO}script> <{EN}Latin_(script)> ." in facts_en
    assert f"<{EN}Latin_(script)> <{DBO}mainLanguage> <{EN}English> ." in facts_en
    labels_ja = lines(folder, "labels_ja.ttl")
    assert f'<{JA}ドイツ> {LABEL} "ドイツ"@ja .' in labels_ja
    links_en = lines(folder, "interlanguage_links_en.ttl")
    assert f"<{EN}Germany> {SAME_AS} <{DE}Deutschland> ." in links_en
    assert f"<{EN}Germany> {SAME_AS} <{JA}ドイツ> ." in links_en
    assert f"<{JA}ユーロ> {SAME_AS} <{EN}Euro> ." in lines(folder, "interlanguage_links_ja.ttl")


def test_shared_names_get_qualifiers_in_english(kb):
    folder, _ = kb
    labels_en = set(lines(folder, "labels_en.ttl"))
    assert f'<{EN}Latin> {LABEL} "Latin"@en .' in labels_en  # the language
    assert f'<{EN}Latin_(script)> {LABEL} "Latin (script)"@en .' in labels_en
    assert f'<{EN}Nauru> {LABEL} "Nauru"@en .' in labels_en  # the territory
    assert f'<{EN}Nauru_(language)> {LABEL} "Nauru (language)"@en .' in labels_en
    assert f'<{EN}Nauru_(city)> {LABEL} "Nauru (city)"@en .' in labels_en


def test_counts_in_expected_ranges(kb):
    _, stats = kb
    assert sorted(stats) == ["de", "en", "ja"]
    for language, counts in stats.items():
        assert 1_100 <= counts["entities"] <= 1_900, (language, counts)
        assert 2_500 <= counts["triples"] <= 4_000, (language, counts)
        assert counts["links"] > counts["entities"]  # about two links (de, ja) per entity


def test_labels_unique_and_one_per_entity(kb):
    folder, stats = kb
    for language in stats:
        label_lines = [line for line in lines(folder, f"labels_{language}.ttl") if line[0] != "#"]
        iris = [line.split(" ", 1)[0] for line in label_lines]
        names = [re.search(r' "(.*)"@', line).group(1) for line in label_lines]
        assert len(set(iris)) == len(iris) == stats[language]["entities"]
        assert not [key for key, n in Counter(map(clash_key, names)).items() if n > 1]
        labelled = set(iris)
        for line in lines(folder, f"mappingbased_objects_{language}.ttl")[1:-1]:
            subject, _, obj, _ = line.split(" ")
            assert subject in labelled and obj in labelled


def test_every_line_is_strict_ntriples_and_parses_with_rdflib(kb):
    rdflib = pytest.importorskip("rdflib")
    folder, stats = kb
    for path in sorted(folder.glob("*.ttl")):
        text = path.read_text(encoding="utf-8")
        body = text.splitlines()
        assert body[0].startswith("# started ") and body[-1] == "# completed"
        bad = [line for line in body[1:-1] if not NTRIPLE.fullmatch(line)]
        assert not bad, (path.name, bad[:3])
        assert body[1:-1] == sorted(body[1:-1])
        graph = rdflib.Graph().parse(data=text, format="nt")
        assert len(graph) == len(body) - 2, path.name


def test_project_dump_reader_reads_every_file_strictly(kb):
    ntriples = pytest.importorskip("prixlm.data.ntriples")
    folder, stats = kb
    read_stats = ntriples.ReadStats()
    triples = sum(
        1
        for path in sorted(folder.glob("*.ttl"))
        for _ in ntriples.read_triples(path, stats=read_stats, strict=True)
    )
    assert triples == sum(sum(counts.values()) for counts in stats.values())


def test_info_file_records_version_and_licence(kb):
    import json

    folder, stats = kb
    info = json.loads((folder / "cldr_kb_info.json").read_text(encoding="utf-8"))
    assert info["cldr_version"] == "47" and info["babel_version"] == "2.18.0"
    assert "Unicode License v3" in info["license"]
    assert info["statistics"] == stats


def test_rebuild_is_byte_identical_and_region_script_codes(tmp_path):
    def digests(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}

    first = export_cldr_kb("fr,zh_Hant", tmp_path / "a")
    export_cldr_kb(["fr", "zh_Hant"], tmp_path / "b")
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert sorted(first) == ["fr", "zh-hant"]
    assert f"<{FR}Allemagne> <{DBO}currency> <{FR}euro> ." in lines(
        tmp_path / "a", "mappingbased_objects_fr.ttl"
    )
    assert f'<http://zh-hant.dbpedia.org/resource/德國> {LABEL} "德國"@zh-hant .' in lines(
        tmp_path / "a", "labels_zh-hant.ttl"
    )
    export_cldr_kb(["fr", "zh_Hant"], tmp_path / "a")  # replaces an existing folder
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no staging left


def test_failed_build_leaves_no_folder(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export_module, "_write_info", fail)
    with pytest.raises(KeyboardInterrupt):
        export_cldr_kb(["en"], tmp_path / "kb")
    assert list(tmp_path.iterdir()) == []


def test_does_not_replace_a_foreign_folder(tmp_path):
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a cldr_kb export"):
        export_cldr_kb(["en"], tmp_path / "kb")
    assert (tmp_path / "kb" / "notes.txt").read_text() == "mine"


def test_reexport_keeps_git_and_user_files_and_removes_dropped_languages(tmp_path):
    def git(*args: str) -> str:
        identity = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
        command = ["git", *identity, "-C", str(tmp_path / "kb"), *args]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    export_cldr_kb(["en", "it"], tmp_path / "kb")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "en+it")
    (tmp_path / "kb" / "notes.txt").write_text("mine")
    export_cldr_kb(["en"], tmp_path / "kb")
    assert sorted(p.name for p in (tmp_path / "kb").iterdir()) == [
        ".git",
        "cldr_kb_info.json",
        "interlanguage_links_en.ttl",
        "labels_en.ttl",
        "mappingbased_objects_en.ttl",
        "notes.txt",
    ]
    assert (tmp_path / "kb" / "notes.txt").read_text() == "mine"
    assert git("log", "--format=%s") == "en+it\n"
    status = git("status", "--porcelain").splitlines()
    assert " D labels_it.ttl" in status and "?? notes.txt" in status
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb"]  # no staging left


def test_bad_locale_lists_known_ones(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"unknown CLDR locale\(s\) \['xx_YY'\].*\bde\b.*\bja\b"):
        export_cldr_kb(["en", "xx_YY"], tmp_path / "kb")
    with pytest.raises(SystemExit) as exit_info:
        main(["--languages", "en,klingon", "--output_dir", str(tmp_path / "kb")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("error: --languages: unknown CLDR locale(s) ['klingon']")
        and err.count("\n") == 1
    )
    assert len(err) < 400  # not every one of the ~1,000 known locales
    with pytest.raises(SystemExit):
        main(["--languages", "de_DX", "--output_dir", str(tmp_path / "kb")])
    assert "close ones: " in capsys.readouterr().err
    assert not (tmp_path / "kb").exists()


def test_a_named_locale_with_no_fact_entity_is_refused(tmp_path, capsys):
    """`io` and `wa` name no entity of a fact: an export with them wrote empty files, and
    every later build of the folder stopped on "language 'io' has no triples"."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--languages", "en,io,haw,wa", "--output_dir", str(tmp_path / "kb")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --languages io,wa: CLDR names no entity of a fact")
    assert not (tmp_path / "kb").exists()  # refused before anything is written


def test_all_with_spaces_leaves_out_the_empty_locales_as_all_does(tmp_path, monkeypatch):
    """`" all"` read as every locale, but only `"all"` left the empty ones out: the 25
    locales that name no fact entity were then refused."""
    from prixlm.data.cldr import export

    monkeypatch.setattr(export, "all_locales", lambda: ["en", "io"])  # io: no fact entity
    stats = export_cldr_kb(" all ", tmp_path / "kb", progress=False)
    assert list(stats) == ["en"]


def test_cli_prints_counts_table(tmp_path, capsys):
    assert main(["--locales", "en,it", "--output_dir", str(tmp_path / "kb")]) == 0
    out, err = capsys.readouterr()
    assert "warning: --locales is deprecated: use --languages" in err  # the old spelling works
    assert re.search(r"^\| en \| 1,\d{3} \| \d,\d{3} \| \d{1,2},\d{3} \|$", out, re.M)
    assert "| total (2) |" in out and (tmp_path / "kb" / "labels_it.ttl").exists()


def test_locale_selection():
    assert resolve_locales(None) == ["en", "it", "de", "fr", "fi", "et", "tr", "hu", "ja"]
    assert resolve_locales("pt_PT, de") == ["pt_PT", "de"]
    everything = all_locales()
    assert {"en", "ja", "zh", "zh_Hant", "sr_Latn"} <= set(everything)
    assert not {"pt_PT", "en_GB", "nb", "root"} & set(everything)  # region variants, inherit-only
    assert 250 <= len(everything) <= 400


def test_listing_every_locale_leaves_the_locales_names_whole():
    """Babel caches a locale's own data (`merge_inherited=False`) under the key of its merged
    data: after `all_locales()` every locale built in the process lacked what it inherits
    (`--languages all`: "Asuncion" for "Asunción" in de, 776 entities for 1,464 in
    be-tarask). A fresh process: the cache as `export --languages all` finds it."""
    script = (
        "from babel import localedata\n"
        "from prixlm.data.cldr.export import all_locales, build_locale_kb\n"
        "localedata.load('de')\n"  # one locale's merged data cached before, one not
        "all_locales()\n"
        "after = {i: build_locale_kb(i).labels for i in ('de', 'be_TARASK')}\n"
        "localedata._cache.clear()\n"
        "fresh = {i: build_locale_kb(i).labels for i in ('de', 'be_TARASK')}\n"
        "print(after == fresh, len(after['be_TARASK']), 'Asunción' in after['de'].values())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["True", "1464", "True"]


def test_dump_terms_are_escaped():
    assert literal('a "b" \\ c\nd', "de") == '"a \\"b\\" \\\\ c\\nd"@de'
    assert iri_path("São Tomé & Príncipe") == "São_Tomé_&_Príncipe"
    assert iri_path('50% <a> "b" #c ?d [e] {f}|^`\\') == (
        "50%25_%3Ca%3E_%22b%22_%23c_%3Fd_%5Be%5D_%7Bf%7D%7C%5E%60%5C"
    )
    assert iri_path("x\u0085y\ue000") == "x%C2%85y%EE%80%80"  # not RFC 3987 ucschar
    # bidirectional formatting (an IRI must not hold it: the he, fa, syr exports had six)
    # and white space (rdflib's N-Triples reader refuses it) percent-encoded
    assert iri_path("\u200fאינטרלינגואה") == "%E2%80%8Fאינטרלינגואה"
    assert iri_path("a\u202eb\u2066c") == "a%E2%80%AEb%E2%81%A6c"
    assert iri_path("1\u00a0000\u3000x\u2028") == "1%C2%A0000%E3%80%80x%E2%80%A8"
    assert resource_iri("en", "Côte d’Ivoire") == "http://dbpedia.org/resource/Côte_d’Ivoire"
    assert resource_iri("zh-hant", "德國") == "http://zh-hant.dbpedia.org/resource/德國"
    assert [dbpedia_language(code) for code in ("de", "zh_Hant", "pt_PT", "sr_Latn_BA")] == [
        "de",
        "zh-hant",
        "pt-pt",
        "sr-latn-ba",
    ]


def test_uniqueness_rule_on_made_up_names():
    nauru_t, nauru_l, nauru_c = (
        Entity("territory", "NR"),
        Entity("language", "na"),
        Entity("city", "Pacific/Nauru"),
    )
    dollar_a, dollar_b = Entity("currency", "AAD"), Entity("currency", "BBD")
    saksa_t, saksa_l = Entity("territory", "DE"), Entity("language", "de")
    names = {
        nauru_t: "Nauru",
        nauru_l: "Nauru",
        nauru_c: "Nauru",
        dollar_a: "Dollar",
        dollar_b: "dollar",
        saksa_t: "Saksa",
        saksa_l: "saksa",
        Entity("city", "Asia/Foo"): "Nauru (city)",  # clashes with a qualified label
    }
    labels = unique_labels(names, "en", {nauru_c: nauru_t})
    assert labels == {
        nauru_t: "Nauru",
        nauru_l: "Nauru (language)",
        nauru_c: "Nauru (city, Pacific/Nauru)",  # rule 4: the later one in rule order
        dollar_a: "Dollar (currency, AAD)",
        dollar_b: "dollar (currency, BBD)",
        saksa_t: "Saksa",
        saksa_l: "saksa (language)",
        Entity("city", "Asia/Foo"): "Nauru (city)",
    }
    coded = unique_labels({nauru_t: "Nauru", nauru_l: "Nauru", nauru_c: "Nauru"}, "", {})
    assert coded == {nauru_t: "Nauru", nauru_l: "Nauru (na)", nauru_c: "Nauru (Pacific/Nauru)"}


def test_cldr_markup_is_taken_out_of_names():
    """Two CLDR names hold markup: an `<exemplarCity>` element (kxv_Telu) and a stray `<`
    (xnr); they were exported as labels as they were."""
    adelaide, el_aaiun = Entity("city", "Australia/Adelaide"), Entity("city", "Africa/El_Aaiun")
    assert Locale.parse("kxv_Telu").time_zones[adelaide.code]["city"].startswith("<exemplarCity>")
    assert locale_names(Locale.parse("kxv_Telu"), [adelaide]) == {adelaide: "అడెలైడ్"}
    assert locale_names(Locale.parse("xnr"), [el_aaiun]) == {el_aaiun: "अल आइयून"}
    kept = Entity("city", "America/Indiana/Knox")  # brackets are CLDR's text: kept
    assert locale_names(Locale.parse("fr"), [kept]) == {kept: "Knox [Indiana]"}


def test_an_export_killed_between_its_renames_keeps_no_stale_language(tmp_path: Path) -> None:
    """Killed between its two renames, an export leaves `.kb.old` and no `kb`; the next
    export worked out what the old one owned before putting it back, so it owned nothing and
    kept the old export's other languages (which a build without --languages then read)."""
    from prixlm.outputs.atomic import _old_path

    out = tmp_path / "kb"
    export_cldr_kb(["en", "de", "ja"], out)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    out.rename(_old_path(out))  # the crash state
    export_cldr_kb(["en", "de"], out)
    names = sorted(p.name for p in out.iterdir())
    assert not [name for name in names if name.endswith("_ja.ttl")], names
    assert "notes.txt" in names and len([n for n in names if n.endswith(".ttl")]) == 6
    assert not list(tmp_path.glob(".kb.*"))


@pytest.mark.parametrize(
    "label",
    [
        "\u200fאינטרלינגואה",
        "1\u00a0000",
        "a\u2028b\u3000c",
        "x\u0085y\ue000",
        "Köln",
        "São Tomé & Príncipe",
        "50% <a>",
        "😀\u202eb",
        "C++ (lang)",
    ],  # fmt: skip
)
def test_the_build_reads_an_exported_iri_as_written(label):
    """One entity, one IRI: the build's IRI form (`canonical_iri`) of what the exporter
    writes is what it wrote (it decoded `%E2%80%8F` back into a raw U+200F in the dataset
    and `complete`'s output, beside the dumps' escaped form)."""
    from prixlm.data.ntriples import canonical_iri

    for language in ("en", "he"):
        iri = resource_iri(language, label)
        assert canonical_iri(iri) == iri


def test_locales_named_as_the_export_names_their_files_round_trip(tmp_path):
    """`--languages all` writes `labels_az-arab.ttl`, `labels_be-tarask.ttl`: those names (as
    the builds and dataset configs use them) name the same locales when exported again."""
    everything = all_locales()
    written = [dbpedia_language(locale_id) for locale_id in everything]
    assert {"az-arab", "be-tarask", "zh-hant", "sr-latn"} <= set(written)
    assert resolve_locales(",".join(written)) == everything
    assert resolve_locales(["ZH-Hant", "pt-pt"]) == ["zh_Hant", "pt_PT"]
    with pytest.raises(ValueError, match="duplicate locales"):
        resolve_locales("zh-hant,zh_Hant")
    as_written, as_cldr = tmp_path / "written", tmp_path / "cldr"
    assert main(["--languages", "az-arab,be-tarask", "--output_dir", str(as_written)]) == 0
    export_cldr_kb("az_Arab,be_TARASK", as_cldr)
    assert sorted(p.name for p in as_written.iterdir()) == sorted(p.name for p in as_cldr.iterdir())
    for entry in as_cldr.iterdir():
        assert (as_written / entry.name).read_bytes() == entry.read_bytes(), entry.name
    assert '"az-arab": "az_Arab"' in (as_written / "cldr_kb_info.json").read_text("utf-8")
