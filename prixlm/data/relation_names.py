"""How a relation IRI becomes the relation words of a text triple: the one rule.

The dataset build names every relation this way (`officialLanguage` -> `official language`),
so the model is trained on these words; anything that asks the model about a relation (the
probing prompts, for example) names it with the same rule.
"""

from __future__ import annotations

import re


def relation_words(iri: str) -> str:
    """A relation name from its IRI's local name: `officialLanguage` -> `official language`.

    Acronyms keep their case (`isoCode` -> `iso code`, `ISOCode` -> `ISO code`, `P19` ->
    `P19`); `_` and `-` become spaces. A bare local name (`officialLanguage`) works too.
    """
    local = re.split(r"[/#]", iri.rstrip("/#"))[-1]
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", local)
    words = spaced.replace("_", " ").replace("-", " ").split()
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)


__all__ = ["relation_words"]
