"""The Batch tab's files: a TSV of queries in; a TSV with scores and N-Triples out.

Input: UTF-8 text, one query per line, `subject<TAB>relation[<TAB>language]`; or a header
line naming the columns (`subject`, `relation`, and optionally `language`, `subject_id`,
`relation_id`, in any order; a first line all of whose cells are such words, `predicate`,
`object` or `lang` among them, is a header, refused for the columns it does not know).
Blank lines are skipped; a line without the language takes the default language (the model's pipeline's: its only language, else `en`), and is refused,
naming its line, where the model has none. A language is written as the model's code (`en`
for `EN`) where the reader is given the model's spelling rule. Cells are split at tabs
only, as they are: a `"` is part of the name (`"Weird" Al Yankovic`), never a CSV quote,
except in a cell as a spreadsheet or CSV writer (Excel, pandas, Python's `csv`) writes a
name holding `"`: wrapped in `"`, each inner `"` doubled (`"5"" Record"` is `5" Record`).
Empty cells after the last column (a spreadsheet's) are ignored; a header naming a column
twice is refused. UTF-16 text with its byte order mark (Excel's "Unicode Text") is read
too. A line the model's pipeline refuses (a control character, a zero-width space) is
refused naming its line, where the reader is given the pipeline's check.

Output (`completed.tsv`, `completed.nt`): the `top_k` objects of every query, best first.
The TSV has `subject_id, subject, relation_id, relation, language, object_id, object,
probability, log_likelihood, rank`, written as `python -m prixlm.complete` writes its TSV:
cells separated by tabs without CSV quoting, a backslash, tab, newline and carriage return in
a cell written as `\\\\`, `\\t`, `\\n` and `\\r` (read it with `csv` as `delimiter="\\t",
quoting=csv.QUOTE_NONE`, pandas `sep="\\t", quoting=3`), the probability with six significant
digits (`1.23457e-07`, not `0.000000`); the N-Triples are `<subject> <relation> <object> .`
lines written as `python -m prixlm.complete` writes them (an IRI's characters that an
IRIREF cannot hold as `\\uXXXX`), after a first comment line `PREDICTED_LINE` that marks
them as predictions, as `complete` does (the dataset build refuses such a file as a dump).
IRIs come from the input's `subject_id` / `relation_id`, else they follow the DBpedia dumps
the KB was built from: `http://dbpedia.org/resource/<label>`
(`http://<lang>.dbpedia.org/...` outside English) for entities, the relation's words in
camel case under `http://dbpedia.org/ontology/` (`official language` -> `officialLanguage`),
of the name as the model reads it: composed (NFC), a run of white space as one space
(`New\\u00a0York  City` -> `New_York_City`). `markdown_text` writes a name into the page's
Markdown messages as text.

Standard library only (the Space needs gradio, torch and transformers, not the prixlm package).
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DBPEDIA_ONTOLOGY = "http://dbpedia.org/ontology/"
COLUMNS = ("subject", "relation", "language", "subject_id", "relation_id")
OUTPUT_COLUMNS = (
    "subject_id",
    "subject",
    "relation_id",
    "relation",
    "language",
    "object_id",
    "object",
    "probability",
    "log_likelihood",
    "rank",
)
#: Words a header line's cells are made of in other tools' files (`_is_header`).
HEADER_WORDS = frozenset(
    {*COLUMNS, "predicate", "property", "object", "object_id", "lang", "head", "tail",
     "entity", "label", "subject_label", "relation_label", "predicate_id", "property_id",
     "subject id", "relation id", "object id", "query", "answer"}
)  # fmt: skip
MAX_FILE_BYTES = 1_000_000
MAX_QUERIES = 1_000

_IRI_SAFE_ASCII = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/"
)
_UCSCHAR_RANGES = (
    (0xA0, 0xD7FF),
    (0xF900, 0xFDCF),
    (0xFDF0, 0xFFEF),
    *((plane + 0x0000, plane + 0xFFFD) for plane in range(0x10000, 0xE0000, 0x10000)),
    (0xE1000, 0xEFFFD),
)
_IRIREF_FORBIDDEN = frozenset('<>"{}|^`\\')
#: Bidirectional formatting characters: an IRI must not hold them (RFC 3987 4.1).
_BIDI_FORMATTING = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_CELL_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_CELL_SPECIAL = re.compile(r"[\\\t\n\r]")
_LINE_END = re.compile(r"\r\n|\r|\n")
#: what Markdown reads as formatting inside a line: emphasis, code, strikethrough, table
#: cells, escapes; `]` opens a link or image only before `(` or `[`
_MARKDOWN_SPECIAL = re.compile(r"[\\`*_~|]|\](?=[(\[])")


class BadQueryFile(ValueError):
    """The uploaded file is not a TSV of queries (the message names the file and line)."""


@dataclass(frozen=True)
class Query:
    line: int  # 1-based line of the file
    subject: str
    relation: str
    language: str
    subject_id: str
    relation_id: str


def iri_path(label: str) -> str:
    """`label` as an IRI path segment: spaces as `_`, the rest percent-encoded where needed."""
    parts = []
    for char in label.replace(" ", "_"):
        point = ord(char)
        if char in _IRI_SAFE_ASCII or (
            point >= 0x80
            and not char.isspace()  # N-Triples readers (rdflib's) refuse it
            and char not in _BIDI_FORMATTING  # an IRI must not hold these (RFC 3987 4.1)
            and any(low <= point <= high for low, high in _UCSCHAR_RANGES)
        ):
            parts.append(char)
        else:
            parts.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8")))
    return "".join(parts)


def _as_read(text: str) -> str:
    """`text` as the model reads it: composed (NFC), white space runs as one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def resource_iri(language: str, label: str) -> str:
    """The DBpedia resource IRI of `label` (read as the model reads it) in the `language`
    edition."""
    host = "dbpedia.org" if language == "en" else f"{language}.dbpedia.org"
    return f"http://{host}/resource/{iri_path(_as_read(label))}"


