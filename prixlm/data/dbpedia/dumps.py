"""Finding DBpedia dump files in a folder and reading labels, facts, links and the ontology.

Two naming schemes are recognised, each plain, `.bz2` or `.gz`, anywhere under the folder:

| kind | DBpedia 2016-10 | Databus |
|---|---|---|
| labels | `labels_{lang}.ttl` | `labels_lang={lang}.ttl` |
| object facts | `mappingbased_objects_{lang}.ttl` | `mappingbased-objects_lang={lang}.ttl` |
| links | `interlanguage_links_{lang}.ttl` | `interlanguage-links_lang={lang}.ttl` |

(`.nt` is accepted for `.ttl`.) `sameas-all-wikis.ttl` (the Databus Wikidata hub: one
`wikidata.dbpedia.org` IRI `owl:sameAs` each language edition's IRI) is a further source
of links. Language codes are compared lower-cased with `_` read as `-`: 2016-10 writes the
wiki code's `-` as `_` (`labels_zh_yue.ttl` is language `zh-yue`, `labels_be_x_old.ttl`
`be-x-old`), CLDR exports write `labels_zh-hant.ttl`. A labels file's labels carry the
language's code as their tag, or for a few editions the ISO code DBpedia tags them with
(`label_tags`: `labels_zh_yue.ttl` holds `@yue` labels, `labels_bat_smg.ttl` `@sgs`).

**Variants** of a language's files hold other IRI sets or subsets and are not read:
2016-10's `{kind}_{x}_uris_{lang}` (`labels_en_uris_fr.ttl`: the French labels of English
IRIs; `labels_wkd_uris_fr.ttl`: of Wikidata IRIs) and Databus content variants
`{kind}_lang={lang}_{variant}` (`mappingbased-objects_lang=fr_disjointDomain.ttl`). Other
2016-10 datasets (`mappingbased_objects_uncleaned_fr`, `interlanguage_links_chapters_fr`,
`category_labels_fr`) are not dump files of a kind. `DumpIndex` lists the variants it
skipped, so that callers can say so once.

`records` parses the files found here into Parquet for the SQL construction (`tables`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from prixlm.data.ntriples import DEFAULT_MAX_LINE_BYTES, ReadStats, read_triples

logger = logging.getLogger(__name__)

KINDS = ("labels", "objects", "links")
_NAMES = {  # kind: (2016-10 dataset, Databus artifact)
    "labels": ("labels", "labels"),
    "objects": ("mappingbased_objects", "mappingbased-objects"),
    "links": ("interlanguage_links", "interlanguage-links"),
}
# 2016-10 IRI-set variants and Databus content variants of mappingbased-objects.
KNOWN_VARIANTS = ("en_uris", "wkd_uris", "disjointDomain", "disjointRange")
_SUFFIX = r"\.(?:ttl|nt)(?:\.bz2|\.gz)?"
_CODE = r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*"
_DUMP_NAMES = [
    (
        kind,
        re.compile(
            rf"{dataset}_(?:(?P<variant>[A-Za-z0-9]+_uris)_)?(?P<code>{_CODE}){_SUFFIX}"
            rf"|{artifact}_lang=(?P<bus_code>[A-Za-z0-9-]+)(?:_(?P<bus_variant>[^.]+))?{_SUFFIX}",
            re.IGNORECASE,
        ),
    )
    for kind, (dataset, artifact) in _NAMES.items()
]
_HUB_FILE = re.compile(rf"sameas-all-wikis(?:_[^/]*)?{_SUFFIX}")
_DBPEDIA_HOST = re.compile(r"https?://(?:([A-Za-z0-9_-]+)\.)?dbpedia\.org/resource/")


def normalize_language(code: str) -> str:
    """A language code as the dumps spell it: lower case, `-` for `_` (`zh_Hant` -> `zh-hant`)."""
    code = code.strip()
    if not re.fullmatch(r"[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*", code):
        raise ValueError(f"invalid language code {code!r}")
    return code.replace("_", "-").lower()


# The language tag DBpedia's extraction framework writes on an edition's literals where it
# is not the edition's wiki code: a quad's language is the edition's `isoCode`, which for
# these editions is set in core/src/main/resources/addonlangs.json of
# github.com/dbpedia/extraction-framework (the whole table of that file; other editions
# take their wiki code). Only these are accepted besides the code itself.
LABEL_TAG_ALIASES = {
    "bat-smg": "sgs",
    "commons": "en",
    "sh": "hbs",
    "simple": "en",
    "zh-min-nan": "nan",
    "zh-yue": "yue",
}


def label_tags(language: str) -> tuple[str, ...]:
    """The language tags a label of `language`'s labels file is kept with: the code and,
    for the editions of `LABEL_TAG_ALIASES`, the ISO code DBpedia tags them with."""
    alias = LABEL_TAG_ALIASES.get(language)
    return (language,) if alias is None else (language, alias)


def dump_file_names(kind: str, language: str) -> str:
    """The names a `kind` file of `language` may have, for error messages."""
    dataset, artifact = _NAMES[kind]
    files = language.replace("-", "_")
    return f"{dataset}_{files}.ttl, {artifact}_lang={language}.ttl (or .nt; plain, .bz2 or .gz)"


def parse_dump_name(name: str) -> tuple[str, str, str | None] | None:
    """`(kind, language, variant)` of a dump file name (`variant` None for the language's
    own file), or None for any other name."""
    for kind, pattern in _DUMP_NAMES:
        match = pattern.fullmatch(name)
        if match is not None:
            code = match.group("code") or match.group("bus_code")
            return (
                kind,
                normalize_language(code),
                match.group("variant") or match.group("bus_variant"),
            )
    return None


@dataclass
class DumpIndex:
    """The dump files under a folder, found in one walk.

    `files[(kind, language)]` are the language's own files (usually one); `variants` the
    variant files that are not read (see the module doc); `broken` the entries named like
    dump files that are not readable files (folders, dangling links), `broken_hubs` those
    named like hub files.
    """

    dump_dir: Path
    files: dict[tuple[str, str], list[Path]] = field(default_factory=dict)
    variants: list[Path] = field(default_factory=list)
    broken: dict[tuple[str, str], list[Path]] = field(default_factory=dict)
    hub_files: list[Path] = field(default_factory=list)
    broken_hubs: list[Path] = field(default_factory=list)

    @classmethod
    def scan(cls, dump_dir: str | Path) -> DumpIndex:
        """Index every dump file under `dump_dir` (`FileNotFoundError` if it is no folder)."""
        dump_dir = Path(dump_dir)
        if not dump_dir.is_dir():
            raise FileNotFoundError(f"--dump_dir {dump_dir}: no such folder")
        index = cls(dump_dir)
        for path in sorted(dump_dir.rglob("*")):
            if _HUB_FILE.fullmatch(path.name):
                (index.hub_files if path.is_file() else index.broken_hubs).append(path)
                continue
            parsed = parse_dump_name(path.name)
            if parsed is None:
                continue
            kind, language, variant = parsed
            if variant is not None:
                index.variants.append(path)
            elif path.is_file():
                index.files.setdefault((kind, language), []).append(path)
            else:
                index.broken.setdefault((kind, language), []).append(path)
        return index

    def languages(self, kind: str = "labels", *, broken: bool = False) -> list[str]:
        """Every language with a `kind` file, sorted; with `broken`, also every language
        with a `kind` entry that is not a file (for `find` to name it)."""
        keys = [*self.files, *self.broken] if broken else self.files
        return sorted({language for k, language in keys if k == kind})

    def check_hub_files(self) -> None:
        """`FileNotFoundError` for an entry named like a hub file that is not a file."""
        if self.broken_hubs:
            raise _not_a_file(self.broken_hubs[0], "the Wikidata hub links")

    def unknown_variants(self) -> list[Path]:
        """The variant files whose variant is not one of `KNOWN_VARIANTS`."""
        return [
            path
            for path in self.variants
            if (parsed := parse_dump_name(path.name))
            and parsed[2].lower() not in {known.lower() for known in KNOWN_VARIANTS}
        ]

    def find(self, kind: str, language: str) -> Path | None:
        """The one `kind` file of `language`, or None.

        Raises:
            ValueError: several candidates (e.g. `labels_de.ttl` and `labels_de.ttl.bz2`).
            FileNotFoundError: an entry with the name of a dump file that is not a file.
        """
        broken = self.broken.get((kind, language), [])
        if broken:
            raise _not_a_file(broken[0], f"the {kind} of language {language!r}")
        candidates = self.files.get((kind, language), [])
        if len(candidates) > 1:
            listed = ", ".join(str(p) for p in candidates)
            raise ValueError(f"several {kind} files for language {language!r}: {listed}")
        return candidates[0] if candidates else None


def _not_a_file(path: Path, what: str) -> FileNotFoundError:
    """The error for `path`, named like a dump file (`what`) but a folder or dangling link."""
    kind = "a folder" if path.is_dir() else "a dangling symbolic link"
    return FileNotFoundError(f"{path}: {kind}, not a dump file ({what})")


def language_of_iri(iri: str) -> str | None:
    """`en` for `http://dbpedia.org/resource/X`, `de` for `http://de.dbpedia.org/...`, else None
    (None also for a host label that is no language code, e.g. `fr-`).

    `wikidata.dbpedia.org` (the hub) and other non-edition hosts also give their host label;
    callers compare the result with the languages they build.
    """
    match = _DBPEDIA_HOST.match(iri)
    if match is None:
        return None
    if not match.group(1):
        return "en"
    try:
        return normalize_language(match.group(1))
    except ValueError:  # a host label no language has (`fr-`, `a--b`): not a built language
        return None


@dataclass(frozen=True)
class DumpFiles:
    """The files of one language: `labels` is required, the others may be missing."""

    language: str
    labels: Path
    objects: Path | None
    links: Path | None


def find_dump_files(dump_dir: str | Path | DumpIndex, language: str) -> DumpFiles:
    """The labels, object-facts and links files of `language` under `dump_dir`.

    Raises `FileNotFoundError` when there is no labels file (or a dump name is not a file)
    and `ValueError` when a kind has more than one candidate.
    """
    index = dump_dir if isinstance(dump_dir, DumpIndex) else DumpIndex.scan(dump_dir)
    language = normalize_language(language)
    found = {kind: index.find(kind, language) for kind in KINDS}
    if found["labels"] is None:
        raise FileNotFoundError(
            f"no labels file for language {language!r} in {index.dump_dir} "
            f"({dump_file_names('labels', language)})"
        )
    return DumpFiles(language, found["labels"], found["objects"], found["links"])


def discover_languages(dump_dir: str | Path | DumpIndex) -> list[str]:
    """Every language with a labels file of its own under `dump_dir`, sorted."""
    index = dump_dir if isinstance(dump_dir, DumpIndex) else DumpIndex.scan(dump_dir)
    return index.languages("labels")


def find_hub_link_files(dump_dir: str | Path | DumpIndex) -> list[Path]:
    """`sameas-all-wikis*.ttl[.bz2|.gz]` files under `dump_dir`, sorted."""
    index = dump_dir if isinstance(dump_dir, DumpIndex) else DumpIndex.scan(dump_dir)
    return index.hub_files


def select_languages(index: DumpIndex, languages: Sequence[str] | None = None) -> list[str]:
    """The languages to build from the dumps of `index`, sorted.

    Named `languages` must each have a labels and an object-facts file (else
    `FileNotFoundError` naming the language and the file names looked for). Without names,
    every language with a labels file is built, except those without an object-facts file:
    each is left out with a logged warning, and `FileNotFoundError` if none is left.
    A dump file of a chosen language, or a hub file (read for every build), that is a
    folder or a dangling link is a `FileNotFoundError` naming it, with or without names:
    a labels entry that is not a file chooses its language, so that it is not left out
    unnoticed.
    """
    index.check_hub_files()
    if languages:
        chosen = sorted(dict.fromkeys(normalize_language(code) for code in languages))
        for language in chosen:
            if find_dump_files(index, language).objects is None:
                raise FileNotFoundError(
                    f"language {language!r}: no object-facts file in {index.dump_dir} "
                    f"(looked for {dump_file_names('objects', language)})"
                )
        return chosen
    found = index.languages("labels", broken=True)
    if not found:
        raise FileNotFoundError(
            f"--dump_dir {index.dump_dir}: no labels files found "
            f"({dump_file_names('labels', '{lang}')})"
        )
    chosen = []
    for language in found:
        if find_dump_files(index, language).objects is None:
            logger.warning(
                "language %r left out: a labels file but no object-facts file in %s "
                "(looked for %s)",
                language,
                index.dump_dir,
                dump_file_names("objects", language),
            )
        else:
            chosen.append(language)
    if not chosen:
        raise FileNotFoundError(
            f"--dump_dir {index.dump_dir}: labels for {', '.join(found)} but no object-facts "
            f"file for any of them ({dump_file_names('objects', '{lang}')})"
        )
    return chosen


def note_variants(index: DumpIndex) -> None:
    """Log the variant dump files (other IRI sets, subsets) that are not read."""
    if not index.variants:
        return
    unknown = index.unknown_variants()
    logger.warning(
        "not reading %d variant dump file(s) (other IRI sets or subsets of a language's "
        "files): %s%s",
        len(index.variants),
        ", ".join(path.name for path in index.variants),
        f"; unknown variants (not {', '.join(KNOWN_VARIANTS)}): "
        + ", ".join(path.name for path in unknown)
        if unknown
        else "",
    )


@dataclass
class ReadOptions:
    """How to read: strictness, progress bars, the line length limit, and the counts
    (`stats`: `{file path: ReadStats}`)."""

    strict: bool = False
    progress: bool = False
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    stats: dict[str, ReadStats] = field(default_factory=dict)

    def triples(self, path: Path, stats: ReadStats | None = None) -> Iterator[tuple]:
        """The triples of `path`, counted in `stats` (default: under its name in `stats`)."""
        if stats is None:
            stats = self.stats.setdefault(str(path), ReadStats())
        return read_triples(
            path,
            strict=self.strict,
            stats=stats,
            progress=self.progress,
            max_line_bytes=self.max_line_bytes,
        )


__all__ = [
    "ReadOptions",
    "KNOWN_VARIANTS",
    "LABEL_TAG_ALIASES",
    "DumpFiles",
    "DumpIndex",
    "discover_languages",
    "dump_file_names",
    "find_dump_files",
    "find_hub_link_files",
    "label_tags",
    "language_of_iri",
    "normalize_language",
    "note_variants",
    "parse_dump_name",
    "select_languages",
]
