"""How a relation IRI becomes the relation words of a text triple: the one rule.

The dataset build names every relation this way (`officialLanguage` -> `official language`),
so the model is trained on these words; anything that asks the model about a relation (the
probing prompts, for example) names it with the same rule. Every reader (both DBpedia dump
readers through `dbpedia.tables`, the KG-layout reader) names its relations here, so the
names are cleaned as labels are (`arrow_values.clean_label`).
"""

from __future__ import annotations

import re

from prixlm.data.dbpedia.arrow_values import clean_label


def relation_words(iri: str) -> str:
    """A relation name from its IRI's local name: `officialLanguage` -> `official language`.

    Acronyms keep their case (`isoCode` -> `iso code`, `ISOCode` -> `ISO code`, `P19` ->
    `P19`); `_` and `-` become spaces. A bare local name (`officialLanguage`) works too.
    The local name is first cleaned as a label is (`clean_label`: zero-width characters and
    the control characters that are not white space dropped), so that a name holds nothing
    the Hub pipeline refuses in a query (the canonical form of `birth%E2%80%8BPlace` holds a
    zero-width space: -> `birth place`).
    """
    local = clean_label(re.split(r"[/#]", iri.rstrip("/#"))[-1])
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", local)
    words = spaced.replace("_", " ").replace("-", " ").split()
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)


__all__ = ["relation_words"]
