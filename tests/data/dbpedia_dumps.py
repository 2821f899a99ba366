"""Small DBpedia dump files in three languages, written by the builder's tests."""

from __future__ import annotations

import bz2
import gzip
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / ".." / "shared" / "dbpedia_samples"
EN, DE, FR = (
    "http://dbpedia.org/resource/",
    "http://de.dbpedia.org/resource/",
    "http://fr.dbpedia.org/resource/",
)
DBO = "http://dbpedia.org/ontology/"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
SAME = "<http://www.w3.org/2002/07/owl#sameAs>"

# entity: (en IRI name, en label, de IRI name, de label (N-Triples literal body), fr IRI, fr label)
ENTITIES = {
    "DE": ("Germany", "Germany", "Deutschland", "Deutschland", "Allemagne", "Allemagne"),
    "FR": ("France", "France", "Frankreich", "Frankreich", "France", "France"),
    "CH": ("Switzerland", "Switzerland", "Schweiz", "Schweiz", "Suisse", "Suisse"),
    "EUR": ("Euro", "euro", "Euro", "Euro", "Euro", "euro"),
    "CHF": ("Swiss_franc", "Swiss franc", "Schweizer_Franken", "Schweizer Franken", None, None),
    "deu": ("German_language", "German", "Deutsche_Sprache", "Deutsch", "Allemand", "allemand"),
    "fra": (
        "French_language",
        "French",
        "Französische_Sprache",
        "Franz\\u00F6sisch",
        "Français",
        "français",
    ),
    "BER": ("Berlin", "Berlin", "Berlin", "Berlin", "Berlin", "Berlin"),
    "PAR": ("Paris", "Paris", "Paris", "Paris", "Paris", "Paris"),
    "BRN": ("Bern", "Bern", "Bern", "Bern", "Berne", "Berne"),
    "CGN": ("Cologne", 'Cologne \\"K\\u00F6ln\\"', "Köln", "K\\u00F6ln", None, None),
}
FACTS = [  # (subject, relation, object) over ENTITIES keys, the same in every language
    ("DE", "currency", "EUR"),
    ("FR", "currency", "EUR"),
    ("CH", "currency", "CHF"),
    ("DE", "officialLanguage", "deu"),
    ("FR", "officialLanguage", "fra"),
    ("CH", "officialLanguage", "deu"),
    ("CH", "officialLanguage", "fra"),
    ("DE", "capital", "BER"),
    ("FR", "capital", "PAR"),
    ("CH", "capital", "BRN"),
    ("BER", "country", "DE"),
    ("PAR", "country", "FR"),
    ("BRN", "country", "CH"),
    ("CGN", "country", "DE"),
]
COLUMN = {"en": 0, "de": 2, "fr": 4}
BASE = {"en": EN, "de": DE, "fr": FR}


def iri(key: str, language: str, percent: bool = False) -> str | None:
    name = ENTITIES[key][COLUMN[language]]
    if name is None:
        return None
    if percent:  # how .nt dumps write non-ASCII: the reader must join both forms
        name = "".join(c if c.isascii() else "".join(f"%{b:02X}" for b in c.encode()) for c in name)
    return BASE[language] + name


def label(key: str, language: str) -> str:
    text = ENTITIES[key][COLUMN[language] + 1]
    return text.encode().decode("unicode_escape").encode("latin-1").decode() if text else text


def write_dumps(folder: Path, suffix: str = "", scheme: str = "2016") -> Path:
    """A three-language dump in one naming scheme, compressed by `suffix` ('', .bz2, .gz)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {
        "2016": ("labels_{}.ttl", "mappingbased_objects_{}.ttl", "interlanguage_links_{}.ttl"),
        "databus": (
            "labels_lang={}.ttl",
            "mappingbased-objects_lang={}.ttl",
            "interlanguage-links_lang={}.ttl",
        ),
    }[scheme]
    for language in ("en", "de", "fr"):
        labels = ["# started 2016-10-04T16:20:50Z"]
        for key in ENTITIES:
            if iri(key, language):
                labels.append(
                    f'<{iri(key, language)}> {LABEL} "{ENTITIES[key][COLUMN[language] + 1]}"@{language} .'
                )
        labels += [
            f'<{EN}Germany> {LABEL} "Federal Republic"@en .',  # a second label: the first wins
            f'<{EN}Paris> {LABEL} "Paname"@fr .',  # another language: ignored
            f'<{EN}Broken {LABEL} "x"@en .',  # malformed
            "# completed 2016-10-04T16:21:00Z",
        ]
        facts = []
        for s, r, o in FACTS:
            if iri(s, language) and iri(o, language):
                facts.append(f"<{iri(s, language, True)}> <{DBO}{r}> <{iri(o, language, True)}> .")
        facts += [
            facts[0],  # duplicate
            f"<{iri('DE', language)}> <{DBO}anthem> <{BASE[language]}Unlabelled> .",
            f'<{iri("DE", language)}> <{DBO}motto> "Einigkeit"@{language} .',
            f"<{iri('DE', language)}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{DBO}Country> .",
        ]
        links = []
        for key in ENTITIES:
            for other in ("en", "de", "fr"):
                if other != language and iri(key, language) and iri(key, other):
                    links.append(f"<{iri(key, language)}> {SAME} <{iri(key, other)}> .")
        links.append(f"<{iri('DE', language)}> {SAME} <http://it.dbpedia.org/resource/Germania> .")
        for name, lines in zip(names, (labels, facts, links), strict=True):
            data = ("\n".join(lines) + "\n").encode()
            path = folder / (name.format(language) + suffix)
            if suffix == ".bz2":
                data = bz2.compress(data)
            elif suffix == ".gz":
                data = gzip.compress(data, mtime=0)
            path.write_bytes(data)
    return folder


def completed_excerpt(name: str, folder: Path) -> Path:
    """The sample `name`; `labels_en.ttl` (a dump's first lines: its `# started` line
    without the `# completed` one, which the reader takes for a dump cut short) copied into
    `folder` with a `# completed` line added."""
    if name != "labels_en.ttl":
        return SAMPLES / name
    copy = folder / name
    copy.write_bytes((SAMPLES / name).read_bytes() + b"# completed 2014-07-25T21:33:18Z\n")
    return copy


def add_lines(path: Path, lines: Iterable[str]) -> None:
    """Add `lines` to the plain dump `path`, before its closing `# completed` line if it has
    one: the reader takes a dump that opens with `# started` and does not close with
    `# completed` for one cut short."""
    text = path.read_text(encoding="utf-8")
    last = text.rstrip("\n").rsplit("\n", 1)[-1]
    body, footer = text, ""
    if last.startswith("# completed"):
        body, footer = text[: len(text.rstrip("\n")) - len(last)], last + "\n"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(body)
        handle.writelines(f"{line}\n" for line in lines)
        handle.write(footer)


def all_triple_rows(rows, language):
    return [row for split_rows in rows.triples[language].values() for row in split_rows]


def documented_draw(*parts: str, seed: int = 0) -> int:
    """The documented draw, re-implemented: md5 of 'seed\\x1fpart\\x1f...', first 8 bytes,
    little-endian."""
    data = "\x1f".join((str(seed), *parts)).encode()
    return int.from_bytes(hashlib.md5(data).digest()[:8], "little")


def documented_split(key: tuple[str, ...], settings: Any) -> str:
    """The split the documented rule gives `key` under `settings` (a `SplitSettings`)."""
    unit = documented_draw(*key, seed=settings.seed) / 2**64
    if unit < settings.test_fraction:
        return "test"
    return "validation" if unit < settings.test_fraction + settings.validation_fraction else "train"
