"""Synthetic DBpedia 2016-10 dumps of any size, for the scale benchmark (issue 13).

Run::

    .venv/bin/python bench/synthetic_dumps.py --languages 2 --entities 100000 --output_dir DIR

or `write_dumps(DIR, languages=2, entities=100_000)`. `DIR` (replaced as a whole, written
atomically) then holds, per language, the three files the builder reads, named and written
as the 2016-10 release writes them (`prixlm.data.dbpedia.dumps`): `labels_{code}.ttl`,
`mappingbased_objects_{code}.ttl`, `interlanguage_links_{code}.ttl` (a code's `-` as `_`),
each with the release's `# started` / `# completed` comment lines, raw UTF-8 IRIs and
literals, plus `synthetic_dumps.json` (the settings and the expected counts).

The world: `entities` concepts, numbered by popularity (0 is the most popular). Every
language labels every concept (one `rdfs:label` each, in its own script: Latin with the
language's letters, Cyrillic, Greek, Arabic, Hebrew, Devanagari, kana, Han, Hangul, ...;
3-40 characters, mean about 15, unique within a language) and holds ~1.5 object facts
per concept:

- concept `i` has 0-5 facts (mean 2.0) in every language alike; a language keeps each one
  with probability `fact_share` (0.75), so languages share most facts but not all;
- relations are Zipf-distributed over `relations` ontology properties (exponent 1.1), and
  objects follow a bounded power law (exponent 0.8: the top concept is 1-3% of the
  objects) over the concepts more popular than the subject (so no fact is mirrored by another and no relation is an inverse of another); a share
  `dangling_share` (5%) of objects are IRIs without a label, which the builder drops;
- each pair of languages links concept `i` with probability `link_share` (0.6); a link is
  written in both languages' files (`owl:sameAs`, as the release does).

So an input line count is about `languages * entities * (2.5 + 0.6 * (languages - 1))`.
Everything is a pure function of `(seed, language, concept)` (a 64-bit mix, no state), so
the output does not depend on the chunking, and memory stays flat: the generator holds one
chunk of lines and a bounded cache of popular objects' labels.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prixlm.atomic_output import atomic_folder  # noqa: E402

RDFS_LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
OWL_SAME_AS = "<http://www.w3.org/2002/07/owl#sameAs>"
ONTOLOGY = "http://dbpedia.org/ontology/"
INFO_FILE = "synthetic_dumps.json"
HEADER = "# started 2017-06-29T10:12:03Z\n"
FOOTER = "# completed 2017-06-29T11:48:51Z\n"
CHUNK = 4096  # concepts per block of lines
_M64 = (1 << 64) - 1

# (code, script); ordered so that a few languages already mix scripts, then by size.
LANGUAGES: tuple[tuple[str, str], ...] = (
    ("en", "latin"), ("de", "latin_de"), ("fr", "latin_fr"), ("ja", "kana"), ("ru", "cyrillic"),
    ("zh", "han"), ("ar", "arabic"), ("es", "latin_es"), ("ko", "hangul"), ("el", "greek"),
    ("it", "latin"), ("nl", "latin"), ("pl", "latin_pl"), ("pt", "latin_es"), ("sv", "latin_de"),
    ("he", "hebrew"), ("hi", "devanagari"), ("uk", "cyrillic"), ("fa", "arabic"),
    ("ca", "latin_fr"), ("cs", "latin_pl"), ("hu", "latin_de"), ("fi", "latin_de"),
    ("tr", "latin_tr"), ("et", "latin_de"), ("th", "thai"), ("ka", "georgian"),
    ("hy", "armenian"), ("bn", "bengali"), ("ta", "tamil"), ("zh-yue", "han"),
    ("ro", "latin_pl"), ("da", "latin_de"), ("no", "latin_de"), ("id", "latin"),
    ("vi", "latin_fr"), ("sr", "cyrillic"), ("bg", "cyrillic"), ("sk", "latin_pl"),
    ("eu", "latin"), ("lt", "latin_pl"), ("sl", "latin_pl"), ("hr", "latin_pl"),
    ("eo", "latin"), ("ms", "latin"), ("kk", "cyrillic"), ("be", "cyrillic"), ("gl", "latin_es"),
    ("lv", "latin_pl"), ("ur", "arabic"), ("mr", "devanagari"), ("ne", "devanagari"),
    ("te", "telugu"), ("ml", "malayalam"), ("af", "latin"), ("cy", "latin"), ("ga", "latin_fr"),
    ("is", "latin_de"), ("la", "latin"), ("lb", "latin_de"), ("mk", "cyrillic"),
    ("nn", "latin_de"), ("oc", "latin_fr"), ("sq", "latin_fr"), ("sw", "latin"),
    ("tl", "latin"), ("az", "latin_tr"), ("bs", "latin_pl"), ("br", "latin_fr"),
    ("an", "latin_es"), ("ast", "latin_es"), ("ceb", "latin"), ("war", "latin"),
    ("fy", "latin_de"), ("yi", "hebrew"), ("arz", "arabic"), ("tt", "cyrillic"),
    ("ba", "cyrillic"), ("ky", "cyrillic"), ("mn", "cyrillic"), ("uz", "latin_tr"),
    ("kn", "kannada"), ("gu", "gujarati"), ("pa", "gurmukhi"), ("si", "sinhala"),
    ("my", "myanmar"), ("km", "khmer"), ("lo", "lao"), ("am", "ethiopic"),
    ("be-x-old", "cyrillic"), ("zh-min-nan", "latin_fr"),
)  # fmt: skip

_CONSONANTS = "bcdfghklmnprstvz"
_LATIN_EXTRA = {  # vowels a language adds to a, e, i, o, u
    "latin": "",
    "latin_de": "äöü",
    "latin_fr": "éèêàç",
    "latin_es": "áéíóúñ",
    "latin_pl": "ąęółšž",
    "latin_tr": "ğışçö",
}
_RANGES = {  # script: (consonants or characters, vowel signs or None)
    "cyrillic": ("бвгдзклмнпрстфхцчш", "аеиоуыяю"),
    "greek": ("βγδκλμνπρστφχ", "αεηιουω"),
    "arabic": ("بتجحدرزسشعفقكلمنهوي", "اوي"),
    "hebrew": ("אבגדהוזחטיכלמנסעפצקרשת", "וי"),
    "devanagari": ("कखगचजटडतदनपबमयरलवसह", "ािीुेो"),
    "bengali": ("কখগচজটডতদনপবমযরলসহ", "ািীুেো"),
    "tamil": ("கசடதநபமயரலவழளறன", "ாிீுூெே"),
    "telugu": ("కగచజటడతదనపబమయరలవసహ", "ాిీుూెో"),
    "malayalam": ("കഗചജടഡതദനപബമയരലവസഹ", "ാിീുൂെോ"),
    "kannada": ("ಕಗಚಜಟಡತದನಪಬಮಯರಲವಸಹ", "ಾಿೀುೂೆೋ"),
    "gujarati": ("કગચજટડતદનપબમયરલવસહ", "ાિીુૂેો"),
    "gurmukhi": ("ਕਗਚਜਟਡਤਦਨਪਬਮਯਰਲਵਸਹ", "ਾਿੀੁੂੇੋ"),
    "sinhala": ("කගචජටඩතදනපබමයරලවසහ", "ාිීුූෙො"),
    "thai": ("กขคงจชดตทนบปผพมยรลวสห", "ะาิีุูเ"),
    "lao": ("ກຂຄງຈຊດຕທນບປຜພມຢຣລວສຫ", "ະາິີຸູ"),
    "khmer": ("កខគងចឆជញដតថទនបផពមយរលវសហ", "ាិីឹុូេ"),
    "myanmar": ("ကခဂငစဆဇညတထဒနပဖဗမယရလဝသဟ", "ါာိီုူေ"),
    "georgian": ("ბგდვზთკლმნპჟრსტფქღყშჩცძწჭხჯჰ", "აეიოუ"),
    "armenian": ("բգդզթժլխծկհձղճմյնշչպջռսվտրցփքֆ", "աեէըիոու"),
    "ethiopic": ("ለሐመሠረሰቀበተኀነአከወዐዘየደገጠጰጸፀፈፐ", None),
    "kana": ("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン", None),
    "han": ("".join(chr(c) for c in range(0x4E00, 0x4E00 + 400, 2)), None),
    "hangul": ("".join(chr(0xAC00 + 28 * k) for k in range(399)), None),
}  # fmt: skip
_SPACED = {"han": False, "kana": False, "thai": False, "lao": False, "khmer": False}
_QUALIFIERS = ("film", "album", "band", "river", "city", "village", "footballer", "novel")
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


def _mix(x: int) -> int:
    """splitmix64's finaliser: a 64-bit integer to a well-spread 64-bit integer."""
    x &= _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _mix_array(x: np.ndarray) -> np.ndarray:
    """`_mix` over a `uint64` array (same values)."""
    x = x.astype(np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _uniform(x: np.ndarray) -> np.ndarray:
    """`_mix_array(x)` as floats in [0, 1)."""
    return (_mix_array(x) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def language_codes(count_or_codes: int | Sequence[str]) -> list[str]:
    """The first `count` codes of `LANGUAGES`, or the given codes (checked)."""
    known = dict(LANGUAGES)
    if isinstance(count_or_codes, int):
        if not 1 <= count_or_codes <= len(LANGUAGES):
            raise ValueError(f"--languages {count_or_codes}: between 1 and {len(LANGUAGES)}")
        return [code for code, _ in LANGUAGES[:count_or_codes]]
    unknown = [code for code in count_or_codes if code not in known]
    if unknown or not count_or_codes:
        raise ValueError(f"--languages: unknown codes {unknown}; known: {', '.join(known)}")
    return list(count_or_codes)


def relation_names(count: int) -> list[str]:
    """`count` distinct ontology property names: real ones first, then compounds."""
    names = list(_REAL_RELATIONS)
    for word in _RELATION_WORDS:
        for noun in _RELATION_NOUNS:
            names.append(word + noun)
    if count > len(names):
        raise ValueError(f"relations: at most {len(names)}")
    return names[:count]


def _syllables(script: str) -> tuple[list[str], bool]:
    """The syllables of a script (all of one length in code points) and whether words are
    separated by spaces."""
    if script.startswith("latin"):
        vowels = "aeiou" + _LATIN_EXTRA[script]
        return [c + v for c in _CONSONANTS for v in vowels], True
    consonants, vowels = _RANGES[script]
    if vowels is None:
        return list(consonants), _SPACED.get(script, True)
    return [c + v for c in consonants for v in vowels], _SPACED.get(script, True)


class _Labeller:
    """Label texts of one language: `labels(ids)` gives each concept id a unique label.

    A label is the concept's id written in a fixed number of syllables (so two ids never
    share a label: the head decodes to the id), then 0-3 extra words drawn from a skewed
    vocabulary of 2,048 words and, one label in 8, a qualifier: `Kabemo tesa (film)`.
    Vectorised over a chunk of ids (numpy draws, one string assembly per label).
    """

    def __init__(self, script: str, max_id: int, key: int) -> None:
        syllables, spaced = _syllables(script)
        base = len(syllables)
        pairs = 1  # head = first syllable + `pairs` two-syllable pieces
        while base ** (1 + 2 * pairs) <= max_id:
            pairs += 1
        self.base, self.pairs, self.key = base, pairs, key
        capital = script.startswith("latin") or script in ("cyrillic", "greek", "armenian")
        self.first = [s[0].upper() + s[1:] if capital else s for s in syllables]
        self.two = [a + b for a in syllables for b in syllables]
        vocab = []
        for k in range(2048):
            h = _mix(key ^ ((k + 1) * 0x9E37))
            width = 1 + h % 3
            vocab.append("".join(syllables[(h >> (8 + 8 * j)) % base] for j in range(width)))
        separator = " " if spaced else ""
        self.words = [separator + word for word in vocab]
        self.qualifiers = [f" ({q})" for q in _QUALIFIERS] + [""] * (16 - len(_QUALIFIERS))

    def labels(self, ids: np.ndarray) -> list[str]:
        """The labels of `ids` (`(n,)` non-negative integers), in order."""
        ids = np.asarray(ids, dtype=np.uint64)
        base = np.uint64(self.base)
        first = (ids % base).tolist()
        rest = ids // base
        square = np.uint64(self.base * self.base)
        pieces = []
        for _ in range(self.pairs):
            pieces.append((rest % square).tolist())
            rest = rest // square
        h = _mix_array(ids ^ np.uint64(self.key))
        extra = np.array([0, 1, 1, 1, 2, 2, 3, 0], dtype=np.int64)[
            (h & np.uint64(7)).astype(np.int64)
        ]
        ranks = []
        for k in range(3):
            u = ((h >> np.uint64(3 + 12 * k)) & np.uint64(0xFFF)).astype(np.float64) / 4096.0
            rank = (2048 * u**3).astype(np.int64)  # skewed towards common words
            ranks.append(np.where(extra > k, rank, -1).tolist())
        qualifier = ((h >> np.uint64(50)) & np.uint64(15)).astype(np.int64)
        qualifier = np.where(qualifier < len(_QUALIFIERS), qualifier, 15)
        qualifier = np.where((h >> np.uint64(40)) & np.uint64(3), 15, qualifier).tolist()
        two, words, quals, heads = self.two, self.words, self.qualifiers, []
        if self.pairs == 1:
            heads = [self.first[a] + two[b] for a, b in zip(first, pieces[0], strict=True)]
        else:
            heads = [
                self.first[a] + "".join(two[p[k]] for k in range(self.pairs))
                for a, p in zip(first, zip(*pieces, strict=True), strict=True)
            ]
        empty = ""
        words = [*words, empty]  # rank -1 -> no word
        return [
            head + words[a] + words[b] + words[c] + quals[q]
            for head, a, b, c, q in zip(heads, *ranks, qualifier, strict=True)
        ]

    def label(self, i: int) -> str:
        """The label of one concept id."""
        return self.labels(np.array([i], dtype=np.uint64))[0]


@dataclass
class SyntheticSettings:
    """The shape of the synthetic dumps (see the module doc)."""

    languages: list[str]
    entities: int
    seed: int = 0
    relations: int = 300
    fact_share: float = 0.75
    link_share: float = 0.6
    dangling_share: float = 0.05
    relation_exponent: float = 1.1
    object_exponent: float = 0.8


@dataclass
class DumpCounts:
    """What was written: triple lines per file, and what the builder should keep.

    `facts[code]` are the distinct object facts of a language between labelled concepts;
    `link_pairs[(a, b)]` (a < b, joined as `"a|b"` in JSON) the linked concepts of a pair.
    """

    lines: dict[str, int] = field(default_factory=dict)
    facts: dict[str, int] = field(default_factory=dict)
    link_pairs: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_lines(self) -> int:
        return sum(self.lines.values())

    def expected_links(self, link_languages: Sequence[str] | None = None) -> int:
        """Link rows of the built `links` config (both directions of each kept pair)."""
        pivots = set(link_languages or ())
        return 2 * sum(
            count
            for pair, count in self.link_pairs.items()
            if not pivots or pivots & set(pair.split("|"))
        )


class _World:
    """The concept-level draws shared by all languages, and the per-language keys."""

    def __init__(self, settings: SyntheticSettings) -> None:
        self.settings = settings
        self.seed_key = _mix(settings.seed * 0x51ED27 + 7)
        ranks = np.arange(1, settings.relations + 1, dtype=np.float64)
        weights = ranks ** (-settings.relation_exponent)
        self.relation_cdf = np.cumsum(weights) / weights.sum()
        self.relations = [f"<{ONTOLOGY}{name}>" for name in relation_names(settings.relations)]
        self.codes = list(settings.languages)
        scripts = dict(LANGUAGES)
        max_id = 2 * settings.entities + 1
        self.labellers = {
            code: _Labeller(scripts[code], max_id, self._key("label", index))
            for index, code in enumerate(self.codes)
        }

    def _key(self, purpose: str, *parts: int) -> int:
        key = self.seed_key ^ _mix(sum(ord(c) << (5 * k) for k, c in enumerate(purpose)))
        for part in parts:
            key = _mix(key ^ (part + 0x9E3779B97F4A7C15))
        return key & 0x7FFFFFFFFFFFFFFF

    def facts(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The world's facts of concepts `start..stop-1`: `(subject, relation, object)` id
        arrays, each `(n,)`, sorted by subject; object ids >= `entities` are unlabelled."""
        settings = self.settings
        ids = np.arange(start, stop, dtype=np.uint64)
        counts = np.array([0, 0, 1, 1, 2, 2, 2, 3, 4, 5], dtype=np.int64)
        draw = (_mix_array(ids ^ np.uint64(self._key("count"))) % np.uint64(20)).astype(np.int64)
        per_concept = counts[draw // 2] * (ids > 0)  # concept 0 has nobody more popular
        subjects = np.repeat(ids, per_concept)
        offsets = np.arange(len(subjects)) - np.repeat(
            np.cumsum(per_concept) - per_concept, per_concept
        )
        fact_keys = subjects * np.uint64(8) + offsets.astype(np.uint64)
        relation = np.searchsorted(
            self.relation_cdf, _uniform(fact_keys ^ np.uint64(self._key("relation")))
        )
        relation = np.minimum(relation, settings.relations - 1)
        # Objects: a bounded power law P(rank k) ~ (k + 1)^-s over the subject's more
        # popular concepts 0..i-1 (inverse CDF of the continuous law, s < 1).
        u = _uniform(fact_keys ^ np.uint64(self._key("object")))
        power = 1.0 - settings.object_exponent
        n = np.maximum(subjects, np.uint64(1)).astype(np.float64)
        rank = np.floor((u * (n**power - 1.0) + 1.0) ** (1.0 / power)) - 1.0
        objects = np.minimum(rank, n - 1.0).astype(np.uint64)
        dangling = _uniform(fact_keys ^ np.uint64(self._key("dangling"))) < settings.dangling_share
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
        return _uniform(keys ^ np.uint64(self._key("keep", index))) < self.settings.fact_share

    def linked(self, a: int, b: int, ids: np.ndarray) -> np.ndarray:
        """Whether languages `a` and `b` (indices, any order) link each concept of `ids`."""
        key = self._key("link", min(a, b), max(a, b))
        return _uniform(ids ^ np.uint64(key)) < self.settings.link_share


def _iri_base(code: str) -> str:
    return (
        "http://dbpedia.org/resource/" if code == "en" else f"http://{code}.dbpedia.org/resource/"
    )


def _file_code(code: str) -> str:
    return code.replace("-", "_")


class _Writer:
    """Lines of one language's three files, a chunk of concepts at a time."""

    def __init__(self, world: _World, index: int) -> None:
        self.world, self.index = world, index
        self.code = world.codes[index]
        self.labeller = world.labellers[self.code]
        self.base = _iri_base(self.code)

    def iris(self, ids: np.ndarray) -> list[str]:
        """`<IRI>` of each concept id (`(n,)`): the label with `_` for spaces."""
        base = self.base
        return [f"<{base}{text.replace(' ', '_')}>" for text in self.labeller.labels(ids)]

    def label_lines(self, start: int, stop: int) -> list[str]:
        code = self.code
        texts = self.labeller.labels(np.arange(start, stop, dtype=np.uint64))
        base = self.base
        return [
            f'<{base}{text.replace(" ", "_")}> {RDFS_LABEL} "{text}"@{code} .\n' for text in texts
        ]

    def fact_lines(self, start: int, stop: int) -> tuple[list[str], int]:
        """Lines of the chunk's facts in this language, and how many the builder keeps."""
        world = self.world
        subjects, relation, objects = world.facts(start, stop)
        keep = world.fact_kept(self.index, subjects, relation, objects)
        subjects, relation, objects = subjects[keep], relation[keep], objects[keep]
        subject_iris = self.iris(subjects)
        object_iris = self.iris(objects)
        relations = world.relations
        lines: list[str] = []
        kept = 0
        seen: set[tuple[int, int]] = set()
        previous = -1
        labelled = world.settings.entities
        for s, r, o, s_iri, o_iri in zip(
            subjects.tolist(), relation.tolist(), objects.tolist(), subject_iris, object_iris,
            strict=True,
        ):  # fmt: skip
            if s != previous:
                previous, seen = s, set()
            if (r, o) in seen:
                continue
            seen.add((r, o))
            lines.append(f"{s_iri} {relations[r]} {o_iri} .\n")
            kept += o < labelled
        return lines, kept

    def link_lines(
        self, start: int, stop: int, writers: list[_Writer]
    ) -> tuple[list[str], dict[int, int]]:
        """Link lines of the chunk (grouped by subject), and the linked concepts per other
        language index (counted on the lower index's side only)."""
        ids = np.arange(start, stop, dtype=np.uint64)
        others = [k for k in range(len(writers)) if k != self.index]
        if not others:
            return [], {}
        mask = np.stack([self.world.linked(self.index, k, ids) for k in others])  # (others, n)
        counts = {k: int(mask[row].sum()) for row, k in enumerate(others) if k > self.index}
        own = self.iris(ids)
        other_iris = {k: writers[k].iris(ids) for k in others}
        concept, row = np.nonzero(mask.T)  # by concept, then language
        return [
            f"{own[c]} {OWL_SAME_AS} {other_iris[others[r]][c]} .\n"
            for c, r in zip(concept.tolist(), row.tolist(), strict=True)
        ], counts


def _write_blocks(path: Path, blocks: Iterator[list[str] | Iterator[str]]) -> int:
    """Write the header, the blocks of lines and the footer; the number of triple lines."""
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(HEADER)
        for block in blocks:
            block = list(block)
            count += len(block)
            out.write("".join(block))
        out.write(FOOTER)
    return count


def write_dumps(
    output_dir: str | Path,
    languages: int | Sequence[str] = 2,
    entities: int = 100_000,
    seed: int = 0,
    **settings: float,
) -> DumpCounts:
    """Write the dumps of `languages` (a count or codes) x `entities` into `output_dir`.

    `output_dir` is replaced as a whole (atomically: `.<name>.partial` until complete).
    Extra keyword arguments set `SyntheticSettings` fields. Returns the counts (also in
    `output_dir/synthetic_dumps.json`).
    """
    if entities < 1:
        raise ValueError(f"--entities {entities}: at least 1")
    config = SyntheticSettings(language_codes(languages), entities, seed, **settings)
    world = _World(config)
    writers = [_Writer(world, index) for index in range(len(world.codes))]
    counts = DumpCounts()
    started = time.perf_counter()
    chunks = [(a, min(a + CHUNK, entities)) for a in range(0, entities, CHUNK)]
    with atomic_folder(output_dir, argument="--output_dir") as staging:
        for writer in writers:
            code = _file_code(writer.code)
            name = f"labels_{code}.ttl"
            counts.lines[name] = _write_blocks(
                staging / name, (writer.label_lines(a, b) for a, b in chunks)
            )
            kept = 0

            def fact_blocks(writer: _Writer = writer) -> Iterator[list[str]]:
                nonlocal kept
                for a, b in chunks:
                    lines, chunk_kept = writer.fact_lines(a, b)
                    kept += chunk_kept
                    yield lines

            name = f"mappingbased_objects_{code}.ttl"
            counts.lines[name] = _write_blocks(staging / name, fact_blocks())
            counts.facts[writer.code] = kept

            def link_blocks(writer: _Writer = writer) -> Iterator[list[str]]:
                for a, b in chunks:
                    lines, pairs = writer.link_lines(a, b, writers)
                    for other, count in pairs.items():
                        pair = f"{writer.code}|{writers[other].code}"
                        pair = "|".join(sorted(pair.split("|")))
                        counts.link_pairs[pair] = counts.link_pairs.get(pair, 0) + count
                    yield lines

            name = f"interlanguage_links_{code}.ttl"
            counts.lines[name] = _write_blocks(staging / name, link_blocks())
        counts.seconds = time.perf_counter() - started
        info = {"settings": asdict(config), "counts": asdict(counts)}
        (staging / INFO_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")
    return counts


def read_counts(dump_dir: str | Path) -> DumpCounts:
    """The counts `write_dumps` recorded in `dump_dir`."""
    info = json.loads((Path(dump_dir) / INFO_FILE).read_text(encoding="utf-8"))
    return DumpCounts(**info["counts"])


def dataset_row_counts(dataset_dir: str | Path) -> dict[str, dict[str, int]]:
    """`{config: {split: rows}}` of a built dataset folder, from its card's `configs:` (the
    data files of each split) and the Parquet footers; the `all` config is left out."""
    import pyarrow.parquet as pq
    import yaml

    dataset_dir = Path(dataset_dir)
    card = (dataset_dir / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(card.split("---\n")[1])
    counts: dict[str, dict[str, int]] = {}
    for config in header["configs"]:
        if config["config_name"] == "all":
            continue
        splits = counts.setdefault(config["config_name"], {})
        for entry in config["data_files"]:
            paths = [entry["path"]] if isinstance(entry["path"], str) else entry["path"]
            splits[entry["split"]] = sum(
                pq.ParquetFile(dataset_dir / path).metadata.num_rows for path in paths
            )
    return counts


def expected_row_counts(
    counts: DumpCounts, link_languages: Sequence[str] | None = None
) -> dict[str, int]:
    """Rows a build of the dumps should have per config (all splits together): each
    language's kept facts, and both directions of the kept link pairs."""
    return {**counts.facts, "links": counts.expected_links(link_languages)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", type=int, default=2, help="number of languages (max 90)")
    parser.add_argument("--entities", type=int, default=100_000, help="concepts per language")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output_dir", required=True, help="folder to (re)place")
    args = parser.parse_args(argv)
    try:
        counts = write_dumps(args.output_dir, args.languages, args.entities, args.seed)
    except ValueError as error:
        parser.error(str(error))
    rate = counts.total_lines / counts.seconds
    print(
        f"{args.output_dir}: {counts.total_lines:,} lines in {counts.seconds:.1f} s "
        f"({rate / 1e3:.0f}k lines/s); facts kept {sum(counts.facts.values()):,}, "
        f"link pairs {sum(counts.link_pairs.values()):,}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
