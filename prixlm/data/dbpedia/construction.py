"""The paper's construction (§3 "Data"): per-language facts as text, cross-lingual links.

Per language L, the entities are the resources with an `rdfs:label` in L; a fact
(s, p, o) of L's object-facts file is kept when s and o both have an L label and becomes
the text triple (label(s), name(p), label(o)). A relation's name is its ontology label in
L, else its English ontology label (when an ontology file is given), else its local name
split into lower-case words (`officialLanguage` -> `official language`). A link pairs one
entity's labels in two built languages; it is used in both directions.

Entities joined by links form one language-independent entity, whose id is the smallest
IRI of the group (`entity_id`): the key of the per-fact split protocol.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from prixlm.data.dbpedia.dumps import (
    DumpIndex,
    ReadOptions,
    find_dump_files,
    find_hub_link_files,
    normalize_language,
    read_facts,
    read_hub_groups,
    read_labels,
    read_link_pairs,
    read_ontology_labels,
)

LinkEnd = tuple[str, str]  # (language, IRI)


def relation_words(iri: str) -> str:
    """A relation name from its IRI's local name: `officialLanguage` -> `official language`.

    Acronyms keep their case (`isoCode` -> `iso code`, `ISOCode` -> `ISO code`); `_` and `-`
    become spaces.
    """
    local = re.split(r"[/#]", iri.rstrip("/#"))[-1]
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", local)
    words = spaced.replace("_", " ").replace("-", " ").split()
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)


@dataclass
class LanguageFacts:
    """One language's labels and its facts between labelled entities (IRI triples)."""

    language: str
    labels: dict[str, str]
    facts: list[tuple[str, str, str]]


@dataclass
class KnowledgeBase:
    """Everything the splits and the output need, keyed by IRIs.

    `links` holds each unordered link once, as `((lang_a, iri_a), (lang_b, iri_b))` with
    `lang_a < lang_b`, sorted.
    """

    languages: list[str]
    by_language: dict[str, LanguageFacts]
    links: list[tuple[LinkEnd, LinkEnd]]
    relation_names: dict[tuple[str, str], str]
    entity_ids: dict[str, str] = field(default_factory=dict)
    options: ReadOptions = field(default_factory=ReadOptions)

    def relation_name(self, language: str, relation: str) -> str:
        """The text of `relation` in `language`."""
        return self.relation_names[(language, relation)]

    def entity_id(self, iri: str) -> str:
        """The language-independent id of `iri`: the smallest IRI linked to it (or itself)."""
        return self.entity_ids.get(iri, iri)


class _UnionFind:
    """Groups of IRIs joined by links; each group's id is its smallest IRI."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        root = item
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while item != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            low, high = sorted((root_a, root_b))
            self.parent[high] = low
            self.parent.setdefault(low, low)

    def ids(self) -> dict[str, str]:
        return {item: self.find(item) for item in self.parent}


def _relation_names(
    languages: list[str],
    by_language: dict[str, LanguageFacts],
    ontology: dict[str, dict[str, str]],
) -> dict[tuple[str, str], str]:
    names: dict[tuple[str, str], str] = {}
    for language in languages:
        for relation in sorted({p for _, p, _ in by_language[language].facts}):
            labels = ontology.get(relation, {})
            names[(language, relation)] = (
                labels.get(language) or labels.get("en") or relation_words(relation)
            )
    return names


def build_knowledge_base(
    dump_dir: str | Path | DumpIndex,
    languages: list[str],
    *,
    ontology: str | Path | None = None,
    link_languages: list[str] | None = None,
    options: ReadOptions | None = None,
) -> KnowledgeBase:
    """Read the dumps of `languages` under `dump_dir` and join them (see the module doc).

    Args:
        dump_dir: folder with the dump files (any naming scheme in `dumps`), or its index.
        languages: the language codes to build (at least one).
        ontology: optional ontology dump whose `rdfs:label`s name the relations.
        link_languages: keep only links with one end in these languages (a pivot such as
            `["en"]`: links then grow linearly, not quadratically, with the languages);
            default every pair of built languages.
        options: strictness, progress bars; its `stats` collects per-file counts.
    """
    options = options or ReadOptions()
    languages = sorted(dict.fromkeys(normalize_language(code) for code in languages))
    if not languages:
        raise ValueError("no languages to build")
    index = dump_dir if isinstance(dump_dir, DumpIndex) else DumpIndex.scan(dump_dir)
    files = {language: find_dump_files(index, language) for language in languages}
    labels = {lang: read_labels(f.labels, lang, options) for lang, f in files.items()}
    by_language = {}
    for language in tqdm(languages, desc="facts", disable=not options.progress):
        objects = files[language].objects
        facts = read_facts(objects, labels[language], options) if objects else {}
        by_language[language] = LanguageFacts(language, labels[language], list(facts))

    pivots = {normalize_language(c) for c in link_languages} if link_languages else None
    pairs: dict[tuple[LinkEnd, LinkEnd], None] = {}

    def add(a: LinkEnd, b: LinkEnd) -> None:
        if a[0] != b[0] and (pivots is None or a[0] in pivots or b[0] in pivots):
            pairs[(a, b) if a < b else (b, a)] = None

    for language, found in files.items():
        if found.links is not None:
            for a, b in read_link_pairs(found.links, language, labels, options):
                add(a, b)
    for path in find_hub_link_files(index):
        for members in read_hub_groups(path, labels, options).values():
            for i, a in enumerate(members):
                for b in members[i + 1 :]:
                    add(a, b)
    links = sorted(pairs)

    groups = _UnionFind()
    for (_, iri_a), (_, iri_b) in links:
        groups.union(iri_a, iri_b)
    ontology_labels = read_ontology_labels(Path(ontology), options) if ontology else {}
    return KnowledgeBase(
        languages=languages,
        by_language=by_language,
        links=links,
        relation_names=_relation_names(languages, by_language, ontology_labels),
        entity_ids=groups.ids(),
        options=options,
    )


__all__ = ["KnowledgeBase", "LanguageFacts", "build_knowledge_base", "relation_words"]
