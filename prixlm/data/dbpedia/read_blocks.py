"""Dump files to record files a block of lines at a time, in Arrow compute: the build's reader.

Same records, order and `ReadStats` as the row-by-row reference (`read_rows.write_rows`
over `read_triples`), at a fraction of its cost per line. It reads a whole file or one part
of one (`Job.start`/`Job.stop`: bytes of whole lines of a plain file, or the streams of a
multi-stream `.bz2`, `bz2_streams`; `convert` cuts them), numbering the part's lines from 1
(`convert` adds the lines before it). Each block of lines (`line_blocks`,
which checks UTF-8, line ends and line lengths) becomes one Arrow string array over the
block's bytes. One anchored RE2 expression (`COMMON_LINE`, run as a DFA: no captures)
accepts the common shapes only, `<s> <p> <o> .` and `<s> <p> "value"` then `@lang .`,
`^^<dt> .` or ` .`, single spaces, no backslash, subject and object IRIs `http:`/`https:`
with the IRIREF characters: lines the full grammar reads with these very terms (an
`rdf:langString` datatype is left out). Those lines are cut into pieces at byte offsets
found by numpy (`_pieces`: IRIs hold no `>`, values no `"`) and the kind's filters run
over the columns (Arrow compute); only the values that need Python go to it, once per
distinct value: `canonical_iri` for IRIs with a `%`, `clean_label` for labels with unusual
space or a character it drops (`arrow_values.DROPPED`), `language_of_iri` per host label.
The link lines dropped because their target's language is unknown are counted as
`read_rows` counts them (`drops.UnknownTargets`, in the links record file's footer).

Every other line (comments, blank lines, escapes, blank nodes, other spacing, malformed
lines...) is read as `read_triples` reads it (`ntriples.read_line`), its record made in Python
(`read_rows.record_of`) and merged back in file order. `seq` is the triple's ordinal in its
part plus `Job.part * SEQ_PART`. Columns go by name (`schema.RECORD_COLUMNS`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from prixlm.data.dbpedia import read_rows
from prixlm.data.dbpedia.arrow_values import (  # noqa: F401 - _UNUSUAL_SPACE: importable here
    _UNUSUAL_SPACE,
    _canonical_iris,
    _collapse,
    _languages_of,
    _same,
    _slice,
)
from prixlm.data.dbpedia.bz2_streams import StreamPart
from prixlm.data.dbpedia.drops import UnknownTargets
from prixlm.data.dbpedia.dumps import ReadOptions, label_tags
from prixlm.data.dbpedia.read_rows import ID_LANGUAGE, SCHEMAS, SEQ_PART, Job, record_of
from prixlm.data.dbpedia.schema import OWL_SAME_AS, RDF_TYPE, RDFS_LABEL, XSD_STRING
from prixlm.data.ntriples import (
    MalformedLineError,
    ReadStats,
    Triple,
    cut_short_line,
    read_line,
)
from prixlm.data.ntriples_grammar import RDF_LANG_STRING
from prixlm.data.ntriples_lines import (
    COMPRESSION_ERRORS,
    DumpError,
    LineBlock,
    count_lines,
    line_blocks,
    open_dump,
    opens_as_dbpedia_dump,
)
from prixlm.library_bars import progress_bar

BLOCK_BYTES = 1 << 20  # bytes of lines per Arrow array (memory: a few blocks)
_C = r"[!#-;=?-\[\]_a-z~\x{7f}-\x{10ffff}]"  # an IRIREF character (`_PLAIN_IRI_BODY`)
_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*:"
_HTTP_IRI = rf"<https?:{_C}*>"
# One line with its LF, in one of the common shapes (see the module doc).
COMMON_LINE = (
    rf"^{_HTTP_IRI} <{_SCHEME}{_C}*> "
    rf'(?:{_HTTP_IRI}|"[^"\\\x00-\x1f]*"'
    rf"(?:@[A-Za-z]+(?:-[A-Za-z0-9]+)*|\^\^<{_SCHEME}{_C}*>)?) \.\n$"
)
_LANG_STRING_END = f'"^^<{RDF_LANG_STRING}> .\n'


class Marks(NamedTuple):
    """Where a block's lines end (after each LF), its `>` and its `"` are (byte offsets)."""

    ends: np.ndarray
    closing: np.ndarray
    quotes: np.ndarray

    @classmethod
    def of(cls, data: bytes) -> Marks:
        """One pass over `data` finds the three."""
        buf = np.frombuffer(data, np.uint8)
        marks = np.flatnonzero((buf == 10) | (buf == 62) | (buf == 34))
        kinds = buf[marks]
        return cls(marks[kinds == 10] + 1, marks[kinds == 62], marks[kinds == 34])


