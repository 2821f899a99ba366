"""Readers for the cross-lingual entity linking (XEL) benchmarks of the paper (§3.3).

Both benchmarks pair a mention in some language with the id(s) of its entity, and give the
entity set as names with ids. Layouts, as the benchmarks' own loaders read them:

**XL-BEL** (Liu et al., ACL 2021; `cambridgeltl/sapbert`, `xl_bel/`): one query per line,
fields separated by `||`:

- `xlbel_v0.0/{lang}_1k_test_query.txt`: `CUI||mention`, e.g. `C0004057||アスピリン`;
- `xlbel_v1.0/{lang}_1k_test_query_with_context.txt`: `CUI||mention||context` (the
  context marks the mention with `<tgt>...</tgt>`; read and kept, not used for linking).

A composite gold joins CUIs with `|` (or `+`): `C3714497|C0004096||小児ぜんそく`; a
prediction is right when its CUI is any of them (SapBERT's `check_label`). The target
dictionary (UMLS, not redistributable) has the same layout, `CUI||name`; blank lines and
`CUI-less` entries are skipped, as in SapBERT's `DictionaryDataset`.

**LR-XEL** (Zhou et al., TACL 2020; `shuyanzhou/pbel_plus`, `data/`): fields separated by
` ||| ` (space, three bars, space):

- queries: `English_Wikipedia_ID ||| English_title ||| title_in_language ||| type`, e.g.
  `3378263 ||| John Michael Talbot ||| ጆን ማይክል ታልበት ||| PER`;
- the KB (English Wikipedia, ~2M entities): `English_Wikipedia_ID ||| English_title ||| type`.

A malformed line (or one that is not UTF-8) raises `XelFormatError` naming the file and the
1-based line number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from prixlm.text_lines import utf8_lines


class XelFormatError(ValueError):
    """A line that does not follow the benchmark's layout (the message names file:line)."""


@dataclass(frozen=True)
class XelQuery:
    """One mention to link.

    Attributes:
        mention: the mention text (in `language`).
        gold: the ids of its entity; any of them is a correct answer (XL-BEL composites).
        language: the mention's language code.
        context: the sentence around the mention, if the file has one (XL-BEL v1.0).
    """

    mention: str
    gold: frozenset[str]
    language: str
    context: str | None = None

    def __post_init__(self) -> None:
        """`gold` as a frozenset of ids (a list or set is taken as its ids); TypeError for a
        string (`"Q183"` for `frozenset({"Q183"})`: read as ids of one character) or for an
        id that is not a string."""
        if isinstance(self.gold, (str, bytes)):
            raise TypeError(
                f"XelQuery({self.mention!r}): gold is a string ({self.gold!r}): expected a "
                f"frozenset of entity ids, e.g. frozenset({{{self.gold!r}}})"
            )
        gold = frozenset(self.gold)
        wrong = sorted(repr(g) for g in gold if not isinstance(g, str))
        if wrong:
            raise TypeError(f"XelQuery({self.mention!r}): gold ids must be strings, got {wrong}")
        object.__setattr__(self, "gold", gold)  # frozen: set once, here


@dataclass(frozen=True)
class XelTarget:
    """One name of an entity of the target KB (an entity may have several names)."""

    name: str
    entity: str


_CUI_SEPARATOR = re.compile(r"[|+]")


def _lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """`(line_number, line)` without the line break (LF or CRLF), blank lines skipped;
    `XelFormatError` naming `file:line` for bytes that are not UTF-8."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    for number, line in utf8_lines(path, XelFormatError):  # a BOM is no part of an id
        if line.strip():
            yield number, line


def _error(path: str | Path, number: int, line: str, expected: str) -> XelFormatError:
    shown = line if len(line) <= 120 else line[:117] + "..."
    return XelFormatError(f"{path}:{number}: expected {expected}, got {shown!r}")


def _cuis(field: str) -> frozenset[str] | None:
    """The CUIs of a `C1|C2` (or `C1+C2`) field; None when a part is empty."""
    parts = [part.strip() for part in _CUI_SEPARATOR.split(field)]
    return None if not parts or any(not part for part in parts) else frozenset(parts)


def read_xlbel_queries(path: str | Path, language: str) -> list[XelQuery]:
    """XL-BEL queries: `CUI||mention` (v0.0) or `CUI||mention||context` (v1.0) per line.

    `CUI-less` mentions are skipped (no entity to link to). Raises `XelFormatError`
    (file:line) on any other line.
    """
    queries = []
    for number, line in _lines(path):
        fields = line.split("||")
        # A composite gold "C1|C2||m" splits into ["C1|C2", "m"]; "C1|||m" would not.
        if len(fields) not in (2, 3) or not fields[1].strip():
            raise _error(path, number, line, "'CUI||mention' or 'CUI||mention||context'")
        gold = _cuis(fields[0])
        if gold is None:
            raise _error(path, number, line, "CUIs joined by '|' or '+' before '||'")
        if {cui.lower() for cui in gold} == {"cui-less"}:
            continue
        context = fields[2] if len(fields) == 3 else None
        queries.append(XelQuery(fields[1].strip(), gold, language, context))
    return queries


def read_xlbel_dictionary(path: str | Path) -> list[XelTarget]:
    """An XL-BEL target dictionary (UMLS names): `CUI||name` per line, `CUI-less` skipped;
    a composite `C1|C2||name` names each of its CUIs (SapBERT's `check_label` splits them)."""
    targets = []
    for number, line in _lines(path):
        fields = line.strip().split("||")
        if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
            raise _error(path, number, line, "'CUI||name'")
        if fields[0].strip().lower() == "cui-less":
            continue
        cuis = _cuis(fields[0])  # "C1|C2||name": the name of both (as the queries split them)
        if cuis is None:
            raise _error(path, number, line, "CUIs joined by '|' or '+' before '||'")
        targets += [XelTarget(fields[1].strip(), cui) for cui in sorted(cuis)]
    return targets


def _lrxel_fields(path: str | Path, number: int, line: str, count: int, layout: str) -> list[str]:
    fields = [field.strip() for field in line.strip().split(" ||| ")]
    if len(fields) != count or not all(fields):
        raise _error(path, number, line, f"{count} non-empty fields '{layout}'")
    return fields


def read_lrxel_queries(path: str | Path, language: str) -> list[XelQuery]:
    """LR-XEL queries: `en_id ||| en_title ||| title_in_language ||| type` per line.

    The gold entity is the English Wikipedia id (the KB file's first field).
    """
    layout = "id ||| English title ||| title in language ||| type"
    queries = []
    for number, line in _lines(path):
        en_id, _, mention, _ = _lrxel_fields(path, number, line, 4, layout)
        queries.append(XelQuery(mention, frozenset([en_id]), language))
    return queries


def read_lrxel_kb(path: str | Path) -> list[XelTarget]:
    """The LR-XEL English KB: `en_id ||| en_title ||| type` per line."""
    targets = []
    for number, line in _lines(path):
        en_id, title, _ = _lrxel_fields(path, number, line, 3, "id ||| English title ||| type")
        targets.append(XelTarget(title, en_id))
    return targets


__all__ = [
    "XelFormatError",
    "XelQuery",
    "XelTarget",
    "read_lrxel_kb",
    "read_lrxel_queries",
    "read_xlbel_dictionary",
    "read_xlbel_queries",
]
