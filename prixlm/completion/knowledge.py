"""A Prix-LM dataset as IRI-keyed facts per language, and the pairs a target language lacks.

The dataset rows (`docs/architecture.md`) carry the dumps' IRIs: `subject_id`, `relation_id`
(the same ontology IRI in every language) and `object_id`; the `links` config joins an
entity's IRIs across languages. A *completion query* is a (subject, relation) pair that one
or more evidence languages hold and the target does not: its subject is the target-language
entity linked to theirs, its relation the same relation IRI under the target's own label.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

LINKS_CONFIG = "links"
NON_LANGUAGE_CONFIGS = frozenset({LINKS_CONFIG, "all"})
#: Characters an IRI (and an N-Triples IRIREF) cannot hold besides controls and space.
IRI_FORBIDDEN = frozenset('<>"{}|^`\\')


def is_valid_iri_text(iri: str) -> bool:
    """False for an IRI holding a control, a space or one of `IRI_FORBIDDEN` (written as
    `\\uXXXX` in N-Triples: valid there, but rdflib warns and strict stores refuse it)."""
    return bool(iri) and not any(ord(c) <= 0x20 or c in IRI_FORBIDDEN for c in iri)


@dataclass
class LanguageFacts:
    """The triples of one language: labels and objects, keyed by IRI."""

    language: str
    labels: dict[str, str] = field(default_factory=dict)  # entity IRI -> label
    relation_labels: dict[str, str] = field(default_factory=dict)  # relation IRI -> label
    objects: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (s, r) -> {o}

    def add_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Add triple rows of this language (link rows and other languages are ignored)."""
        for row in rows:
            if row["kind"] != "triple" or row["subject_language"] != self.language:
                continue
            self.labels[row["subject_id"]] = row["subject"]
            self.labels[row["object_id"]] = row["object"]
            self.relation_labels.setdefault(row["relation_id"], row["relation"])
            key = (row["subject_id"], row["relation_id"])
            self.objects.setdefault(key, set()).add(row["object_id"])

    @property
    def num_facts(self) -> int:
        return sum(map(len, self.objects.values()))


@dataclass
class Links:
    """Cross-lingual links: `targets[iri][language]` is the entity's IRI in `language`."""

    targets: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    labels: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))

    def add_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Add link rows (both directions of each link are recorded)."""
        for row in rows:
            if row["kind"] != "link":
                continue
            s_lang, o_lang = row["subject_language"], row["object_language"]
            self.targets[row["subject_id"]][o_lang] = row["object_id"]
            self.targets[row["object_id"]][s_lang] = row["subject_id"]
            self.labels[s_lang][row["subject_id"]] = row["subject"]
            self.labels[o_lang][row["object_id"]] = row["object"]

    def to(self, iri: str, language: str) -> str | None:
        """The IRI of the entity `iri` in `language`: the link between them, else through one
        other language both link to (a dataset built with `--link_languages en` links every
        language to English only); None where no link names one, or the languages between
        name different entities (never guessed)."""
        linked = self.targets.get(iri, {})
        if language in linked:
            return linked[language]
        through = {self.targets.get(middle, {}).get(language) for middle in linked.values()}
        through -= {None, iri}
        return through.pop() if len(through) == 1 else None


@dataclass(frozen=True)
class Evidence:
    """One evidence language's object for a query, and where the links map it."""

    language: str
    object_id: str
    object: str
    target_object_id: str | None  # the same entity in the target language (None: no link)


@dataclass
class CompletionQuery:
    """A (subject, relation) pair of the target language that only other languages hold."""

    subject_id: str
    subject: str
    relation_id: str
    relation: str
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def evidence_languages(self) -> list[str]:
        return sorted({e.language for e in self.evidence})

    def agreeing_languages(self, target_object_id: str) -> list[str]:
        """Evidence languages whose object is linked to `target_object_id`."""
        return sorted({e.language for e in self.evidence if e.target_object_id == target_object_id})


def target_labels(target: LanguageFacts, links: Links) -> dict[str, str]:
    """Every entity the target language names (its triples and its link ends): IRI -> label."""
    return {**links.labels.get(target.language, {}), **target.labels}


def label_iris(labels: Mapping[str, str]) -> dict[str, list[str]]:
    """label -> the sorted IRIs carrying it (more than one where a name is shared)."""
    by_label: dict[str, list[str]] = defaultdict(list)
    for iri, label in labels.items():
        by_label[label].append(iri)
    return {label: sorted(iris) for label, iris in by_label.items()}


