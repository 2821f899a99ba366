"""The tiny release's candidates and links (shared by the release tests and their fixtures)."""

from __future__ import annotations

#: Candidates per language of the release (the tiny KB's objects and subjects).
CANDIDATES = {
    "en": ["euro", "German", "French", "Japanese yen", "Japanese", "Swiss franc", "Germany"],
    "de": ["Euro", "Deutschland", "Französisch", "Frankreich"],
}
#: Relation names per language of the release (the tiny KB's: German names in de).
RELATIONS = {"en": ["currency", "official language"], "de": ["Amtssprache", "Währung"]}
LINKS = [("Germany", "en", "de", "Deutschland"), ("France", "en", "de", "Frankreich")]
