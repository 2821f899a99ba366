"""The language-independent CLDR graph: entities keyed by CLDR codes and the facts between them.

Every fact comes from CLDR's supplemental data as shipped by Babel (`babel.core.get_global`);
no locale is read here. Labels (per locale) live in `cldr_labels.py`.

Entities (`Entity.kind`, `Entity.code`):

| kind | code | source |
|---|---|---|
| `territory` | ISO 3166 region, e.g. `DE` | two-letter codes of `territory_languages`, `territory_currencies`, `zone_territories`, `likely_subtags` |
| `language` | base language subtag, e.g. `de` (script variants such as `az_Arab` fold into `az`) | `territory_languages`, `likely_subtags` |
| `script` | ISO 15924, e.g. `Latn` | `likely_subtags` |
| `currency` | ISO 4217, e.g. `EUR` | `territory_currencies` |
| `city` | the city's IANA time-zone id, e.g. `Europe/Berlin` (the zone's exemplar city) | `zone_territories` |
| `timezone` | CLDR metazone, e.g. `Europe_Central` ("Central European Time") | `meta_zones` |

Time zones are *metazones* (the named, localised zones such as "Central European Time"),
not IANA zones: an IANA zone is named after its exemplar city, which is already the `city`
entity. Macro-regions (`001`, `150`, `EU`, `UN`, ...) and `ZZ` take part in no fact.

Relations (DBpedia-ontology-style local names; `name.split` into words reads as English):

| relation | subject -> object | rule |
|---|---|---|
| `officialLanguage` | territory -> language | `official_status` is `official` or `de_facto_official` |
| `regionalLanguage` | territory -> language | `official_status` is `official_regional` |
| `spokenLanguage` | territory -> language | listed with no official status (any population share) |
| `currency` | territory -> currency | legal tender with no end date |
| `formerCurrency` | territory -> currency | legal tender that ended (and is not also current there) |
| `script` | language -> script | the script of the language's likely subtags (`de` -> `de_Latn_DE`) |
| `mainTerritory` | language -> territory | the region of the language's likely subtags (countries only) |
| `mainLanguage` | script -> language | the language of the script's likely subtags (`und_Cyrl` -> `ru_Cyrl_RU`; `und` -> `en_Latn_US` for Latin) |
| `country` | city -> territory | `zone_territories` |
| `timeZone` | city -> timezone | the zone's current metazone (`meta_zones`) |
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

from babel.core import get_global

__all__ = [
    "RELATIONS",
    "Entity",
    "Fact",
    "city_countries",
    "cldr_entities",
    "cldr_facts",
    "cldr_version",
    "zone_lookup_ids",
]

RELATIONS: tuple[str, ...] = (
    "officialLanguage",
    "regionalLanguage",
    "spokenLanguage",
    "currency",
    "formerCurrency",
    "script",
    "mainTerritory",
    "mainLanguage",
    "country",
    "timeZone",
)

_OFFICIAL_STATUS_RELATION = {
    "official": "officialLanguage",
    "de_facto_official": "officialLanguage",
    "official_regional": "regionalLanguage",
    None: "spokenLanguage",
}
# Strongest first: when a language folds from several script variants, the strongest status wins.
_STATUS_RANK = {"officialLanguage": 0, "regionalLanguage": 1, "spokenLanguage": 2}
# Two-letter codes that are not countries or dependencies.
_NON_COUNTRY_CODES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})
# Codes for "unknown", "none", "several" or testing, which are no real entities.
_PLACEHOLDER_CODES = frozenset(
    {
        "und",
        "mul",
        "mis",
        "zxx",
        "Zinh",
        "Zmth",
        "Zsye",
        "Zsym",
        "Zxxx",
        "Zyyy",
        "Zzzz",
        "XTS",
        "XXX",
    }
)


class Entity(NamedTuple):
    """One KB entity: its kind (`territory`, `language`, ...) and its CLDR code."""

    kind: str
    code: str


class Fact(NamedTuple):
    """One object fact `(subject, relation, object)`; `relation` is one of `RELATIONS`."""

    subject: Entity
    relation: str
    object: Entity


def cldr_version() -> str:
    """The CLDR release of Babel's data, e.g. `"47"`."""
    return str(get_global("cldr")["version"])


def _is_country(code: str) -> bool:
    return len(code) == 2 and code.isalpha() and code not in _NON_COUNTRY_CODES


