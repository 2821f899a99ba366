"""Write proposals as N-Triples (the dumps' IRIs) and as a TSV with labels, score and evidence.

The N-Triples open with a comment line that marks them as a model's predictions, not source
facts (`predicted_facts_header`: `# predicted by prixlm.complete: model M, target_language
et, threshold 0.5`): N-Triples readers skip it, and the dataset build refuses a dump file
that opens with it unless `--allow_predicted_facts` (`prixlm.data.dbpedia.predicted_facts`),
so that predictions are not drawn into a test split as gold facts. Then one line per
proposal: `<subject> <relation> <object> .` with the target language's IRIs, as the
CLDR exporter writes object facts (`prixlm.data.cldr`): IRIs are written as they are, except
the characters an N-Triples IRIREF cannot hold (controls, space, `<>"{}|^` backquote and
backslash), which are written as `\\uXXXX`; `prixlm.data.ntriples.read_triples` reads every
line back to the same IRIs (`QueryStats.invalid_iris` counts such IRIs: valid N-Triples, but
rdflib warns and strict stores refuse them).

The TSV is one header line, then one line per fact line of the N-Triples, in the same order: cells are
separated by tabs and written without CSV quoting (a `"` is written as it is); in a cell, a
backslash, tab, newline and carriage return are written as `\\\\`, `\\t`, `\\n` and `\\r`
(`unescape_cell` reverses it). Read it line by line, split each line at its tabs and unescape
every cell; with the `csv` module, `delimiter="\\t", quoting=csv.QUOTE_NONE` (pandas:
`sep="\\t", quoting=3`; a reader that takes `"` as a quote, such as the `excel-tab`
dialect, joins the cells of a line whose cell starts with `"`). Both files are
written atomically (`prixlm.outputs.atomic`).

The `evidence` cell (once unescaped) lists each evidence object as `language=object` where its
link reaches the proposed object, else `language:object`, joined by `; `; in an object's
label a backslash is written `\\\\` and a `;` as `\\;` (`en:AC\\\\DC; fr=a\\; b`), so a
label holding `; fr=` is never read as another language's object: `evidence_items` reads
the cell back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from prixlm.completion.knowledge import IRI_FORBIDDEN
from prixlm.completion.propose import Proposal
from prixlm.data.dbpedia.predicted_facts import PREDICTED_FACTS_HEADER
from prixlm.outputs.atomic import atomic_file, naming_write_errors, updating

_CELL_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_CELL_SPECIAL = re.compile(r"[\\\t\n\r]")
_CELL_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_CELL_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
_EVIDENCE_SPECIAL = re.compile(r"[\\;]")  # escaped in an evidence object's label
_EVIDENCE_SPLIT = re.compile(r"(?:[^\\;]|\\.)+", re.DOTALL)  # one `lang:object` (after `; `)
_EVIDENCE_ITEM = re.compile(r" ?([^:=]*)([:=])(.*)", re.DOTALL)

TSV_COLUMNS = (
    "subject_id",
    "subject",
    "relation_id",
    "relation",
    "object_id",
    "object",
    "score",
    "rank",
    "evidence_languages",
    "agreeing_languages",
    "evidence",
)


def iri_term(iri: str) -> str:
    """`<iri>` with the characters an IRIREF cannot hold, and white space (which N-Triples
    readers such as rdflib's refuse), written as `\\uXXXX`."""
    if not iri:
        raise ValueError("an empty IRI cannot be written as an N-Triples term")
    escaped = (
        f"\\u{ord(char):04X}"
        if ord(char) <= 0x20 or char.isspace() or char in IRI_FORBIDDEN
        else char
        for char in iri
    )
    return f"<{''.join(escaped)}>"


def predicted_facts_header(model: str, target_language: str, threshold: float) -> str:
    """The N-Triples' first line (with its newline): `PREDICTED_FACTS_HEADER` and what
    predicted them (line ends in `model` written as spaces: one comment line)."""
    model = " ".join(str(model).splitlines())
    return (
        f"{PREDICTED_FACTS_HEADER}: model {model}, target_language {target_language}, "
        f"threshold {threshold:g} (predictions, not source facts)\n"
    )


def ntriples_line(proposal: Proposal) -> str:
    """The proposal as one N-Triples line (with its newline)."""
    query = proposal.query
    terms = (iri_term(query.subject_id), iri_term(query.relation_id), iri_term(proposal.object_id))
    return f"{' '.join(terms)} .\n"


def evidence_text(proposal: Proposal) -> str:
    """`lang:object` per evidence object, `=` where its link reaches the proposed object,
    joined by `; ` (a label's backslash and `;` written `\\\\` and `\\;`)."""
    parts = []
    for item in proposal.query.evidence:
        mark = "=" if item.target_object_id == proposal.object_id else ":"
        label = _EVIDENCE_SPECIAL.sub(lambda match: "\\" + match.group(), item.object)
        parts.append(f"{item.language}{mark}{label}")
    return "; ".join(parts)


def evidence_items(text: str) -> list[tuple[str, bool, str]]:
    """`(language, agrees, object)` per evidence object of an `evidence` cell's text (as
    `unescape_cell` returns it): the reverse of `evidence_text`.

    Raises:
        ValueError: a part without the `:` or `=` after its language.
    """
    items = []
    for part in _EVIDENCE_SPLIT.findall(text):
        match = _EVIDENCE_ITEM.fullmatch(part)
        if match is None:
            raise ValueError(f"evidence {part!r}: expected language:object or language=object")
        language, mark, label = match.groups()
        items.append((language, mark == "=", _CELL_ESCAPED.sub(r"\1", label)))
    return items


def escape_cell(text: str) -> str:
    """`text` with backslash, tab, newline and carriage return as `\\\\ \\t \\n \\r`."""
    return _CELL_SPECIAL.sub(lambda match: _CELL_ESCAPES[match.group()], text)


def unescape_cell(cell: str) -> str:
    """The text `escape_cell` wrote as `cell` (another backslash sequence is kept as it is)."""
    return _CELL_ESCAPED.sub(lambda m: _CELL_UNESCAPES.get(m.group(1), m.group()), cell)


def tsv_line(cells: Sequence[str]) -> str:
    """One TSV line (with its newline): the escaped cells joined by tabs."""
    return "\t".join(map(escape_cell, cells)) + "\n"


def tsv_row(proposal: Proposal) -> list[str]:
    """The proposal's TSV cells (unescaped), in `TSV_COLUMNS` order."""
    query = proposal.query
    return [
        query.subject_id,
        query.subject,
        query.relation_id,
        query.relation,
        proposal.object_id,
        proposal.object,
        f"{proposal.score:.6g}",  # six significant digits: 1.23457e-07, not 0.000000
        str(proposal.rank),
        ",".join(query.evidence_languages),
        ",".join(proposal.agreeing_languages),
        evidence_text(proposal),
    ]


def default_tsv_path(ntriples_path: str | Path) -> Path:
    """`new_facts.nt` -> `new_facts.tsv` (beside it)."""
    path = Path(ntriples_path)
    return path.with_suffix(".tsv") if path.suffix else path.with_name(path.name + ".tsv")


def write_proposals(
    proposals: Sequence[Proposal],
    ntriples_path: str | Path,
    tsv_path: str | Path,
    header: str = "",
) -> None:
    """Write both files atomically, `header` (`predicted_facts_header`) first in the
    N-Triples, as a pair: both are staged before either replaces an
    earlier file (a full disk while writing the TSV left the new `.nt` beside the last run's
    TSV), and the earlier `.nt` goes first, so an interruption between the two renames
    leaves a lone TSV, never a pair of two runs. One run at a time writes them (`updating`
    both, the next waits): two finishing at once left one's `.nt` beside the other's TSV."""
    with (
        updating(ntriples_path, "--output"),
        updating(tsv_path, "--tsv"),
        atomic_file(ntriples_path, argument="--output") as ntriples_staging,
        atomic_file(tsv_path, argument="--tsv") as tsv_staging,
    ):
        with (
            naming_write_errors(ntriples_path, "--output"),  # not the TSV's (the inner block)
            open(ntriples_staging, "w", encoding="utf-8", newline="\n") as stream,
        ):
            stream.write(header)
            stream.writelines(ntriples_line(p) for p in proposals)
        with open(tsv_staging, "w", encoding="utf-8", newline="") as stream:
            stream.write(tsv_line(TSV_COLUMNS))
            stream.writelines(tsv_line(tsv_row(p)) for p in proposals)
        Path(ntriples_path).resolve().unlink(missing_ok=True)  # then the TSV, the .nt, renamed


__all__ = [
    "TSV_COLUMNS",
    "default_tsv_path",
    "escape_cell",
    "evidence_items",
    "evidence_text",
    "iri_term",
    "ntriples_line",
    "predicted_facts_header",
    "tsv_line",
    "tsv_row",
    "unescape_cell",
    "write_proposals",
]
