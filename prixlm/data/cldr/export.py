"""Export Babel's CLDR data as DBpedia 2016-10 dump files: labels, object facts, links.

Run:
    python -m prixlm.data.cldr.export --output_dir data/cldr_kb
    python -m prixlm.data.cldr.export --languages en,de,fr --output_dir data/cldr_kb_3
    python -m prixlm.data.cldr.export --languages all --output_dir data/cldr_kb_all

Per exported locale `L` (language code `lang`, see `dump_format.dbpedia_language`):
- `labels_{lang}.ttl`: `<iri> rdfs:label "label"@lang .` for every entity of `L`;
- `mappingbased_objects_{lang}.ttl`: `<s> dbo:relation <o> .` for every CLDR fact whose
  subject and object both have a name in `L`;
- `interlanguage_links_{lang}.ttl`: `<iri_L> owl:sameAs <iri_M> .` for every other exported
  locale `M` that labels the same entity, and always the line to the entity's English IRI
  (`http://dbpedia.org/resource/...`, the IRI it has in an export with `en`) where English
  names it, also when `en` is not exported: the build keys an entity by the English IRI its
  link lines name, so that a language draws the same split in an export with `en` or
  without (`prixlm.data.dbpedia.splits`);
plus `cldr_kb_info.json` (CLDR and Babel versions, licence, locales, statistics; `links`
counts the lines of a language's link file, those to an unexported English included).

The entities of `L` are those that take part in at least one of its facts. Labels are
unique per language, Wikipedia style: where names clash (equal after case folding), the
first entity in the order territory, language, script, currency, time zone, city keeps the
bare name and the others get a qualifier, "Latin (script)", "Nauru (city)" (full rule:
`cldr_labels.py`). Locale ids with a script or region map to lower-case BCP 47 codes
(`zh_Hant` -> `zh-hant`, `pt_PT` -> `pt-pt`), used in file names, tags and IRI hosts. Files are
sorted and carry no timestamp, so the same call gives byte-identical files; they are
written to the hidden sibling `.{output_dir}.partial` that replaces `output_dir` at the end
(`prixlm.outputs.atomic`). A re-export replaces what the earlier export wrote (its info file
and the three files of each language it lists: a language no longer exported loses its
files) and keeps every other entry (`.git`, a user's files).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import babel
from babel import Locale, localedata

from prixlm.cli import command_parser, renamed_options, user_errors
from prixlm.data.cldr.cldr_facts import (
    Entity,
    Fact,
    city_countries,
    cldr_entities,
    cldr_facts,
    cldr_version,
)
from prixlm.data.cldr.cldr_labels import locale_names, unique_labels
from prixlm.data.cldr.dump_format import (
    DBPEDIA_ONTOLOGY,
    OWL_SAME_AS,
    RDFS_LABEL,
    dbpedia_language,
    interlanguage_links_file,
    labels_file,
    literal,
    mappingbased_objects_file,
    resource_iri,
)
from prixlm.library_bars import progress_bar
from prixlm.outputs.atomic import (
    atomic_folder,
    check_parent,
    naming_write_errors,
    recover_interrupted,
    writer_lock,
)

__all__ = [
    "LICENSE",
    "PAPER_LOCALES",
    "all_locales",
    "build_parser",
    "export_cldr_kb",
    "main",
    "resolve_locales",
]

PAPER_LOCALES: tuple[str, ...] = ("en", "it", "de", "fr", "fi", "et", "tr", "hu", "ja")
LICENSE = "Unicode License v3 (Unicode-3.0), https://www.unicode.org/license.txt"
INFO_FILE = "cldr_kb_info.json"
ENGLISH = "en"  # the locale whose IRIs every link file names (DBpedia's hub edition)
_NAME_TABLES = ("territories", "languages", "scripts", "currencies")


@dataclass(frozen=True)
class LocaleKB:
    """One locale's share of the KB: entity -> label and IRI, and its facts."""

    locale_id: str
    language: str
    labels: dict[Entity, str]
    iris: dict[Entity, str]
    facts: list[Fact]


