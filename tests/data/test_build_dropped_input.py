"""The dump build counts what it reads but does not keep, per language: `owl:sameAs` lines
whose target's language is unknown (no DBpedia host), and fact lines and links with an end
that has no label. The counts reach the build's summary, its warnings and the card; a build
of several languages with no link at all says that each language's split is drawn on its own.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from dbpedia_dumps import DE, EN, FR, LABEL, SAME, write_dumps

from prixlm.data.dbpedia import convert, engine
from prixlm.data.dbpedia.build import build_dataset, main
from prixlm.data.dbpedia.drops import UnknownTargets
from prixlm.data.dbpedia.dumps import ReadOptions
from prixlm.data.dbpedia.engine import EngineOptions
from prixlm.data.dbpedia.read_rows import Job
from prixlm.data.ntriples import canonical_iri

OWN = "http://kg.example.org/"
HOSTS = re.compile(r"http://(?:([a-z]+)\.)?dbpedia\.org/resource/")
RULE = "http(s)://<code>.dbpedia.org/resource/... is <code>"


def own_namespace(folder: Path) -> Path:
    """The test dumps with every DBpedia IRI moved to `http://kg.example.org/<lang>/`."""
    write_dumps(folder)
    for path in folder.iterdir():
        text = path.read_text(encoding="utf-8")
        path.write_text(HOSTS.sub(lambda m: f"{OWN}{m.group(1) or 'en'}/", text), "utf-8")
    return folder


def same_as_targets(path: Path) -> list[str]:
    """The canonical target IRIs of the `owl:sameAs` lines of a links file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [canonical_iri(line.split()[2][1:-1]) for line in lines if f" {SAME} " in line]


def statistics(card: str) -> dict[str, dict[str, str]]:
    """The card's statistics table (the section's one table): `{language: {header: cell}}`."""
    lines = card.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| language |"))
    headers = [cell.strip() for cell in lines[start].strip("|").split("|")]
    table = {}
    for row in lines[start + 2 :]:
        if not row.startswith("|"):
            break
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        table[cells[0]] = dict(zip(headers[1:], cells[1:], strict=True))
    return table


DROPPED = re.compile(
    r"- (\S+): fact lines \(no label\) ([\d,]+), links \(no label\) ([\d,]+), "
    r"`owl:sameAs` lines \(target of unknown language\) ([\d,]+)"
)


def dropped(card: str) -> dict[str, tuple[int, int, int]]:
    """`{language: (fact lines, links, owl:sameAs lines)}` read but not kept, from the card."""
    found = {}
    for line in card.splitlines():
        if match := DROPPED.fullmatch(line):
            found[match[1]] = tuple(int(n.replace(",", "")) for n in match.groups()[1:])
    return found


