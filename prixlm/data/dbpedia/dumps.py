"""Finding DBpedia dump files in a folder and reading labels, facts, links and the ontology.

Two naming schemes are recognised, each plain, `.bz2` or `.gz`, anywhere under the folder:

| kind | DBpedia 2016-10 | Databus |
|---|---|---|
| labels | `labels_{lang}.ttl` | `labels_lang={lang}.ttl` |
| object facts | `mappingbased_objects_{lang}.ttl` | `mappingbased-objects_lang={lang}.ttl` |
| links | `interlanguage_links_{lang}.ttl` | `interlanguage-links_lang={lang}.ttl` |

(`.nt` is accepted for `.ttl`.) `sameas-all-wikis.ttl` (the Databus Wikidata hub: one
`wikidata.dbpedia.org` IRI `owl:sameAs` each language edition's IRI) is a further source
of links. Language codes are compared lower-cased with `_` read as `-` (`zh_Hant` ->
`zh-hant`), as the dumps spell them.

Readers stream the files (`prixlm.data.ntriples`) and keep only what the construction
needs: a label per entity, the facts between labelled entities, the link pairs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from prixlm.data.dbpedia.schema import OWL_SAME_AS, RDF_TYPE, RDFS_LABEL, XSD_STRING
from prixlm.data.ntriples import Literal, ReadStats, canonical_iri, read_triples

KINDS = ("labels", "objects", "links")
_PATTERNS = {
    "labels": ("labels_{lang}", "labels_lang={lang}"),
    "objects": ("mappingbased_objects_{lang}", "mappingbased-objects_lang={lang}"),
    "links": ("interlanguage_links_{lang}", "interlanguage-links_lang={lang}"),
}
_SUFFIX = r"\.(?:ttl|nt)(?:\.bz2|\.gz)?"
_LABELS_FILE = re.compile(rf"labels_(?:lang=)?([A-Za-z0-9_-]+){_SUFFIX}")
_HUB_FILE = re.compile(rf"sameas-all-wikis(?:_[^/]*)?{_SUFFIX}")
_DBPEDIA_HOST = re.compile(r"https?://(?:([A-Za-z0-9_-]+)\.)?dbpedia\.org/resource/")


def normalize_language(code: str) -> str:
    """A language code as the dumps spell it: lower case, `-` for `_` (`zh_Hant` -> `zh-hant`)."""
    code = code.strip()
    if not re.fullmatch(r"[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*", code):
        raise ValueError(f"invalid language code {code!r}")
    return code.replace("_", "-").lower()


def language_of_iri(iri: str) -> str | None:
    """`en` for `http://dbpedia.org/resource/X`, `de` for `http://de.dbpedia.org/...`, else None.

    `wikidata.dbpedia.org` (the hub) and other non-edition hosts also give their host label;
    callers compare the result with the languages they build.
    """
    match = _DBPEDIA_HOST.match(iri)
    if match is None:
        return None
    return normalize_language(match.group(1)) if match.group(1) else "en"


@dataclass(frozen=True)
class DumpFiles:
    """The files of one language: `labels` is required, the others may be missing."""

    language: str
    labels: Path
    objects: Path | None
    links: Path | None


def _matches(dump_dir: Path, kind: str, language: str) -> list[Path]:
    names = [p.format(lang=re.escape(language)) for p in _PATTERNS[kind]]
    pattern = re.compile(rf"(?:{'|'.join(names)}){_SUFFIX}", re.IGNORECASE)
    return sorted(p for p in dump_dir.rglob("*") if p.is_file() and pattern.fullmatch(p.name))


def find_dump_files(dump_dir: str | Path, language: str) -> DumpFiles:
    """The labels, object-facts and links files of `language` under `dump_dir`.

    Raises `FileNotFoundError` when there is no labels file and `ValueError` when a kind has
    more than one candidate (e.g. both `labels_de.ttl` and `labels_de.ttl.bz2`).
    """
    dump_dir = Path(dump_dir)
    if not dump_dir.is_dir():
        raise FileNotFoundError(f"--dump_dir {dump_dir}: no such folder")
    found: dict[str, Path | None] = {}
    for kind in KINDS:
        candidates = _matches(dump_dir, kind, language)
        if len(candidates) > 1:
            listed = ", ".join(str(p) for p in candidates)
            raise ValueError(f"several {kind} files for language {language!r}: {listed}")
        found[kind] = candidates[0] if candidates else None
    if found["labels"] is None:
        wanted = " or ".join(
            p.format(lang=language) + ".ttl[.bz2|.gz]" for p in _PATTERNS["labels"]
        )
        raise FileNotFoundError(
            f"no labels file for language {language!r} in {dump_dir} ({wanted})"
        )
    return DumpFiles(language, found["labels"], found["objects"], found["links"])


def discover_languages(dump_dir: str | Path) -> list[str]:
    """Every language with a labels file under `dump_dir`, sorted."""
    if not Path(dump_dir).is_dir():
        raise FileNotFoundError(f"--dump_dir {dump_dir}: no such folder")
    names = (p.name for p in Path(dump_dir).rglob("*") if p.is_file())
    return sorted(
        {normalize_language(m.group(1)) for n in names if (m := _LABELS_FILE.fullmatch(n))}
    )


def find_hub_link_files(dump_dir: str | Path) -> list[Path]:
    """`sameas-all-wikis*.ttl[.bz2|.gz]` files under `dump_dir`, sorted."""
    return sorted(
        p for p in Path(dump_dir).rglob("*") if p.is_file() and _HUB_FILE.fullmatch(p.name)
    )


@dataclass
class ReadOptions:
    """How to read: strictness, progress bars, and the counts gathered on the way."""

    strict: bool = False
    progress: bool = False
    stats: dict[str, ReadStats] = field(default_factory=dict)

    def triples(self, path: Path) -> Iterator[tuple]:
        """The triples of `path`, counted under its name in `stats`."""
        stats = self.stats.setdefault(str(path), ReadStats())
        return read_triples(path, strict=self.strict, stats=stats, progress=self.progress)


def _label_text(obj: object, language: str) -> str | None:
    """The label text of a literal if it is in `language` (or untagged), else None."""
    if not isinstance(obj, Literal):
        return None
    if obj.language is not None:
        if obj.language.replace("_", "-") != language:
            return None
    elif obj.datatype not in (None, XSD_STRING):
        return None
    text = " ".join(obj.value.split())
    return text or None


def read_labels(path: Path, language: str, options: ReadOptions) -> dict[str, str]:
    """`{entity IRI: label}` from the `rdfs:label` triples of `path` in `language`.

    IRIs are canonical (`canonical_iri`); labels have their white space collapsed; the first
    label of an entity wins.
    """
    labels: dict[str, str] = {}
    for subject, predicate, obj in options.triples(path):
        if predicate == RDFS_LABEL:
            text = _label_text(obj, language)
            if text is not None:
                labels.setdefault(canonical_iri(subject), text)
    return labels


def read_facts(
    path: Path, labels: dict[str, str], options: ReadOptions
) -> dict[tuple[str, str, str], None]:
    """The `(subject, relation, object)` IRI triples of `path` whose ends both have a label.

    Literal and blank-node objects and `rdf:type`/`owl:sameAs` are skipped; duplicates are
    dropped; order is file order (an insertion-ordered dict used as a set).
    """
    facts: dict[tuple[str, str, str], None] = {}
    for subject, predicate, obj in options.triples(path):
        if type(obj) is not str or predicate in (RDF_TYPE, OWL_SAME_AS):
            continue
        subject, obj = canonical_iri(subject), canonical_iri(obj)
        if subject in labels and obj in labels:
            facts[(subject, canonical_iri(predicate), obj)] = None
    return facts


def read_link_pairs(
    path: Path, language: str, labels: dict[str, dict[str, str]], options: ReadOptions
) -> Iterator[tuple[tuple[str, str], tuple[str, str]]]:
    """`((language, iri), (other language, other iri))` for each `owl:sameAs` in `path`
    between an entity labelled in `language` and one labelled in another built language."""
    own = labels[language]
    for subject, predicate, obj in options.triples(path):
        if predicate != OWL_SAME_AS or type(obj) is not str:
            continue
        subject, obj = canonical_iri(subject), canonical_iri(obj)
        other = language_of_iri(obj)
        if subject in own and other != language and other in labels and obj in labels[other]:
            yield (language, subject), (other, obj)


def read_hub_groups(
    path: Path, labels: dict[str, dict[str, str]], options: ReadOptions
) -> dict[str, list[tuple[str, str]]]:
    """`{hub IRI: [(language, iri), ...]}` from a `sameas-all-wikis` file, keeping only the
    labelled entities of the built languages (so memory follows the label maps)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for hub, predicate, obj in options.triples(path):
        if predicate != OWL_SAME_AS or type(obj) is not str:
            continue
        obj = canonical_iri(obj)
        language = language_of_iri(obj)
        if language in labels and obj in labels[language]:
            groups.setdefault(hub, []).append((language, obj))
    return groups


def read_ontology_labels(path: Path, options: ReadOptions) -> dict[str, dict[str, str]]:
    """`{property IRI: {language: label}}` from an ontology dump (e.g. `dbpedia_2016-10.nt`)."""
    names: dict[str, dict[str, str]] = {}
    for subject, predicate, obj in options.triples(path):
        if predicate == RDFS_LABEL and isinstance(obj, Literal) and obj.language:
            text = " ".join(obj.value.split())
            if text:
                language = obj.language.replace("_", "-")
                names.setdefault(subject, {}).setdefault(language, text)
    return names


__all__ = [
    "DumpFiles",
    "ReadOptions",
    "discover_languages",
    "find_dump_files",
    "find_hub_link_files",
    "language_of_iri",
    "normalize_language",
    "read_facts",
    "read_hub_groups",
    "read_labels",
    "read_link_pairs",
    "read_ontology_labels",
]
