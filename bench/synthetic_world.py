"""The world of the synthetic dumps: its settings and the concept-level draws.

`World` decides which facts exist (subject, relation, object ids), which a language keeps
and which concepts two languages link; `synthetic_dumps.py` renders them as lines (see its
module doc for the shape). Every draw is a pure function of `(seed, language, concept)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from synthetic_labels import LANGUAGES, Labeller, mix, mix_array, uniform

ONTOLOGY = "http://dbpedia.org/ontology/"
_REAL_RELATIONS = (
    "country", "birthPlace", "deathPlace", "location", "genre", "team", "isPartOf",
    "occupation", "recordLabel", "nationality", "starring", "producer", "writer", "director",
    "region", "department", "almaMater", "associatedBand", "associatedMusicalArtist",
    "language", "timeZone", "hometown", "party", "leaderName", "district", "family",
    "order", "kingdom", "class", "phylum", "genus", "position", "league", "ground",
    "city", "state", "headquarter", "owner", "parentCompany", "successor", "predecessor",
    "spouse", "child", "parent", "religion", "award", "instrument", "musicalArtist",
    "distributor", "network", "publisher", "author", "illustrator", "literaryGenre",
    "doctoralAdvisor", "influencedBy", "architect", "operator", "locatedInArea", "routeEnd",
)  # fmt: skip
_RELATION_WORDS = (
    "related", "notable", "former", "main", "official", "primary", "associated", "secondary",
    "home", "origin", "host", "first", "last", "destination", "source", "training",
)  # fmt: skip
_RELATION_NOUNS = (
    "Place", "Person", "Work", "Organisation", "Event", "Station", "Club", "Region",
    "Language", "Member", "Building", "Sport", "Series", "Venue", "Unit", "Route",
)  # fmt: skip


def relation_names(count: int) -> list[str]:
    """`count` distinct ontology property names: real ones first, then compounds."""
    names = list(_REAL_RELATIONS)
    for word in _RELATION_WORDS:
        for noun in _RELATION_NOUNS:
            names.append(word + noun)
    if count > len(names):
        raise ValueError(f"relations: at most {len(names)}")
    return names[:count]


@dataclass
class SyntheticSettings:
    """The shape of the synthetic dumps (see `synthetic_dumps.py`'s module doc)."""

    languages: list[str]
    entities: int
    seed: int = 0
    relations: int = 300
    fact_share: float = 0.75
    link_share: float = 0.6
    dangling_share: float = 0.05
    relation_exponent: float = 1.1
    object_exponent: float = 0.8


class World:
    """The concept-level draws shared by all languages, and the per-language keys."""

    def __init__(self, settings: SyntheticSettings) -> None:
        self.settings = settings
        self.seed_key = mix(settings.seed * 0x51ED27 + 7)
        ranks = np.arange(1, settings.relations + 1, dtype=np.float64)
        weights = ranks ** (-settings.relation_exponent)
        self.relation_cdf = np.cumsum(weights) / weights.sum()
        self.relations = [f"<{ONTOLOGY}{name}>" for name in relation_names(settings.relations)]
        self.codes = list(settings.languages)
        scripts = dict(LANGUAGES)
        max_id = 2 * settings.entities + 1
        self.labellers = {
            code: Labeller(scripts[code], max_id, self._key("label", index))
            for index, code in enumerate(self.codes)
        }

    def _key(self, purpose: str, *parts: int) -> int:
        key = self.seed_key ^ mix(sum(ord(c) << (5 * k) for k, c in enumerate(purpose)))
        for part in parts:
            key = mix(key ^ (part + 0x9E3779B97F4A7C15))
        return key & 0x7FFFFFFFFFFFFFFF

    def facts(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The world's facts of concepts `start..stop-1`: `(subject, relation, object)` id
        arrays, each `(n,)`, sorted by subject; object ids >= `entities` are unlabelled."""
        settings = self.settings
        ids = np.arange(start, stop, dtype=np.uint64)
        counts = np.array([0, 0, 1, 1, 2, 2, 2, 3, 4, 5], dtype=np.int64)
        draw = (mix_array(ids ^ np.uint64(self._key("count"))) % np.uint64(20)).astype(np.int64)
        per_concept = counts[draw // 2] * (ids > 0)  # concept 0 has nobody more popular
        subjects = np.repeat(ids, per_concept)
        offsets = np.arange(len(subjects)) - np.repeat(
            np.cumsum(per_concept) - per_concept, per_concept
        )
        fact_keys = subjects * np.uint64(8) + offsets.astype(np.uint64)
        relation = np.searchsorted(
            self.relation_cdf, uniform(fact_keys ^ np.uint64(self._key("relation")))
        )
        relation = np.minimum(relation, settings.relations - 1)
        # Objects: a bounded power law P(rank k) ~ (k + 1)^-s over the subject's more
        # popular concepts 0..i-1 (inverse CDF of the continuous law, s < 1).
        u = uniform(fact_keys ^ np.uint64(self._key("object")))
        power = 1.0 - settings.object_exponent
        n = np.maximum(subjects, np.uint64(1)).astype(np.float64)
        rank = np.floor((u * (n**power - 1.0) + 1.0) ** (1.0 / power)) - 1.0
        objects = np.minimum(rank, n - 1.0).astype(np.uint64)
        dangling = uniform(fact_keys ^ np.uint64(self._key("dangling"))) < settings.dangling_share
        objects = np.where(dangling, np.uint64(settings.entities) + subjects, objects)
        return subjects, relation, objects

    def fact_kept(
        self, index: int, subjects: np.ndarray, relation: np.ndarray, objects: np.ndarray
    ) -> np.ndarray:
        keys = (
            (subjects * np.uint64(1 << 20))
            ^ (relation.astype(np.uint64) << np.uint64(40))
            ^ objects
        )
        return uniform(keys ^ np.uint64(self._key("keep", index))) < self.settings.fact_share

    def linked(self, a: int, b: int, ids: np.ndarray) -> np.ndarray:
        """Whether languages `a` and `b` (indices, any order) link each concept of `ids`."""
        key = self._key("link", min(a, b), max(a, b))
        return uniform(ids ^ np.uint64(key)) < self.settings.link_share