def _base_language(tag: str) -> str:
    return tag.split("_")[0]


def _territory_language_facts() -> Iterator[Fact]:
    for territory, languages in get_global("territory_languages").items():
        if not _is_country(territory):
            continue
        strongest: dict[str, str] = {}
        for tag, info in languages.items():
            relation = _OFFICIAL_STATUS_RELATION[info["official_status"]]
            language = _base_language(tag)
            current = strongest.get(language)
            if current is None or _STATUS_RANK[relation] < _STATUS_RANK[current]:
                strongest[language] = relation
        for language, relation in strongest.items():
            yield Fact(Entity("territory", territory), relation, Entity("language", language))


def _territory_currency_facts() -> Iterator[Fact]:
    for territory, spans in get_global("territory_currencies").items():
        if not _is_country(territory):
            continue
        tender = [(code, end) for code, _start, end, is_tender in spans if is_tender]
        current = {code for code, end in tender if end is None}
        former = {code for code, end in tender if end is not None} - current
        for code in current:
            yield Fact(Entity("territory", territory), "currency", Entity("currency", code))
        for code in former:
            yield Fact(Entity("territory", territory), "formerCurrency", Entity("currency", code))


def _likely_subtag_facts() -> Iterator[Fact]:
    for key, likely in get_global("likely_subtags").items():
        parts = likely.split("_")
        if len(parts) != 3:
            continue
        language, script, region = parts
        if key == "und":
            if f"und_{script}" not in get_global("likely_subtags"):
                # "und" -> "en_Latn_US" is the likely-subtags answer for "und_Latn" too.
                yield Fact(Entity("script", script), "mainLanguage", Entity("language", language))
        elif key.isalpha() and key.islower():  # a bare language code, e.g. "de"
            subject = Entity("language", key)
            yield Fact(subject, "script", Entity("script", script))
            if _is_country(region):
                yield Fact(subject, "mainTerritory", Entity("territory", region))
        elif key.startswith("und_") and len(key) == 8 and key[4:] == script:  # "und_Cyrl"
            yield Fact(Entity("script", script), "mainLanguage", Entity("language", language))


def zone_lookup_ids(zone: str) -> tuple[str, ...]:
    """The ids under which CLDR data may hold `zone`: itself, then its aliases, sorted.

    `zone_territories` uses current IANA ids (`Asia/Kolkata`) while locale time-zone names and
    `meta_zones` may use CLDR's older canonical ids (`Asia/Calcutta`).
    """
    return (zone, *_zone_aliases().get(zone, ()))


@lru_cache(maxsize=1)
def _zone_aliases() -> dict[str, tuple[str, ...]]:
    aliases: dict[str, list[str]] = {}
    for alias, target in get_global("zone_aliases").items():
        aliases.setdefault(target, []).append(alias)
    return {zone: tuple(sorted(names)) for zone, names in aliases.items()}


def _city_facts() -> Iterator[Fact]:
    meta_zones = get_global("meta_zones")
    for zone, territory in get_global("zone_territories").items():
        if zone.startswith("Etc/") or not _is_country(territory):
            continue
        city = Entity("city", zone)
        yield Fact(city, "country", Entity("territory", territory))
        metazone = next((meta_zones[z] for z in zone_lookup_ids(zone) if z in meta_zones), None)
        if metazone is not None:
            yield Fact(city, "timeZone", Entity("timezone", metazone))


@lru_cache(maxsize=1)
def cldr_facts() -> tuple[Fact, ...]:
    """Every fact of the CLDR graph, sorted and without duplicates."""
    facts = {
        *_territory_language_facts(),
        *_territory_currency_facts(),
        *_likely_subtag_facts(),
        *_city_facts(),
    }
    return tuple(
        sorted(
            fact
            for fact in facts
            if fact.subject.code not in _PLACEHOLDER_CODES
            and fact.object.code not in _PLACEHOLDER_CODES
        )
    )


@lru_cache(maxsize=1)
def cldr_entities() -> tuple[Entity, ...]:
    """Every entity that takes part in a fact, sorted."""
    return tuple(
        sorted({entity for fact in cldr_facts() for entity in (fact.subject, fact.object)})
    )


@lru_cache(maxsize=1)
def city_countries() -> dict[Entity, Entity]:
    """City -> its territory (the `country` facts)."""
    return {fact.subject: fact.object for fact in cldr_facts() if fact.relation == "country"}
