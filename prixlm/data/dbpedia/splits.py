"""Deterministic splits, the inverse-relation leakage filter and the filter lists.

**Split protocols** (`SplitSettings.protocol`):

* `language` (the paper, §3.2): per language, the text triples are ranked by a hash of
  `(language, subject IRI, relation IRI, object IRI)`; the first 10% are test, the next
  `validation_fraction` validation, the rest train. Exact counts, independent of file order.
  The same fact may then be test in one language and train in another.
* `fact` (default): a fact is `(entity_id(s), relation IRI, entity_id(o))`, with entity ids
  from the links (`construction.KnowledgeBase.entity_id`). Distinct facts over all
  languages are ranked by hash and split 10% / `validation_fraction` / rest, and every
  language's copy of a fact goes to the fact's split: no fact is test in one language and
  train in another. The honest protocol when languages hold the same facts (CLDR).

**Inverse-relation filter** (after Akrami et al., 2020, "Realistic Re-evaluation of
Knowledge Graph Completion Methods"). From the training triples of all languages, with
entities keyed by IRI (`language` protocol) or entity id (`fact` protocol), let `T_r` be the
set of `(s, o)` pairs of relation `r`. Relation `r2` is an *inverse* of `r1` (possibly
`r2 == r1`, a symmetric relation) when

    |{(s, o) in T_r1 : (o, s) in T_r2}| / |T_r1|  >=  inverse_threshold   (default 0.1).

Akrami et al. ask for the same ratio over `|T_r2|` too, at 0.8, which finds near-duplicate
relations only. We ask only for the coverage of `r1`, and at 0.1, because any systematic
mirror gives away the mirrored test triples, however large `r2` is and however the mirror
is spread over several relations (CLDR: a language's "main territory" is mirrored 53% by a
territory's "spoken language", 18% by "official language", 13% by "regional language");
coincidental reverse pairs in a real KB cover far less than 10% of a relation.
A validation or test triple `(s, r1, o)` is removed when
`(o, r2, s)` is a training triple for an inverse `r2` of `r1`.

**Filter lists**: every row carries `all_objects`, the sorted labels of every true object of
its `(subject, relation)` text query in its language, over all splits and before any
filtering (for links: of `(subject language, subject, object language)`). The filtered setting (Bordes et
al., 2013; the paper's footnote 6) removes these from the ranking, except the gold.

**Length filter**: with `sequence_length` given (the tokenised length of a row), rows of
`max_length` (30) tokens or more are dropped before splitting, as in the paper (§3.1).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prixlm.data.dbpedia.construction import KnowledgeBase
from prixlm.data.dbpedia.schema import (
    COLUMNS,
    PROTOCOLS,
    SPLITS,
    Row,
    SplitSettings,
    link_row,
    order_key,
    triple_row,
)

SequenceLength = Callable[[Row], int]


@dataclass
class LanguageStats:
    """Counts of one language for the dataset card (paper Table 1 and more)."""

    labelled_entities: int = 0
    entities: int = 0
    triples: int = 0
    splits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    removed_inverse: int = 0
    removed_length: int = 0
    links: int = 0


@dataclass
class DatasetRows:
    """The rows of every config: `triples[language][split]` and the `links` (train only).

    Rows are `schema.Row`s, in a fixed pseudo-random order (by hash of `schema.order_key`).
    """

    triples: dict[str, dict[str, list[Row]]]
    links: list[Row]
    stats: dict[str, LanguageStats]
    inverse_relations: dict[str, list[str]]
    settings: SplitSettings


def rank(*parts: str, seed: int = 0) -> int:
    """A deterministic 64-bit hash of `parts` (the same in every process and platform)."""
    data = "\x1f".join((str(seed), *parts)).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def split_by_rank(keys: list, settings: SplitSettings) -> dict:
    """`{key: split}`: keys sorted by `rank`, the first `test_fraction` test, then validation."""
    ordered = sorted(dict.fromkeys(keys), key=lambda k: (rank(*k, seed=settings.seed), k))
    n_test = round(settings.test_fraction * len(ordered))
    n_validation = round(settings.validation_fraction * len(ordered))
    return {
        key: "test" if i < n_test else "validation" if i < n_test + n_validation else "train"
        for i, key in enumerate(ordered)
    }


def inverse_relations(train: list[tuple[str, str, str]], threshold: float) -> dict[str, list[str]]:
    """`{r1: [r2, ...]}` where `r2` mirrors at least `threshold` of `r1`'s training pairs.

    `train` holds `(s, r, o)` key triples (see the module doc for the rule).
    """
    pairs: dict[str, set[tuple[str, str]]] = {}
    relations_of_pair: dict[tuple[str, str], set[str]] = {}
    for s, r, o in train:
        pairs.setdefault(r, set()).add((s, o))
        relations_of_pair.setdefault((s, o), set()).add(r)
    inverses: dict[str, list[str]] = {}
    for r1 in sorted(pairs):
        overlap: Counter[str] = Counter()
        for s, o in pairs[r1]:
            overlap.update(relations_of_pair.get((o, s), ()))
        mirrored = sorted(r2 for r2, n in overlap.items() if n / len(pairs[r1]) >= threshold)
        if mirrored:
            inverses[r1] = mirrored
    return inverses


def _filter_lists(
    answers: Iterable[tuple[tuple[str, ...], str]],
) -> dict[tuple[str, ...], list[str]]:
    """`{query: sorted true objects}` from `(query, object)` pairs (see `schema`)."""
    objects: dict[tuple[str, ...], set[str]] = {}
    for query, obj in answers:
        objects.setdefault(query, set()).add(obj)
    return {query: sorted(values) for query, values in objects.items()}


def _text_rows(kb: KnowledgeBase, language: str) -> list[Row]:
    """One row per distinct text triple of `language` (the first by IRIs), with filter lists."""
    facts = kb.by_language[language]
    labels = facts.labels
    texts: dict[tuple[str, str, str], tuple[str, str, str]] = {}  # text -> IRIs
    for s, r, o in sorted(facts.facts):
        texts.setdefault((labels[s], kb.relation_name(language, r), labels[o]), (s, r, o))
    lists = _filter_lists(((subject, relation), obj) for subject, relation, obj in texts)
    return [triple_row(language, text, iris, lists[text[:2]]) for text, iris in texts.items()]


def build_rows(
    kb: KnowledgeBase,
    settings: SplitSettings | None = None,
    sequence_length: SequenceLength | None = None,
) -> DatasetRows:
    """Split, filter and order the rows of every language and of the links."""
    settings = settings or SplitSettings()
    stats = {language: LanguageStats() for language in kb.languages}
    key = kb.entity_id if settings.protocol == "fact" else (lambda iri: iri)

    kept: dict[str, list[Row]] = {}
    for language in kb.languages:
        rows = _text_rows(kb, language)
        stats[language].labelled_entities = len(kb.by_language[language].labels)
        if sequence_length is not None:
            short = [row for row in rows if sequence_length(row) < settings.max_length]
            stats[language].removed_length = len(rows) - len(short)
            rows = short
        kept[language] = rows

    def split_key(row: Row) -> tuple[str, ...]:
        if settings.protocol == "fact":
            return (key(row.subject_id), row.relation_id, key(row.object_id))
        return (row.subject_language, row.subject_id, row.relation_id, row.object_id)

    if settings.protocol == "fact":  # one ranking of the distinct facts of all languages
        split_of = split_by_rank(
            [split_key(row) for rows in kept.values() for row in rows], settings
        )
    else:  # the paper: an independent ranking per language
        split_of = {}
        for rows in kept.values():
            split_of.update(split_by_rank([split_key(row) for row in rows], settings))
    train = [
        (key(row.subject_id), row.relation_id, key(row.object_id))
        for rows in kept.values()
        for row in rows
        if split_of[split_key(row)] == "train"
    ]
    inverses = inverse_relations(train, settings.inverse_threshold)
    train_pairs = {(s, r, o) for s, r, o in train if r in _mirroring(inverses)}

    triples: dict[str, dict[str, list[Row]]] = {}
    for language, rows in kept.items():
        by_split: dict[str, list[Row]] = {split: [] for split in SPLITS}
        for row in rows:
            split = split_of[split_key(row)]
            s, r, o = key(row.subject_id), row.relation_id, key(row.object_id)
            if split != "train" and any((o, r2, s) in train_pairs for r2 in inverses.get(r, ())):
                stats[language].removed_inverse += 1
                continue
            by_split[split].append(row)
        for split, split_rows in by_split.items():
            split_rows.sort(key=lambda row: _order(row, settings.seed))
            stats[language].splits[split] = len(split_rows)
        triples[language] = by_split
        stats[language].triples = sum(len(v) for v in by_split.values())
        stats[language].entities = len(
            {iri for v in by_split.values() for row in v for iri in (row.subject_id, row.object_id)}
        )

    links = _link_rows(kb, sequence_length, settings, stats)
    return DatasetRows(triples, links, stats, inverses, settings)


def _mirroring(inverses: dict[str, list[str]]) -> set[str]:
    return {r2 for mirrored in inverses.values() for r2 in mirrored}


def _order(row: Row, seed: int) -> tuple[int, tuple[str, ...]]:
    """The sort key of a row within its split: hash of its identity, then the identity."""
    identity = order_key(row)
    return rank(*identity, seed=seed), identity


def _link_rows(
    kb: KnowledgeBase,
    sequence_length: SequenceLength | None,
    settings: SplitSettings,
    stats: dict[str, LanguageStats],
) -> list[Row]:
    """Both directions of every link, length-filtered, with their filter lists, by hash."""

    def directions() -> Iterator[tuple[tuple[str, str, str], tuple[str, str, str]]]:
        for (lang_a, iri_a), (lang_b, iri_b) in kb.links:
            end_a = (lang_a, iri_a, kb.by_language[lang_a].labels[iri_a])
            end_b = (lang_b, iri_b, kb.by_language[lang_b].labels[iri_b])
            yield end_a, end_b
            yield end_b, end_a

    lists = _filter_lists(((s[0], s[2], o[0]), o[2]) for s, o in directions())
    rows = [link_row(s, o, lists[(s[0], s[2], o[0])]) for s, o in directions()]
    if sequence_length is not None:
        rows = [row for row in rows if sequence_length(row) < settings.max_length]
    for row in rows:
        stats[row.subject_language].links += 1
    rows.sort(key=lambda row: _order(row, settings.seed))
    return rows


__all__ = [
    "COLUMNS",
    "PROTOCOLS",
    "SPLITS",
    "DatasetRows",
    "LanguageStats",
    "Row",
    "SequenceLength",
    "SplitSettings",
    "build_rows",
    "inverse_relations",
    "rank",
    "split_by_rank",
]