@dataclass
class QueryStats:
    """What happened to the evidence languages' (subject, relation) pairs."""

    evidence_pairs: int = 0
    held_by_target: int = 0
    subject_not_linked: int = 0
    relation_unknown_in_target: int = 0
    queries: int = 0  # asked (after `--limit`)
    queries_beyond_limit: int = 0  # left out by `--limit`
    queries_too_long: int = 0  # left out by `propose.fit_to_model`
    queries_unencodable: int = 0  # names the model cannot encode (`propose.fit_to_model`)
    candidates: int = 0  # the target's candidate labels
    candidates_too_long: int = 0  # left out by `propose.fit_to_model`
    candidates_unreadable: int = 0  # holding a control token's text: left out, likewise
    ambiguous_objects: int = 0  # proposals skipped: merged labels no evidence decides
    invalid_iris: int = 0  # distinct IRIs proposed that are not valid IRIs
    #: relation IRI -> the evidence pairs skipped because the target never uses it
    unknown_relations: Counter[str] = field(default_factory=Counter)
    #: evidence language -> its pairs, and those whose subject no link maps to the target
    pairs_by_language: Counter[str] = field(default_factory=Counter)
    not_linked_by_language: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, int]:
        """Every count (what the command prints and the measure JSON records)."""
        return {k: v for k, v in asdict(self).items() if isinstance(v, int)}

    def unlinked_languages_note(self, target: str) -> str | None:
        """One line naming the evidence languages none of whose pairs' subjects a link maps
        to `target` (they propose nothing), or None when every language reaches it."""
        unlinked = sorted(
            language
            for language, pairs in self.pairs_by_language.items()
            if pairs and self.not_linked_by_language[language] == pairs
        )
        if not unlinked:
            return None
        shown = ", ".join(f"{lang} ({self.pairs_by_language[lang]} pairs)" for lang in unlinked)
        return (
            f"evidence languages with no subject linked to {target} (directly or through one "
            f"language both link to), which propose nothing: {shown}; the dataset's links "
            "config holds no link between them"
        )

    def unknown_relations_note(self, shown: int = 10) -> str | None:
        """One line naming the relation IRIs skipped as unknown in the target (at most
        `shown`, the most frequent first), or None when there are none."""
        if not self.unknown_relations:
            return None
        ranked = sorted(self.unknown_relations.items(), key=lambda item: (-item[1], item[0]))
        names = ", ".join(f"{iri} ({count})" for iri, count in ranked[:shown])
        more = f" and {len(ranked) - shown} more" if len(ranked) > shown else ""
        return (
            f"{self.relation_unknown_in_target} evidence pairs skipped: {len(ranked)} relations "
            f"the target never uses (it names relations by its own labels): {names}{more}"
        )


def completion_queries(
    target: LanguageFacts, evidence: Sequence[LanguageFacts], links: Links
) -> tuple[list[CompletionQuery], QueryStats]:
    """The pairs `evidence` languages hold and `target` lacks, with their evidence.

    A pair counts once per target (subject, relation) however many languages hold it; the
    relation is named by the target's own label of that relation IRI (pairs whose relation
    the target never uses are skipped and counted). Queries are sorted by (subject, relation)
    IRI, evidence by language then object IRI.
    """
    names = target_labels(target, links)
    queries: dict[tuple[str, str], CompletionQuery] = {}
    stats = QueryStats()
    for kb in sorted(evidence, key=lambda kb: kb.language):
        for (subject_id, relation_id), objects in sorted(kb.objects.items()):
            stats.evidence_pairs += 1
            stats.pairs_by_language[kb.language] += 1
            subject = links.to(subject_id, target.language)
            if subject is None or subject not in names:
                stats.subject_not_linked += 1
                stats.not_linked_by_language[kb.language] += 1
                continue
            if (subject, relation_id) in target.objects:
                stats.held_by_target += 1
                continue
            relation = target.relation_labels.get(relation_id)
            if relation is None:
                stats.relation_unknown_in_target += 1
                stats.unknown_relations[relation_id] += 1
                continue
            query = queries.setdefault(
                (subject, relation_id),
                CompletionQuery(subject, names[subject], relation_id, relation),
            )
            for object_id in sorted(objects):
                mapped = links.to(object_id, target.language)
                query.evidence.append(
                    Evidence(kb.language, object_id, kb.labels[object_id], mapped)
                )
    stats.queries = len(queries)
    return [queries[key] for key in sorted(queries)], stats


__all__ = [
    "IRI_FORBIDDEN",
    "LINKS_CONFIG",
    "NON_LANGUAGE_CONFIGS",
    "CompletionQuery",
    "Evidence",
    "LanguageFacts",
    "Links",
    "QueryStats",
    "completion_queries",
    "is_valid_iri_text",
    "label_iris",
    "target_labels",
]