def all_locales() -> list[str]:
    """Every Babel locale without a region subtag whose own data names anything.

    Region variants (`pt_PT`, `en_GB`) and locales that only inherit names (`nb` from `no`)
    would repeat a parent's KB; they can still be asked for by name.
    """
    chosen = []
    for locale_id in localedata.locale_identifiers():
        subtags = locale_id.split("_")
        if locale_id == "root" or any(not part.isalpha() or len(part) == 2 for part in subtags[1:]):
            continue
        if any(_own_data(locale_id).get(table) for table in _NAME_TABLES):
            chosen.append(locale_id)
    return sorted(chosen)


def _own_data(locale_id: str) -> dict:
    """A locale's own CLDR data, without what it inherits, leaving Babel's cache as it was.

    Babel caches `load(id, merge_inherited=False)` under the key of the merged data: every
    `Locale(id)` made afterwards in the process lacked the inherited names (`--languages
    all` wrote "Asuncion" for "Asunción", `be-tarask` 776 entities for 1,464)."""
    cache = localedata._cache  # noqa: SLF001 - the cache the fault is in
    merged = cache.pop(locale_id, None)  # cached merged data would be returned as "own"
    own = localedata.load(locale_id, merge_inherited=False)
    cache.pop(locale_id, None)
    if merged is not None:
        cache[locale_id] = merged  # the same object back, not loaded again
    return own


def resolve_locales(locales: Sequence[str] | str | None) -> list[str]:
    """CLDR locale ids from a list, a comma-separated string, `"all"` or `None` (the paper's
    nine); a locale may also be named as its dump files are (`zh-hant` for `zh_Hant`).

    Raises:
        ValueError: a locale that Babel does not know, with the close known ones.
    """
    if locales is None:
        return list(PAPER_LOCALES)
    if isinstance(locales, str):
        if locales.strip() == "all":
            return all_locales()
        locales = [part.strip() for part in locales.split(",") if part.strip()]
    known = set(localedata.locale_identifiers()) - {"root"}
    locales = [_cldr_spelling(locale_id, known) for locale_id in locales]
    unknown = [locale_id for locale_id in locales if locale_id not in known]
    if unknown:
        close = sorted(
            {m for locale_id in unknown for m in difflib.get_close_matches(locale_id, known, 5)}
        )
        hint = f"close ones: {', '.join(close)}; " if close else ""
        raise ValueError(
            f"--languages: unknown CLDR locale(s) {unknown}; {hint}{len(known):,} locales are known, e.g. "
            f"the paper's {', '.join(PAPER_LOCALES)} (all of them: python -c \"from babel "
            'import localedata; print(sorted(localedata.locale_identifiers()))")'
        )
    if not locales:
        raise ValueError("no locale given")
    languages = [dbpedia_language(locale_id) for locale_id in locales]
    if len(set(languages)) != len(languages):
        raise ValueError(f"duplicate locales in {list(locales)}")
    return list(dict.fromkeys(locales))


def _cldr_spelling(name: str, known: set[str]) -> str:
    """The CLDR locale id of `name`: itself when CLDR knows it, else the locale whose dump
    language code (the names the export writes, `az-arab` for `az_Arab`, which the builds
    and dataset configs use) or any other case or separator spelling is `name`; else
    `name` unchanged (an unknown locale)."""
    if name in known:
        return name
    spelled = {dbpedia_language(locale_id): locale_id for locale_id in known}
    return spelled.get(dbpedia_language(name), name)


def _word_table_language(locale_id: str) -> str:
    """The language whose qualifier words suit `locale_id`: its language subtag, unless the
    locale names a script (`en_Dsrt` is not written in the Latin-script English words)."""
    language, *rest = locale_id.split("_")
    has_script = any(len(part) == 4 and part.isalpha() for part in rest)
    return "" if has_script else language


def build_locale_kb(locale_id: str) -> LocaleKB:
    """Names, unique labels, IRIs and facts of one locale."""
    names = locale_names(Locale.parse(locale_id), cldr_entities())
    kept_facts = [fact for fact in cldr_facts() if fact.subject in names and fact.object in names]
    kept = {entity for fact in kept_facts for entity in (fact.subject, fact.object)}
    labels = unique_labels(
        {entity: names[entity] for entity in sorted(kept)},
        _word_table_language(locale_id),
        city_countries(),
    )
    language = dbpedia_language(locale_id)
    iris = {entity: resource_iri(language, label) for entity, label in labels.items()}
    if len(set(iris.values())) != len(iris):
        raise RuntimeError(f"{locale_id}: two entities share an IRI")
    return LocaleKB(locale_id, language, labels, iris, kept_facts)