def relation_iri(relation: str) -> str:
    """`official language` -> `http://dbpedia.org/ontology/officialLanguage`."""
    words = _as_read(relation).split()
    local = words[0] + "".join(w if w.isupper() else w[:1].upper() + w[1:] for w in words[1:])
    return DBPEDIA_ONTOLOGY + iri_path(local)


def iri_term(iri: str) -> str:
    """`<iri>` with the characters an IRIREF cannot hold, and white space (which N-Triples
    readers such as rdflib's refuse), written as `\\uXXXX`."""
    escaped = (
        f"\\u{ord(char):04X}"
        if ord(char) <= 0x20 or char.isspace() or char in _IRIREF_FORBIDDEN
        else char
        for char in iri
    )
    return f"<{''.join(escaped)}>"


def markdown_text(text: object) -> str:
    """`text` (a label, relation or error, as `str`) to put in a Markdown message and be shown
    as typed: `<`, `>`, `&` as HTML entities, Markdown's formatting characters backslash-escaped,
    line breaks as spaces (`<b>x</b> M*A*S*H` is not bold, not emphasis). The page's message
    boxes render no LaTeX, so `$$` needs no escape."""
    one_line = " ".join(str(text).splitlines())
    return html.escape(_MARKDOWN_SPECIAL.sub(lambda match: "\\" + match.group(), one_line), False)


def escape_cell(text: str) -> str:
    """`text` with backslash, tab, newline and carriage return as `\\\\ \\t \\n \\r` (as
    `prixlm.complete`'s TSV writes a cell)."""
    return _CELL_SPECIAL.sub(lambda match: _CELL_ESCAPES[match.group()], text)


def tsv_line(cells: Sequence[Any]) -> str:
    """One output TSV line (with its newline): the escaped cells joined by tabs."""
    return "\t".join(escape_cell(str(cell)) for cell in cells) + "\n"


