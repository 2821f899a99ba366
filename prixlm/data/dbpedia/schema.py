"""The dataset's schema in one place: rows, configs, splits and their defaults, RDF terms.

Every config and split holds rows of one type, `Row` (the Parquet columns, in order):

| column | meaning |
|---|---|
| `kind` | `TRIPLE` (`"triple"`) or `LINK` (`"link"`) |
| `subject`, `relation`, `object` | labels; `relation` is `""` for links |
| `subject_language`, `object_language` | language codes (equal for triples) |
| `subject_id`, `relation_id`, `object_id` | source IRIs (`relation_id` `""` for links) |
| `all_objects` | every true object label of the row's query, sorted (filtered setting) |

The query of a triple is `(subject, relation)` in its language; of a link,
`(subject_language, subject, object_language)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from prixlm.data.ntriples import XSD_STRING


class Row(NamedTuple):
    """One dataset row: a triple or one direction of a link (see the module doc)."""

    kind: str
    subject: str
    relation: str
    object: str
    subject_language: str
    object_language: str
    subject_id: str
    relation_id: str
    object_id: str
    all_objects: list[str] | None


COLUMNS: tuple[str, ...] = Row._fields
TRIPLE = "triple"
LINK = "link"

SPLITS = ("train", "validation", "test")
LINKS = "links"  # the config of the cross-lingual links (train only)
ALL = "all"  # every language's train triples + links; validation/test: the languages' union
PROTOCOLS = ("fact", "language")

# RDF vocabulary read from (and written to) DBpedia-format dumps.
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
OWL_SAME_AS = "http://www.w3.org/2002/07/owl#sameAs"
DBPEDIA_ONTOLOGY = "http://dbpedia.org/ontology/"


@dataclass(frozen=True)
class SplitSettings:
    """How rows are split and filtered (rules: `splits` module doc); the defaults are the
    defaults of the build CLI and of the `datasets` builder."""

    protocol: str = "fact"
    test_fraction: float = 0.1
    validation_fraction: float = 0.05
    inverse_threshold: float = 0.1
    max_length: int = 30
    seed: int = 0

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"split protocol must be one of {PROTOCOLS}, got {self.protocol!r}")
        if not (0 <= self.test_fraction and 0 <= self.validation_fraction) or (
            self.test_fraction + self.validation_fraction >= 1
        ):
            raise ValueError("test and validation fractions must be >= 0 and sum to < 1")
        if not 0 < self.inverse_threshold <= 1:
            raise ValueError(f"inverse_threshold must be in (0, 1], got {self.inverse_threshold}")


def triple_row(
    language: str,
    text: tuple[str, str, str],
    iris: tuple[str, str, str],
    all_objects: list[str] | None = None,
) -> Row:
    """The row of the text triple `text` (subject, relation, object labels) with `iris`."""
    return Row(TRIPLE, *text, language, language, *iris, all_objects)


def link_row(
    subject: tuple[str, str, str],
    obj: tuple[str, str, str],
    all_objects: list[str] | None = None,
) -> Row:
    """The row of one link direction; each end is `(language, IRI, label)`."""
    return Row(
        LINK, subject[2], "", obj[2], subject[0], obj[0], subject[1], "", obj[1], all_objects
    )


def order_key(row: Row) -> tuple[str, str, str, str, str]:
    """The identity of a row, hashed for its place in a split: languages and IRIs."""
    return (
        row.subject_language,
        row.object_language,
        row.subject_id,
        row.relation_id,
        row.object_id,
    )


def encode_row(tokenizer: Any, row: Row) -> Any:
    """The `modeling_prixlm.formatting` encoding of `row` (a triple or a link)."""
    from modeling_prixlm.formatting import encode_row as encode_fact

    return encode_fact(tokenizer, row._asdict())


__all__ = [
    "ALL",
    "COLUMNS",
    "DBPEDIA_ONTOLOGY",
    "LINK",
    "LINKS",
    "OWL_SAME_AS",
    "PROTOCOLS",
    "RDFS_LABEL",
    "RDF_TYPE",
    "SPLITS",
    "TRIPLE",
    "XSD_STRING",
    "Row",
    "SplitSettings",
    "encode_row",
    "link_row",
    "order_key",
    "triple_row",
]
