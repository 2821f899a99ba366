"""The Hub card's `language:` codes for DBpedia / Wikipedia edition codes.

A card's `language:` metadata must hold ISO 639-1, 639-2 or 639-3 codes (two or three
lowercase letters; the Hub's `datasetcard.md` / `modelcard.md` specs and
`huggingface_hub`'s `DatasetCardData` / `ModelCardData`). Datasets and models here name their
languages by edition code (`zh-min-nan`, `bat-smg`, `simple`, CLDR's `zh-hant`), which stay
the config names, the data's language columns and the language tokens; only the cards'
`language:` lists are mapped with `hub_languages`.

`hub_language(code)`:

- a known edition code that is no ISO code, or an ISO-shaped one that names another language
  (`EDITION_ISO_CODES`: Wikipedia's `als` is Alemannic, ISO `gsw`, while ISO 639-3 `als` is
  Tosk Albanian), gives its ISO code;
- any other code of two or three letters is an ISO code and stays (`de`, `nds`);
- otherwise the subtag before the first `-` / `_` when it is two or three letters, mapped the
  same way (`zh-hant` and `zh_Hant` -> `zh`, `pt-br` -> `pt`);
- else no code (`None`): the language is left out of the card's `language:`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from prixlm.data.dbpedia.dumps import LABEL_TAG_ALIASES

#: Wikipedia edition code -> ISO 639 code, for editions whose code is no ISO 639 code or an
#: ISO code of another language. The ISO codes DBpedia tags these editions' labels with
#: (`LABEL_TAG_ALIASES`: `bat-smg` -> `sgs`, `simple` -> `en`, `zh-min-nan` -> `nan`, ...)
#: come first; the others follow Wikimedia's notes on its non-standard codes.
EDITION_ISO_CODES: dict[str, str] = {
    **LABEL_TAG_ALIASES,
    "als": "gsw",  # Alemannic (ISO 639-3 `als`: Tosk Albanian)
    "be-tarask": "be",  # Belarusian, Taraškievica orthography
    "be-x-old": "be",  # the same edition's former code
    "bh": "bho",  # Bhojpuri (ISO 639-1 `bh`: the Bihari languages, deprecated)
    "cbk-zam": "cbk",  # Chavacano
    "eml": "egl",  # Emilian (ISO 639-3 `eml`: Emiliano-Romagnolo, retired)
    "fiu-vro": "vro",  # Võro
    "map-bms": "jv",  # Banyumasan, a dialect of Javanese
    "mo": "ro",  # Moldovan (ISO 639-1 `mo`: deprecated for `ro`)
    "nds-nl": "nds",  # Dutch Low Saxon
    "nrm": "nrf",  # Norman (ISO 639-3 `nrm`: Narom)
    "roa-rup": "rup",  # Aromanian
    "roa-tara": "nap",  # Tarantino, a dialect of Neapolitan
    "zh-classical": "lzh",  # Classical Chinese
}
_ISO = re.compile(r"[a-z]{2,3}")
_SUBTAGS = re.compile(r"[-_]")


def hub_language(code: str) -> str | None:
    """The ISO 639 code the card's `language:` gives the edition `code` (module docstring);
    None for a code with no ISO 639 language (it stays in the configs and the card's body)."""
    normalized = code.strip().lower().replace("_", "-")
    if normalized in EDITION_ISO_CODES:
        return EDITION_ISO_CODES[normalized]
    if _ISO.fullmatch(normalized):
        return normalized
    first = _SUBTAGS.split(normalized, maxsplit=1)[0]
    if first != normalized and _ISO.fullmatch(first):
        return EDITION_ISO_CODES.get(first, first)
    return None


def hub_languages(codes: Iterable[str]) -> list[str]:
    """The card's `language:` list for the edition `codes`: each one's `hub_language`,
    deduplicated and sorted; codes with none are left out."""
    return sorted({iso for iso in map(hub_language, codes) if iso is not None})


__all__ = ["EDITION_ISO_CODES", "hub_language", "hub_languages"]