def _header(kind: str, kb: LocaleKB) -> str:
    return (
        f"# started {kind} for {kb.language} from Unicode CLDR {cldr_version()} "
        f"(Babel {babel.__version__}, locale {kb.locale_id}); {LICENSE}\n"
    )


def _write_lines(path: Path, header: str, lines: Iterable[str]) -> int:
    body = sorted(lines)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(header)
        handle.writelines(body)
        handle.write("# completed\n")
    return len(body)


def _write_locale(kb: LocaleKB, others: Sequence[LocaleKB], folder: Path) -> dict[str, int]:
    """Write the three dump files of `kb`, linking its entities to those of `others` (the
    other exported locales, plus English where it is not exported); returns their counts."""
    label_lines = (
        f"<{kb.iris[entity]}> <{RDFS_LABEL}> {literal(label, kb.language)} .\n"
        for entity, label in kb.labels.items()
    )
    fact_lines = (
        f"<{kb.iris[fact.subject]}> <{DBPEDIA_ONTOLOGY}{fact.relation}> <{kb.iris[fact.object]}> .\n"
        for fact in kb.facts
    )
    # Generated nearly in line order (subjects by IRI, objects by host), so sorting is cheap.
    other_iris = [
        other.iris for other in sorted(others, key=lambda other: resource_iri(other.language, ""))
    ]
    link_lines = (
        f"<{iri}> <{OWL_SAME_AS}> <{iris[entity]}> .\n"
        for entity, iri in sorted(kb.iris.items(), key=lambda item: item[1])
        for iris in other_iris
        if entity in iris
    )
    return {
        "entities": _write_lines(
            folder / labels_file(kb.language), _header("labels", kb), label_lines
        ),
        "triples": _write_lines(
            folder / mappingbased_objects_file(kb.language),
            _header("mappingbased_objects", kb),
            fact_lines,
        ),
        "links": _write_lines(
            folder / interlanguage_links_file(kb.language),
            _header("interlanguage_links", kb),
            link_lines,
        ),
    }


def export_cldr_kb(
    locales: list[str] | str, output_dir: Path, progress: bool | None = None
) -> dict[str, dict[str, int]]:
    """Write the CLDR KB of `locales` as DBpedia dump files into `output_dir`.

    Args:
        locales: CLDR locale ids (`["en", "de"]`), a comma-separated string, or `"all"`.
        output_dir: the folder to create; an earlier export there (or an empty folder) is
            replaced at the end, any other existing folder is an error.
        progress: show tqdm bars (default: only for `"all"`).

    Returns:
        language code -> `{"entities", "triples", "links"}` counts.

    Raises:
        ValueError: an unknown locale, a named locale whose CLDR data names no entity of
            a fact (`io`, `wa`: its files would be empty), or `output_dir` holds
            something else.
        NotADirectoryError: a parent of `output_dir` is a file.
    """
    locale_ids = resolve_locales(locales)
    every = isinstance(locales, str) and locales.strip() == "all"  # as `resolve_locales` reads it
    show = progress if progress is not None else every
    output_dir = check_parent(output_dir, argument="--output_dir")
    with writer_lock(output_dir, argument="--output_dir"):
        # an export killed between its two renames left `.OUT.old` and no OUT: put it back
        # first, so that what it owns is known (else its other languages' files were kept)
        recover_interrupted(output_dir)
        owned = _owned_entries(output_dir)
        kbs = [
            build_locale_kb(locale_id)
            for locale_id in progress_bar(locale_ids, desc="labels", disable=not show)
        ]
        if every:  # 25 locales name nothing that takes part in a fact
            kbs = [kb for kb in kbs if kb.labels]
        elif empty := [kb.locale_id for kb in kbs if not kb.labels]:
            # their empty files made every later build of the folder fail ("no triples")
            raise ValueError(
                f"--languages {','.join(empty)}: CLDR names no entity of a fact in these "
                "locales (their files would be empty); leave them out"
            )
        kbs.sort(key=lambda kb: kb.language)
        link_targets = _link_targets(kbs)
        stats = {}
        with atomic_folder(
            output_dir, carry_over=lambda entry: entry.name not in owned, argument="--output_dir"
        ) as staging:
            for kb in progress_bar(kbs, desc="write", disable=not show):
                others = [other for other in link_targets if other is not kb]
                stats[kb.language] = _write_locale(kb, others, staging)
            _write_info(staging / INFO_FILE, kbs, stats)
    return stats


