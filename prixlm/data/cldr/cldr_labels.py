"""Per-locale labels of the CLDR entities, made unique per language the way Wikipedia titles are.

Names come from the locale's CLDR display names, with CLDR inheritance as Babel applies it:
`Locale.territories`, `.languages`, `.scripts`, `.currencies`, the time-zone exemplar city
(`Locale.time_zones[zone]["city"]`, else CLDR's fallback: the zone id's last part with `_`
read as a space) and the metazone's long generic name (else its long standard name).
Each name is then cleaned as the dataset build cleans a label (`clean_label` of
`prixlm.data.dbpedia.arrow_values`: the zero-width characters U+200B, U+2060, U+FEFF
and the control characters that are not white space dropped, white space runs, no-break
spaces included, collapsed to one space), so that an exported label is the text the build
stores and the model reads, and the uniqueness rule below holds for those texts (in km,
"Georgia" and "Georgian" differ by a U+200B only).

**Uniqueness rule.** Two names *clash* when they are equal after case folding and reading
`_` as a space (so their DBpedia IRIs could not be told apart). Within each clash group,
entities are ordered by kind (territory, language, script, currency, time zone, city) and
code, and then:

1. the first entity keeps the bare name if no other entity of its kind is in the group
   (the "primary topic": "Latin" stays the language);
2. every other entity gets a qualifier in parentheses, Wikipedia style: the kind's word in
   the label's language ("Latin (script)", "Nauru (city)", "latin (écriture)"), or, for
   locales without a word table (outside the paper's nine, or with a script subtag), the
   entity's CLDR code (es "árabe (Arab)", zh "伯利兹 (America/Belize)");
3. where two entities of the *same* kind clash, all of them are qualified, with the kind
   word and the CLDR code ("Dollar (currency, XYZ)"), a city with the kind word and its
   country's label ("San Juan (city, Argentina)"); without a word table, with the code;
4. if a label still clashes (a qualified label equal to another name), every member of
   that group but the first in the order above gets its CLDR code added to its qualifier
   ("Foo (city)" -> "Foo (city, Asia/Foo)"; a bare name gets "(code)"), repeated until
   every label is unique.

The rule depends only on the locale's names, so it is deterministic. IRIs are built from
the labels (see `dump_format.py`), so they are unique too.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable

from babel import Locale

from prixlm.data.cldr.cldr_facts import Entity, zone_lookup_ids

__all__ = ["KIND_ORDER", "KIND_WORDS", "clash_key", "locale_names", "unique_labels"]

KIND_ORDER: tuple[str, ...] = ("territory", "language", "script", "currency", "timezone", "city")

# The qualifier word of each kind, per paper language (Wikipedia disambiguation style).
KIND_WORDS: dict[str, dict[str, str]] = {
    "en": dict(territory="country", language="language", script="script",
               currency="currency", timezone="time zone", city="city"),
    "de": dict(territory="Staat", language="Sprache", script="Schrift",
               currency="Währung", timezone="Zeitzone", city="Stadt"),
    "fr": dict(territory="pays", language="langue", script="écriture",
               currency="monnaie", timezone="fuseau horaire", city="ville"),
    "it": dict(territory="stato", language="lingua", script="alfabeto",
               currency="valuta", timezone="fuso orario", city="città"),
    "fi": dict(territory="valtio", language="kieli", script="kirjoitusjärjestelmä",
               currency="valuutta", timezone="aikavyöhyke", city="kaupunki"),
    "et": dict(territory="riik", language="keel", script="kiri",
               currency="rahaühik", timezone="ajavöönd", city="linn"),
    "tr": dict(territory="ülke", language="dil", script="yazı sistemi",
               currency="para birimi", timezone="saat dilimi", city="şehir"),
    "hu": dict(territory="ország", language="nyelv", script="írásrendszer",
               currency="pénznem", timezone="időzóna", city="város"),
    "ja": dict(territory="国", language="言語", script="文字",
               currency="通貨", timezone="時間帯", city="都市"),
}  # fmt: skip


# CLDR markup left in a name: `<exemplarCity>అడెలైడ్</exemplarCity>` (kxv_Telu) and a stray
# `<` (`अल आइयून<`, xnr); no CLDR name holds `<` or `>` as text
MARKUP = re.compile(r"</?[A-Za-z][^<>]*>|[<>]")


def _clean(name: str | None, clean_label: Callable[[str], str]) -> str | None:
    """`name` without CLDR markup, cleaned by `clean_label` (the build's); None if nothing
    is left."""
    if not name:
        return None
    return clean_label(MARKUP.sub(" ", name)) or None


def clash_key(label: str) -> str:
    """The form under which two labels count as the same name (case-folded, `_` as space)."""
    return label.replace("_", " ").casefold()


def _city_name(locale: Locale, zone: str) -> str:
    for zone_id in zone_lookup_ids(zone):
        city = locale.time_zones.get(zone_id, {}).get("city")
        if city:
            return city
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def _timezone_name(locale: Locale, metazone: str) -> str | None:
    long_names = locale.meta_zones.get(metazone, {}).get("long", {})
    return long_names.get("generic") or long_names.get("standard")


def locale_names(locale: Locale, entities: Iterable[Entity]) -> dict[Entity, str]:
    """The cleaned CLDR name of each entity that `locale` names (others are left out)."""
    # here, not at the top: importing the exporter (its --help) does not load pyarrow
    from prixlm.data.dbpedia.arrow_values import clean_label

    tables = {
        "territory": locale.territories,
        "language": locale.languages,
        "script": locale.scripts,
        "currency": locale.currencies,
    }
    names: dict[Entity, str] = {}
    for entity in entities:
        if entity.kind == "city":
            raw = _city_name(locale, entity.code)
        elif entity.kind == "timezone":
            raw = _timezone_name(locale, entity.code)
        else:
            raw = tables[entity.kind].get(entity.code)
        name = _clean(raw, clean_label)
        if name is not None:
            names[entity] = name
    return names


def _first_qualifier(
    entity: Entity, words: dict[str, str] | None, same_kind: bool, country: str | None
) -> list[str]:
    """Rules 2 and 3: the qualifier parts of a non-primary member of a clash group."""
    if words is None:
        return [entity.code]
    word = words[entity.kind]
    if not same_kind:
        return [word]
    if entity.kind == "city" and country:
        return [word, country]
    return [word, entity.code]


def _render(name: str, qualifiers: list[str]) -> str:
    return f"{name} ({', '.join(qualifiers)})" if qualifiers else name


def unique_labels(
    names: dict[Entity, str], language: str, city_countries: dict[Entity, Entity]
) -> dict[Entity, str]:
    """Apply the uniqueness rule (module docstring) to one locale's `names`.

    Args:
        names: entity -> cleaned CLDR name in this locale.
        language: the locale's language subtag (`de` for `de_AT`), which picks the word table.
        city_countries: city -> its territory, to qualify clashing cities by country.

    Returns:
        entity -> label, with no two labels sharing a `clash_key`.
    """
    words = KIND_WORDS.get(language)
    qualifiers: dict[Entity, list[str]] = {entity: [] for entity in names}
    for members in _clash_groups({entity: names[entity] for entity in names}):
        kind_counts: dict[str, int] = defaultdict(int)
        for entity in members:
            kind_counts[entity.kind] += 1
        for position, entity in enumerate(members):
            same_kind = kind_counts[entity.kind] > 1
            if position == 0 and not same_kind:
                continue  # rule 1: the primary topic keeps the bare name
            country = (
                names.get(city_countries.get(entity, entity)) if entity.kind == "city" else None
            )
            qualifiers[entity] = _first_qualifier(entity, words, same_kind, country)

    for _round in range(len(KIND_ORDER) + 2):  # rule 4
        labels = {entity: _render(names[entity], qualifiers[entity]) for entity in names}
        groups = _clash_groups(labels)
        if not groups:
            return labels
        for members in groups:
            for entity in members[1:]:
                if entity.code not in qualifiers[entity]:
                    qualifiers[entity].append(entity.code)
                else:
                    qualifiers[entity].append(entity.kind)
    raise RuntimeError(f"labels still clash after qualification: {groups[:3]}")


def _clash_groups(labels: dict[Entity, str]) -> list[list[Entity]]:
    """Groups (of two or more) of entities whose labels clash, each in rule order."""
    rank = {kind: position for position, kind in enumerate(KIND_ORDER)}
    groups: dict[str, list[Entity]] = defaultdict(list)
    for entity, label in labels.items():
        groups[clash_key(label)].append(entity)
    clashing = [members for members in groups.values() if len(members) > 1]
    for members in clashing:
        members.sort(key=lambda entity: (rank[entity.kind], entity.code))
    return sorted(clashing, key=lambda members: (rank[members[0].kind], members[0].code))