def _decode(path: Path) -> str:
    name = path.name
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise BadQueryFile(f"{name}: {size:,} bytes; the limit is {MAX_FILE_BYTES:,}.")
    data = path.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with its BOM (Excel's "Unicode Text")
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise BadQueryFile(f"{name}: not UTF-16 text, not a TSV of queries.") from None
        if "\x00" in text:
            raise BadQueryFile(f"{name}: a binary file, not a TSV of queries.")
        return text
    if b"\x00" in data:
        raise BadQueryFile(f"{name}: a binary file, not a TSV of queries.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BadQueryFile(f"{name}, line {line}: not UTF-8 text, not a TSV of queries.") from None


def _cell(text: str) -> str:
    """A cell without the white space around it and, where a CSV writer quoted it (wrapped in
    `"`, every inner `"` doubled, at least one), without that quoting: `"5"" Record"` is
    `5" Record`; `"Heroes"` (no doubled quote: no writer quotes a name without `"`) is kept."""
    text = text.strip()
    inner = text[1:-1]
    if len(text) < 4 or text[0] != '"' or text[-1] != '"' or '""' not in inner:
        return text
    if '"' in inner.replace('""', ""):  # a lone `"` inside: not a quoted cell
        return text
    return inner.replace('""', '"').strip()


def _language(
    fields: dict[str, str],
    default_language: str | None,
    language_code: Callable[[str], str] | None,
    languages: Sequence[str],
) -> str:
    """The language of a line's `fields`: its own (as `language_code` spells it), else
    `default_language`; ValueError for an unknown one, or for none without a default."""
    language = fields.get("language")
    if language:
        return language_code(language) if language_code is not None else language
    if default_language is None:
        among = f" ({', '.join(languages)})" if languages else ""
        raise ValueError(
            f"no language, and this model has several{among} and no default: add it as a "
            "third column, subject<TAB>relation<TAB>language"
        )
    return default_language


def _is_header(cells: Sequence[str]) -> bool:
    """Whether a first line is a header: it names `subject` and `relation`, or each of its
    cells is a column's name or a word that names one elsewhere (`predicate`, `object`,
    `lang`, ...): a misspelt header (`subject<TAB>predicate`) is refused as one ("unknown
    columns"), not asked as a query of the subject "subject"."""
    named = [cell.strip().casefold() for cell in cells if cell.strip()]
    if {"subject", "relation"} <= set(named):
        return True
    return bool(named) and all(cell in HEADER_WORDS for cell in named)


def read_queries(
    path: Path,
    default_language: str | None,
    max_chars: int,
    language_code: Callable[[str], str] | None = None,
    languages: Sequence[str] = (),
    check_query: Callable[[dict[str, str]], None] | None = None,
) -> list[Query]:
    """The queries of a TSV file (module docstring); `BadQueryFile` naming the file and line.

    Args:
        path: the TSV file.
        default_language: the language of a line without one; None: such a line is refused.
        max_chars: the longest subject or relation.
        language_code: a line's language as the model spells it (`en` for `EN`), raising
            ValueError for a language the model has no entities of; None: kept as written.
        languages: the model's languages, named in the error of a line without one.
        check_query: the pipeline's check of a query `{"subject", "relation", "language"}`,
            raising ValueError or TypeError for one it refuses (None: not checked here).
    """
    name = Path(path).name
    lines = _LINE_END.split(_decode(Path(path)))  # a `"` is text (`_cell`)
    numbered = [(i, [_cell(cell) for cell in line.split("\t")]) for i, line in enumerate(lines, 1)]
    numbered = [(i, row) for i, row in numbered if any(row)]
    if not numbered:
        raise BadQueryFile(f"{name}: no queries (expected subject<TAB>relation[<TAB>language]).")
    columns = ["subject", "relation", "language"]
    if _is_header(numbered[0][1]):
        header_line, columns = numbered[0][0], [cell.casefold() for cell in numbered[0][1]]
        while not columns[-1]:  # a spreadsheet's empty cells after the last column
            columns.pop()
        unknown = sorted(set(columns) - set(COLUMNS))
        if unknown:
            raise BadQueryFile(
                f"{name}, line {header_line}: unknown columns {unknown}; known: {list(COLUMNS)}."
            )
        twice = sorted(column for column, count in Counter(columns).items() if count > 1)
        if twice:  # the last one's cells were read, silently
            raise BadQueryFile(f"{name}, line {header_line}: columns named twice: {twice}.")
        numbered = numbered[1:]
        if not numbered:  # the app answered "Completed 0 queries" and then failed
            raise BadQueryFile(f"{name}: no queries below the header line {header_line}.")
    if len(numbered) > MAX_QUERIES:
        raise BadQueryFile(f"{name}: {len(numbered):,} queries; the limit is {MAX_QUERIES:,}.")
    queries = []
    for line, row in numbered:
        if not any(row[len(columns) :]):  # empty cells after the last column
            row = row[: len(columns)]
        if len(row) < 2 or len(row) > len(columns):
            raise BadQueryFile(
                f"{name}, line {line}: {len(row)} tab-separated field(s); expected "
                f"{' <TAB> '.join(columns[:2])}[<TAB>{'<TAB>'.join(columns[2:])}] "
                "(is this a TSV file?)."
            )
        fields = dict(zip(columns, row, strict=False))
        for key in ("subject", "relation"):
            if not fields.get(key):
                raise BadQueryFile(f"{name}, line {line}: empty {key}.")
            if len(fields[key]) > max_chars:
                raise BadQueryFile(
                    f"{name}, line {line}: the {key} has {len(fields[key]):,} characters; "
                    f"the limit is {max_chars}."
                )
        try:
            language = _language(fields, default_language, language_code, languages)
        except ValueError as error:
            raise BadQueryFile(f"{name}, line {line}: {error}") from None
        if check_query is not None:
            asked = {"subject": fields["subject"], "relation": fields["relation"]}
            try:
                check_query({**asked, "language": language})
            except (TypeError, ValueError) as error:
                raise BadQueryFile(f"{name}, line {line}: {error}") from None
        queries.append(
            Query(
                line=line,
                subject=fields["subject"],
                relation=fields["relation"],
                language=language,
                subject_id=fields.get("subject_id") or resource_iri(language, fields["subject"]),
                relation_id=fields.get("relation_id") or relation_iri(fields["relation"]),
            )
        )
    return queries


def completed_rows(
    queries: Sequence[Query], answers: Sequence[Sequence[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """One row per (query, ranked object): `OUTPUT_COLUMNS`, best object first per query."""
    rows = []
    for query, ranked in zip(queries, answers, strict=True):
        for rank, item in enumerate(ranked, start=1):
            rows.append(
                {
                    "subject_id": query.subject_id,
                    "subject": query.subject,
                    "relation_id": query.relation_id,
                    "relation": query.relation,
                    "language": query.language,
                    "object_id": resource_iri(query.language, item["object"]),
                    "object": item["object"],
                    "probability": math.exp(item["score"]),
                    "log_likelihood": item["score"],
                    "rank": rank,
                }
            )
    return rows


def _formatted(row: dict[str, Any]) -> dict[str, str]:
    """The scores' cells: the probability with six significant digits (as `prixlm.complete`
    writes its `score`: a probability under 5e-7 is not 0.000000), the log-likelihood with
    six decimals."""
    return {
        "probability": f"{row['probability']:.6g}",
        "log_likelihood": f"{row['log_likelihood']:.6f}",
    }


#: The N-Triples' first line: the facts are a model's predictions, and the dataset build
#: refuses a dump file that opens with `# predicted by prixlm` (unless told to read it).
PREDICTED_LINE = (
    "# predicted by prixlm (the Space's Batch tab): the top_k objects of every query, "
    "predictions, not source facts\n"
)


def write_tsv_and_ntriples(
    queries: Sequence[Query], answers: Sequence[Sequence[dict[str, Any]]], stem: Path
) -> tuple[Path, Path, list[dict[str, Any]]]:
    """`<stem>.tsv` and `<stem>.nt` of the completed facts, and their rows."""
    rows = completed_rows(queries, answers)
    tsv, ntriples = stem.with_suffix(".tsv"), stem.with_suffix(".nt")
    with open(tsv, "w", encoding="utf-8", newline="\n") as stream:
        stream.write(tsv_line(OUTPUT_COLUMNS))
        for row in rows:
            cells = {**row, **_formatted(row)}
            stream.write(tsv_line(cells[c] for c in OUTPUT_COLUMNS))
    with open(ntriples, "w", encoding="utf-8", newline="\n") as stream:
        stream.write(PREDICTED_LINE)
        for row in rows:
            terms = (row["subject_id"], row["relation_id"], row["object_id"])
            stream.write(" ".join(iri_term(term) for term in terms) + " .\n")
    return tsv, ntriples, rows