def _link_targets(kbs: list[LocaleKB]) -> list[LocaleKB]:
    """The KBs whose IRIs the link files name: the exported ones, and English's when `en` is
    not exported (its labels and IRIs are those of an export with `en`: a locale's KB does
    not depend on the others), so that every link group names its English IRI."""
    if any(kb.language == ENGLISH for kb in kbs):
        return kbs
    return [*kbs, build_locale_kb(ENGLISH)]


def _owned_entries(output_dir: Path) -> set[str]:
    """The names in an existing `output_dir` that an earlier export wrote: its info file and
    the dump files of the languages that file lists. `ValueError` if `output_dir` holds
    visible entries but no info file (not an export: not replaced)."""
    if not output_dir.exists():
        return set()
    if not output_dir.is_dir():
        raise ValueError(f"--output_dir {output_dir} is a file; not replacing it")
    info = output_dir / INFO_FILE
    if not info.is_file():
        if any(not entry.name.startswith(".") for entry in output_dir.iterdir()):
            raise ValueError(f"{output_dir} exists and is not a cldr_kb export; not replacing it")
        return set()
    try:
        languages = list(json.loads(info.read_text(encoding="utf-8"))["locales"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{info}: not a readable cldr_kb info file ({error})") from error
    owned = {INFO_FILE}
    for language in languages:
        owned |= {
            labels_file(language),
            mappingbased_objects_file(language),
            interlanguage_links_file(language),
        }
    return owned


def _write_info(path: Path, kbs: Sequence[LocaleKB], stats: dict[str, dict[str, int]]) -> None:
    info = {
        "name": "cldr_kb",
        "description": "Unicode CLDR names and supplemental data as DBpedia 2016-10 dump files",
        "cldr_version": cldr_version(),
        "babel_version": babel.__version__,
        "license": LICENSE,
        "source": "https://cldr.unicode.org/ via the babel package",
        "locales": {kb.language: kb.locale_id for kb in kbs},
        "statistics": stats,
    }
    path.write_text(
        json.dumps(info, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )


def format_stats(stats: dict[str, dict[str, int]]) -> str:
    """A Markdown table of per-language counts, with a total row."""
    rows = ["| language | entities | triples | links |", "|---|---:|---:|---:|"]
    for language, counts in stats.items():
        rows.append(
            f"| {language} | {counts['entities']:,} | {counts['triples']:,} | {counts['links']:,} |"
        )
    totals = {
        key: sum(counts[key] for counts in stats.values())
        for key in ("entities", "triples", "links")
    }
    rows.append(
        f"| total ({len(stats)}) | {totals['entities']:,} | {totals['triples']:,} | {totals['links']:,} |"
    )
    return "\n".join(rows)


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m prixlm.data.cldr.export`."""
    parser = command_parser("prixlm.data.cldr.export", __doc__.split("\n")[0])
    parser.add_argument(
        "--languages",
        default=",".join(PAPER_LOCALES),
        help="comma-separated CLDR locale ids (en, de, ja, zh_Hant, ...; or as the files are "
        "named: zh-hant), or 'all' (every locale without a region subtag that names "
        "something); the default is the paper's nine (old spelling: --locales)",
    )
    parser.add_argument(
        "--output_dir",
        type=Path,
        required=True,
        help="folder of the dump files; an earlier export there is replaced, other files in "
        "it are kept",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = build_parser()
    args = parser.parse_args(renamed_options(argv, {"--locales": "--languages"}))
    with user_errors(ValueError):  # a full disk, or stdout on one: one line, exit 2
        stats = export_cldr_kb(args.languages, args.output_dir)
        with naming_write_errors("stdout", "the statistics on"):
            print(format_stats(stats))
            print(f"wrote {args.output_dir} (CLDR {cldr_version()}, {LICENSE})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