def _strings(data: bytes, offsets: np.ndarray) -> pa.Array:
    """The strings of `data` between consecutive `offsets` (no copy of `data`)."""
    wide = len(data) >= 1 << 31
    offsets = offsets.astype(np.int64 if wide else np.int32)
    kind = pa.large_string() if wide else pa.string()
    return pa.Array.from_buffers(
        kind, len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _pieces(data: bytes, marks: Marks, common: np.ndarray) -> pa.Array:
    """The lines of `data` (ending at `marks.ends`) cut into `PIECES` strings each: `<`, the
    subject, `> <`, the predicate, `> <` or `> "`, the object IRI or the literal's value,
    and the rest (`> .\n`, or the literal's closing quote and what follows it); only the
    last piece of a line that is not `common` is not empty (the whole line)."""
    buf = np.frombuffer(data, np.uint8)
    ends, closing = marks.ends, marks.closing
    starts = np.zeros(len(ends), np.int64)
    starts[1:] = ends[:-1]
    # In a common line the first two `>` end its subject and predicate (IRIs hold none),
    # and a literal's value holds no `"`.
    first = np.minimum(np.searchsorted(closing, starts), max(len(closing) - 2, 0))
    subject_end, predicate_end = (closing[first] if len(closing) else starts), starts
    if len(closing) > 1:
        predicate_end = closing[first + 1]
    object_end = ends - 4  # `<object> .\n`
    literal = common & (buf[np.minimum(predicate_end + 2, len(buf) - 1)] == 34)
    if literal.any():
        quotes = marks.quotes
        after = np.minimum(np.searchsorted(quotes, predicate_end + 3), len(quotes) - 1)
        object_end = np.where(literal, quotes[after], object_end)
    edges = (subject_end, subject_end + 3, predicate_end, predicate_end + 3, object_end)
    bounds = np.stack((starts, starts + 1, *edges), axis=1)
    bounds[~common] = starts[~common, None]
    return _strings(data, np.append(bounds.ravel(), len(data)))


PIECES = 7
SUBJECT, PREDICATE, OBJECT, REST = 1, 3, 5, 6


def _fast_records(
    job: Job,
    pieces: pa.Array,
    rows: np.ndarray,
    seqs: np.ndarray,
    escaped: bool,
    unknown: UnknownTargets,
) -> tuple[np.ndarray, dict[str, pa.Array]]:
    """The records of the common lines `rows` (cut into `pieces`), as `(their line numbers
    in the block, {column: values})`; `seqs`: each line's triple ordinal; `escaped`:
    whether any line has a `%`; a links file's targets of unknown language go to
    `unknown`."""
    language = job.language
    canonical = _canonical_iris if escaped else _same

    def piece(lines: np.ndarray, which: int) -> pa.Array:
        return pieces.take(lines * PIECES + which)

    def select(keep: pa.Array, *arrays: pa.Array) -> tuple[np.ndarray, ...]:
        keep = pc.fill_null(keep, False)
        return rows[keep.to_numpy(zero_copy_only=False)], *(a.filter(keep) for a in arrays)

    predicates, rests = piece(rows, PREDICATE), piece(rows, REST)
    if job.kind in ("labels", "ontology"):
        # A literal's rest: `"@tag .\n`, `"^^<datatype> .\n` or `" .\n`.
        rows, rests = select(pc.equal(predicates, RDFS_LABEL), rests)
        if job.kind == "labels":
            keep = pc.or_(
                pc.is_in(rests, pa.array(['" .\n', f'"^^<{XSD_STRING}> .\n'])),
                pc.is_in(
                    pc.ascii_lower(rests),
                    pa.array([f'"@{tag} .\n' for tag in label_tags(language)]),
                ),
            )
        else:
            keep = pc.starts_with(rests, '"@')
        rows, rests = select(keep, rests)
        texts = _collapse(piece(rows, OBJECT))
        rows, texts, rests = select(pc.not_equal(texts, ""), texts, rests)
        seq = pa.array(seqs[rows])
        if job.kind == "labels":
            iris = canonical(piece(rows, SUBJECT))
            return rows, {
                "language": pa.repeat(language, len(rows)),
                "iri": iris,
                "label": texts,
                "seq": seq,
            }
        tags = pc.ascii_lower(_slice(rests, 2, -3))  # `"@tag .\n`; tags hold no `_`
        return rows, {
            "property": piece(rows, SUBJECT),
            "language": tags,
            "label": texts,
            "seq": seq,
        }
    iri_object = pc.equal(rests, "> .\n")
    if job.kind == "objects":
        other = pc.invert(pc.is_in(predicates, pa.array([RDF_TYPE, OWL_SAME_AS])))
        rows, predicates = select(pc.and_(iri_object, other), predicates)
        subjects, relations, objects = (
            canonical(a) for a in (piece(rows, SUBJECT), predicates, piece(rows, OBJECT))
        )
        return rows, {
            "language": pa.repeat(language, len(rows)),
            "subject": subjects,
            "relation": relations,
            "object": objects,
        }
    if job.kind not in ("links", "hub"):
        raise ValueError(f"unknown record kind {job.kind!r}")
    (rows,) = select(pc.and_(pc.equal(predicates, OWL_SAME_AS), iri_object))
    objects = canonical(piece(rows, OBJECT))
    others = _languages_of(objects)
    keep = pc.is_in(others, pa.array(job.languages, pa.string()))
    if job.kind == "links":
        unknown.add(objects.filter(pc.is_null(others)))  # `read_rows.unknown_target`
        keep = pc.and_(keep, pc.not_equal(others, language))
        pivots = job.pivots
        if pivots is not None and language not in pivots:
            keep = pc.and_(keep, pc.is_in(others, pa.array(pivots, pa.string())))
    if language != ID_LANGUAGE:  # links to English: always (`read_rows`); hub: no language
        keep = pc.or_(pc.fill_null(keep, False), pc.equal(others, ID_LANGUAGE))
    rows, objects, others = select(keep, objects, others)
    if job.kind == "hub":
        return rows, {"hub": piece(rows, SUBJECT), "language": others, "iri": objects}
    iris = canonical(piece(rows, SUBJECT))
    return rows, {
        "language": pa.repeat(language, len(rows)),
        "subject": iris,
        "other_language": others,
        "object": objects,
    }


def _block_records(
    job: Job,
    block: LineBlock,
    stats: ReadStats,
    name: str,
    strict: bool,
    ordinal: int,
    unknown: UnknownTargets,
) -> tuple[dict[str, pa.Array], int]:
    """The records of one block of lines (`{column: values}` in file order) and its triple
    count; a links file's targets of unknown language counted in `unknown`."""
    data = block.data
    marks = Marks.of(data)
    ends = marks.ends
    strings = _strings(data, np.append(0, ends))
    common = pc.and_not(
        pc.match_substring_regex(strings, COMMON_LINE), pc.ends_with(strings, _LANG_STRING_END)
    ).to_numpy(zero_copy_only=False)
    del strings
    is_triple = common.astype(np.int64)
    fallback: list[tuple[int, Triple]] = []
    for index in np.flatnonzero(~common).tolist():
        start = ends[index - 1] if index else 0
        result = read_line(data[start : ends[index] - 1].decode("utf-8"))
        if result is None:
            stats.comments += 1
        elif type(result) is tuple:
            is_triple[index] = 1
            fallback.append((index, result))
        elif block.open_end and index == len(ends) - 1:
            raise cut_short_line(name, block.first_line + index, result)
        elif strict:
            raise MalformedLineError(name, block.first_line + index, result)
        else:
            stats.report(name, block.first_line + index, result)
    seqs = np.cumsum(is_triple) + (ordinal - 1)  # a triple's ordinal in the file
    pieces = _pieces(data, marks, common)
    rows, columns = _fast_records(job, pieces, np.flatnonzero(common), seqs, b"%" in data, unknown)
    records = [(i, r) for i, t in fallback if (r := record_of(job, t, int(seqs[i])))]
    unknown.add([iri for _, t in fallback if (iri := read_rows.unknown_target(job, t))])
    if records:
        rows = np.concatenate([rows, np.array([i for i, _ in records], np.int64)])
        order = np.argsort(rows, kind="stable")
        columns = {
            name: pa.concat_arrays([c, pa.array([r[name] for _, r in records], c.type)]).take(order)
            for name, c in columns.items()
        }
    return columns, int(is_triple.sum())


def _read_blocks(
    handle: BinaryIO, name: str, max_line_bytes: int, job: Job
) -> Iterator[tuple[LineBlock, int]]:
    """`line_blocks` of `BLOCK_BYTES` (not split into `str` lines) and their line counts,
    a compressed stream's error reported as `read_triples` reports it. A part (`job.start`,
    `job.stop`) that starts at the file's start drops its byte-order mark; one that ends at
    its end checks a DBpedia dump's `# completed` line."""
    at_start = job.start == 0
    at_end = job.stop is None or job.stop >= job.path.stat().st_size
    ends = {"at_start": at_start, "at_end": at_end}
    ends["header"] = not at_start and at_end and opens_as_dbpedia_dump(job.path)
    line_number = 0
    try:
        for block in line_blocks(handle, name, BLOCK_BYTES, max_line_bytes, False, **ends):
            count = count_lines(block.data)
            yield block, count
            line_number = block.first_line + count - 1
    except COMPRESSION_ERRORS as err:
        where = f"{name}:{line_number + 1}" if line_number else name
        raise DumpError(f"{where}: truncated or corrupt compressed file ({err})") from None


class _Part:
    """The bytes `start:stop` of an open plain file, read like the file."""

    def __init__(self, handle: BinaryIO, start: int, stop: int) -> None:
        handle.seek(start)
        self._handle, self._left = handle, stop - start

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        data = self._handle.read(size)
        self._left -= len(data)
        return data


def warm_up() -> None:
    """Make pyarrow import what it imports on its first array (pandas, if installed: 0.3 s
    on a quiet core, seconds on a busy one). Done once before the reader processes fork,
    it is not done again in each of them."""
    pa.array([0])


def write_records(job: Job, options: ReadOptions) -> ReadStats:
    """Write the records of `job.path` (its part `job.start:job.stop`, if one) to
    `job.output`, row groups of about `BATCH_ROWS`; returns the counts, as `read_triples`
    counts them (line numbers within the part)."""
    name = str(job.path)
    schema = SCHEMAS[job.kind]
    stats = ReadStats()
    unknown = UnknownTargets()
    # No bar at all without progress: a worker forked while tqdm's monitor thread held
    # tqdm's lock would wait for it forever on creating one (`convert._worker_context`).
    bar = (
        progress_bar(desc=Path(name).name, unit=" lines", unit_scale=True)
        if options.progress
        else None
    )
    pending: list[pa.RecordBatch] = []
    job.output.parent.mkdir(parents=True, exist_ok=True)
    first_seq = job.part * SEQ_PART
    batch_rows = read_rows.BATCH_ROWS  # row groups of the same size as the reference's
    with (
        open_dump(job.path) as handle,
        pq.ParquetWriter(job.output, schema, compression="zstd") as writer,
    ):
        if job.stop is None:
            source: BinaryIO | _Part | StreamPart = handle
        elif job.path.suffix.lower() == ".bz2":  # the streams that start in the part's bytes
            source = StreamPart(job.path, job.start, job.stop)
        else:
            source = _Part(handle, job.start, job.stop)
        for block, count in _read_blocks(source, name, options.max_line_bytes, job):
            columns, triples = _block_records(
                job, block, stats, name, options.strict, first_seq + stats.triples, unknown
            )
            stats.triples += triples
            stats.lines += count
            if bar is not None:
                bar.update(count)
            del block
            arrays = [columns[f.name].cast(f.type) for f in schema]
            pending.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
            if sum(b.num_rows for b in pending) >= batch_rows:
                writer.write_table(pa.Table.from_batches(pending), batch_rows)
                pending.clear()
        writer.write_table(pa.Table.from_batches(pending, schema), batch_rows)
        if job.kind == "links":
            writer.add_key_value_metadata(unknown.footer(job.language))
    if bar is not None:
        bar.close()
    return stats


__all__ = ["BLOCK_BYTES", "COMMON_LINE", "warm_up", "write_records"]
