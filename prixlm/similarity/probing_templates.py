"""Probing templates for the CLDR KB's ten relations in the paper's nine languages.

Written for this project in mLAMA's style (`[X]` the subject, `[Y]` the answer, a space
before the final full stop in space-separated languages). In Finnish, Estonian and Turkish,
where a case ending would have to be glued to a label, the templates put the label before a
colon ("[X]: virallinen kieli on [Y] .") so that labels stay uninflected; Hungarian uses the
possessive on the noun ("[X] hivatalos nyelve: [Y] ."). Every template has text on both
sides of `[Y]`: Prix-LM's template prompt puts the left part in its subject segment and the
right part in its relation segment (`prixlm.similarity.probing`).
"""

from __future__ import annotations

from prixlm.data.cldr.cldr_facts import RELATIONS  # the KB's relations, in _TABLE's order

_TABLE = {
    "en": (
        "The official language of [X] is [Y] .",
        "A regional language of [X] is [Y] .",
        "A language spoken in [X] is [Y] .",
        "The currency of [X] is [Y] .",
        "A former currency of [X] is [Y] .",
        "[X] is written in [Y] .",
        "[X] is mainly spoken in [Y] .",
        "[X] is mainly used to write [Y] .",
        "[X] is a city in [Y] .",
        "[X] is in the time zone [Y] .",
    ),
    "de": (
        "Die Amtssprache von [X] ist [Y] .",
        "Eine Regionalsprache von [X] ist [Y] .",
        "Eine in [X] gesprochene Sprache ist [Y] .",
        "Die Währung von [X] ist [Y] .",
        "Eine frühere Währung von [X] ist [Y] .",
        "[X] wird in der Schrift [Y] geschrieben .",
        "[X] wird hauptsächlich in [Y] gesprochen .",
        "Die Schrift [X] wird hauptsächlich für [Y] verwendet .",
        "[X] ist eine Stadt in [Y] .",
        "[X] liegt in der Zeitzone [Y] .",
    ),
    "fr": (
        "La langue officielle de [X] est [Y] .",
        "Une langue régionale de [X] est [Y] .",
        "Une langue parlée en [X] est [Y] .",
        "La monnaie de [X] est [Y] .",
        "Une ancienne monnaie de [X] est [Y] .",
        "[X] s'écrit avec l'écriture [Y] .",
        "[X] est surtout parlé en [Y] .",
        "L'écriture [X] sert surtout à écrire [Y] .",
        "[X] est une ville de [Y] .",
        "[X] est dans le fuseau horaire [Y] .",
    ),
    "it": (
        "La lingua ufficiale di [X] è [Y] .",
        "Una lingua regionale di [X] è [Y] .",
        "Una lingua parlata in [X] è [Y] .",
        "La valuta di [X] è [Y] .",
        "Una ex valuta di [X] è [Y] .",
        "[X] si scrive con l'alfabeto [Y] .",
        "[X] è parlato soprattutto in [Y] .",
        "L'alfabeto [X] si usa soprattutto per [Y] .",
        "[X] è una città di [Y] .",
        "[X] è nel fuso orario [Y] .",
    ),
    "fi": (
        "[X]: virallinen kieli on [Y] .",
        "[X]: alueellinen kieli on [Y] .",
        "[X]: puhuttu kieli on [Y] .",
        "[X]: valuutta on [Y] .",
        "[X]: entinen valuutta on [Y] .",
        "[X]: kirjoitusjärjestelmä on [Y] .",
        "[X]: pääasiallinen maa on [Y] .",
        "[X]: pääasiallinen kieli on [Y] .",
        "[X]: kaupungin maa on [Y] .",
        "[X]: aikavyöhyke on [Y] .",
    ),
    "et": (
        "[X]: ametlik keel on [Y] .",
        "[X]: piirkondlik keel on [Y] .",
        "[X]: räägitav keel on [Y] .",
        "[X]: rahaühik on [Y] .",
        "[X]: endine rahaühik on [Y] .",
        "[X]: kiri on [Y] .",
        "[X]: peamine riik on [Y] .",
        "[X]: peamine keel on [Y] .",
        "[X]: linna riik on [Y] .",
        "[X]: ajavöönd on [Y] .",
    ),
    "tr": (
        "[X]: resmi dil [Y] .",
        "[X]: bölgesel dil [Y] .",
        "[X]: konuşulan dil [Y] .",
        "[X]: para birimi [Y] .",
        "[X]: eski para birimi [Y] .",
        "[X]: yazı sistemi [Y] .",
        "[X]: ana ülke [Y] .",
        "[X]: ana dil [Y] .",
        "[X]: şehrin ülkesi [Y] .",
        "[X]: saat dilimi [Y] .",
    ),
    "hu": (
        "[X] hivatalos nyelve: [Y] .",
        "[X] regionális nyelve: [Y] .",
        "[X] egyik beszélt nyelve: [Y] .",
        "[X] pénzneme: [Y] .",
        "[X] egykori pénzneme: [Y] .",
        "[X] írásrendszere: [Y] .",
        "[X] fő országa: [Y] .",
        "[X] fő nyelve: [Y] .",
        "[X] országa: [Y] .",
        "[X] időzónája: [Y] .",
    ),
    "ja": (
        "[X]の公用語は[Y]です。",
        "[X]の地域言語は[Y]です。",
        "[X]で話される言語は[Y]です。",
        "[X]の通貨は[Y]です。",
        "[X]のかつての通貨は[Y]です。",
        "[X]は[Y]で書かれます。",
        "[X]は主に[Y]で話されます。",
        "[X]は主に[Y]を書くのに使われます。",
        "[X]は[Y]の都市です。",
        "[X]の時間帯は[Y]です。",
    ),
}

#: language -> relation -> template.
TEMPLATES: dict[str, dict[str, str]] = {
    language: dict(zip(RELATIONS, templates, strict=True)) for language, templates in _TABLE.items()
}

__all__ = ["RELATIONS", "TEMPLATES"]