def test_links_of_an_own_namespace_are_counted_warned_and_carded(
    tmp_path: Path, capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
) -> None:
    dumps = own_namespace(tmp_path / "dumps")
    out = tmp_path / "kb"
    with caplog.at_level(logging.WARNING):
        assert main(["--dump_dir", str(dumps), "--output_dir", str(out), "--no_progress"]) == 0
    printed = capsys.readouterr().out
    card = (out / "README.md").read_text(encoding="utf-8")
    drops = dropped(card)
    assert sorted(drops) == ["de", "en", "fr"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for language in ("de", "en", "fr"):
        links = dumps / f"interlanguage_links_{language}.ttl"
        targets = same_as_targets(links)
        assert len(targets) == {"de": 21, "en": 21, "fr": 19}[language]  # with the `it` one
        line = next(x for x in printed.splitlines() if x.startswith(f"  {language}: "))
        assert line == (
            f"  {language}: dropped, an end without a label: fact lines 1, links 0; dropped, "
            f"a target of unknown language: owl:sameAs lines {len(targets)}"
        )
        row = next(x for x in printed.splitlines() if x.startswith(f"| {language} |"))
        assert row.endswith(" | 0 |")  # its links column: none kept
        assert drops[language] == (1, 0, len(targets))
        (warning,) = [w for w in warnings if w.startswith(f"{links}: ")]
        assert f": {len(targets)} owl:sameAs lines dropped, their target's language is " in warning
        assert f"(e.g. <{min(targets)}>)" in warning and RULE in warning
    assert warnings[-1] == (
        "no link joins entities of the built languages (de, en, fr): each language's split was "
        "drawn on its own, so a test fact of one language may be a training fact of another"
    )
    assert "No link joins entities of these languages: each language's split was drawn on" in card
    assert not (out / "links").exists()


def test_dbpedia_hosts_keep_their_links_and_the_other_lines_are_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Lines to other hosts beside DBpedia ones: only those are counted (a line in the
    parser's slow path too, a tab between its terms; a literal and a blank node are no
    link); the links and the fact split stay those of the dumps without them."""
    plain = write_dumps(tmp_path / "plain")
    before, _ = build_dataset(plain, None, engine=EngineOptions(threads=1))
    dumps = write_dumps(tmp_path / "dumps")
    extra = {
        "de": [
            f"<{DE}Deutschland> {SAME} <http://www.wikidata.org/entity/Q183> .",
            f"<{DE}Berlin>\t{SAME}\t<{OWN}B%C3%A9rlin> .",  # tabs: the row-by-row path
            f'<{DE}Berlin> {SAME} "Berlin" .',
            f"<{DE}Berlin> {SAME} _:b1 .",
        ],
        "fr": [f"<{FR}Paris> {SAME} <https://example.org/Paris> ."],
    }
    for language, lines in extra.items():
        with (dumps / f"interlanguage_links_{language}.ttl").open("a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING):
        rows, _ = build_dataset(dumps, None, engine=EngineOptions(threads=1))
    counts = {k: (s.unknown_target_links, s.unknown_target_example) for k, s in rows.stats.items()}
    assert counts == {
        "de": (2, "http://kg.example.org/Bérlin"),
        "en": (0, ""),
        "fr": (1, "https://example.org/Paris"),
    }
    assert {k: s.links for k, s in rows.stats.items()} == {"de": 20, "en": 20, "fr": 18}
    for language in rows.stats:
        assert rows.triples[language] == before.triples[language]
    assert rows.links == before.links
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and not any("no link joins" in w for w in warnings)


def test_parts_read_in_other_processes_add_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A links file read in many parts (processes) gives the whole file's count and example."""
    monkeypatch.setattr(convert, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(convert, "PART_MIN_BYTES", 300)
    dumps = write_dumps(tmp_path / "dumps")
    links = dumps / "interlanguage_links_en.ttl"
    lines = [f"<{EN}E{n}> {SAME} <{OWN}e/{n:03d}> ." for n in range(200, 50, -1)]
    with links.open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    runs: list[list] = []

    def convert_all(jobs, options, num_proc):  # the parts as run
        ran, cpu = convert.convert_all(jobs, options, num_proc)
        runs.append(ran)
        return ran, cpu

    monkeypatch.setattr(engine, "convert_all", convert_all)
    rows, _ = build_dataset(dumps, None, engine=EngineOptions(num_proc=3, threads=1))
    assert len([job for job in runs[0] if job.path == links]) > 3
    en = rows.stats["en"]
    assert (en.unknown_target_links, en.unknown_target_example) == (150, f"{OWN}e/051")


def test_facts_and_links_without_a_label_are_counted(tmp_path: Path, capsys) -> None:
    """The German label of France removed: its 4 German facts and its 2 German links go
    (with the fact to an unlabelled anthem that every language has); the other languages
    lose their link to it."""
    dumps = write_dumps(tmp_path / "dumps")
    labels = dumps / "labels_de.ttl"
    kept = [line for line in labels.read_text(encoding="utf-8").splitlines()
            if not line.startswith(f"<{DE}Frankreich> {LABEL} ")]  # fmt: skip
    labels.write_text("\n".join(kept) + "\n", encoding="utf-8")
    out = tmp_path / "kb"
    assert main(["--dump_dir", str(dumps), "--output_dir", str(out), "--no_progress"]) == 0
    printed = capsys.readouterr().out
    expected = {"de": (5, 2, 18), "en": (1, 1, 19), "fr": (1, 1, 17)}  # facts, links, kept links
    card = (out / "README.md").read_text(encoding="utf-8")
    table, drops = statistics(card), dropped(card)
    assert sorted(drops) == ["de", "en", "fr"]
    for language, (facts, links, kept_links) in expected.items():
        line = next(x for x in printed.splitlines() if x.startswith(f"  {language}: "))
        assert line == (
            f"  {language}: dropped, an end without a label: fact lines {facts}, links {links}"
        )
        row = next(x for x in printed.splitlines() if x.startswith(f"| {language} |"))
        assert row.endswith(f" | {kept_links} |")
        assert drops[language] == (facts, links, 0)
        assert table[language]["links"] == str(kept_links)
    # 16 IRI fact lines in de: 10 facts kept, 5 without a label, 1 listed twice
    assert int(table["de"]["triples"]) + int(table["de"]["removed (inverse)"]) == 10
    assert "No link joins" not in card


def test_one_language_without_links_is_no_warning(tmp_path: Path, caplog) -> None:
    dumps = write_dumps(tmp_path / "dumps")
    with caplog.at_level(logging.WARNING):
        rows, _ = build_dataset(dumps, tmp_path / "kb", ["de"], engine=EngineOptions(threads=1))
    assert rows.linked_iris and not rows.links  # de's lines join de IRIs to English ones
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "No link joins" not in (tmp_path / "kb" / "README.md").read_text(encoding="utf-8")


def test_both_readers_count_the_same_lines(tmp_path: Path) -> None:
    """The row-by-row reader (the reference) and the vectorised one write the same count
    and example in the links record file's footer."""
    path = tmp_path / "interlanguage_links_de.ttl"
    path.write_text(
        f"<{DE}A> {SAME} <{OWN}z> .\n<{DE}A> {SAME} <{EN}A> .\n"
        f"<{DE}B>\t{SAME}\t<{OWN}b> .\n<{DE}C> {SAME} <http://fr-.dbpedia.org/resource/C> .\n",
        encoding="utf-8",
    )
    found = []
    for vectorised in (False, True):
        job = Job("links", path, tmp_path / f"{vectorised}.parquet", "de", ("de", "en"))
        convert.convert(job, ReadOptions(), vectorised=vectorised)
        found.append(UnknownTargets.of_file(job.output))
    assert found[0] == found[1] == ("de", UnknownTargets(3, "http://fr-.dbpedia.org/resource/C"))
