"""Dump files to Parquet record files: the streaming reader's output, one file per dump file.

The first stage of the build (`build`): every dump file a build reads is parsed as
`prixlm.data.ntriples.read_triples` reads it and the triples the construction needs are
written, in record batches of `BATCH_ROWS` (memory stays flat), to one Parquet file per dump
file. The common lines are parsed and filtered a block at a time in Arrow compute
(`records_fast`, the default); `convert(..., vectorised=False)` keeps the row-by-row
reference (`read_triples` and `_records`), which gives the same records and counts.
Files are converted in parallel over processes (`convert_all`, `num_proc`). Every column is
a string but `seq` (the triple's position in its file: "the first label wins").

| kind | columns | kept |
|---|---|---|
| `labels` | `language, iri, label, seq` | `rdfs:label` literals in the file's language (or untagged / `xsd:string`), white space collapsed |
| `objects` | `language, subject, relation, object` | IRI objects, not `rdf:type` / `owl:sameAs` |
| `links` | `language, subject, other_language, object` | `owl:sameAs` to an IRI of another built language (and, with `pivots`, one end a pivot) |
| `hub` | `hub, language, iri` | `owl:sameAs` from a Wikidata hub to an IRI of a built language |
| `ontology` | `property, language, label, seq` | language-tagged `rdfs:label`s |

IRIs are canonical (`canonical_iri`) except the ontology's properties (read as written).
Malformed lines are counted per file (`ReadStats`, with `file:line` reasons) and the counts
come back to the caller; `strict` stops at the first (`MalformedLineError`).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from prixlm.data.dbpedia.dumps import ReadOptions, language_of_iri
from prixlm.data.dbpedia.schema import OWL_SAME_AS, RDF_TYPE, RDFS_LABEL, XSD_STRING
from prixlm.data.ntriples import Literal, ReadStats, Triple, canonical_iri

BATCH_ROWS = 100_000
# Below this much input a pool's start-up (~1 s) costs more than the parsing it shares.
POOL_MIN_BYTES = 16 << 20
_STRING = pa.string()
SCHEMAS = {
    "labels": pa.schema(
        [("language", _STRING), ("iri", _STRING), ("label", _STRING), ("seq", pa.int64())]
    ),
    "objects": pa.schema(
        [("language", _STRING), ("subject", _STRING), ("relation", _STRING), ("object", _STRING)]
    ),
    "links": pa.schema(
        [
            ("language", _STRING),
            ("subject", _STRING),
            ("other_language", _STRING),
            ("object", _STRING),
        ]
    ),
    "hub": pa.schema([("hub", _STRING), ("language", _STRING), ("iri", _STRING)]),
    "ontology": pa.schema(
        [("property", _STRING), ("language", _STRING), ("label", _STRING), ("seq", pa.int64())]
    ),
}


@dataclass(frozen=True)
class Job:
    """One dump file to convert: its `kind` (a key of `SCHEMAS`), the file's `language`
    (`None` for the hub and the ontology), the built `languages` and link `pivots`."""

    kind: str
    path: Path
    output: Path
    language: str | None = None
    languages: tuple[str, ...] = ()
    pivots: tuple[str, ...] | None = None


def _label_text(obj: object, language: str | None) -> str | None:
    """The label text of a literal if it is in `language` (or untagged), else None."""
    if not isinstance(obj, Literal):
        return None
    if obj.language is not None:
        if obj.language.replace("_", "-") != language:
            return None
    elif obj.datatype not in (None, XSD_STRING):
        return None
    return " ".join(obj.value.split()) or None


def record_of(job: Job, triple: Triple, seq: int) -> tuple | None:
    """The record of one triple of `job`'s file (see the module doc), `seq` its ordinal
    among the file's triples; None if the triple makes none."""
    subject, predicate, obj = triple
    language = job.language
    if job.kind == "labels":
        if predicate == RDFS_LABEL and (text := _label_text(obj, language)) is not None:
            return language, canonical_iri(subject), text, seq
    elif job.kind == "objects":
        if type(obj) is str and predicate not in (RDF_TYPE, OWL_SAME_AS):
            return language, canonical_iri(subject), canonical_iri(predicate), canonical_iri(obj)
    elif job.kind in ("links", "hub"):
        if predicate != OWL_SAME_AS or type(obj) is not str:
            return None
        obj = canonical_iri(obj)
        other = language_of_iri(obj)
        if job.kind == "hub":
            return (subject, other, obj) if other in job.languages else None
        if other == language or other not in job.languages:
            return None
        pivots = job.pivots
        if pivots is None or language in pivots or other in pivots:
            return language, canonical_iri(subject), other, obj
    elif job.kind == "ontology":
        if predicate == RDFS_LABEL and isinstance(obj, Literal) and obj.language:
            if text := " ".join(obj.value.split()):
                return subject, obj.language.replace("_", "-"), text, seq
    else:
        raise ValueError(f"unknown record kind {job.kind!r}")
    return None


def _records(job: Job, options: ReadOptions, stats: ReadStats) -> Iterator[tuple]:
    """The records of `job.path` (see the module doc), in file order, row by row."""
    for seq, triple in enumerate(options.triples(job.path, stats)):
        if (record := record_of(job, triple, seq)) is not None:
            yield record


def convert(job: Job, options: ReadOptions, vectorised: bool = True) -> ReadStats:
    """Write the records of one dump file to `job.output`; returns the file's counts.

    `vectorised`: the common lines in Arrow compute (`records_fast`, the default), or every
    line by `read_triples` and `_records` (the reference: same records, same counts).
    """
    schema = SCHEMAS[job.kind]
    if vectorised:
        from prixlm.data.dbpedia.records_fast import write_records

        return write_records(job, options, schema, BATCH_ROWS)
    stats = ReadStats()
    columns: list[list] = [[] for _ in schema]
    job.output.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(job.output, schema, compression="zstd") as writer:

        def flush() -> None:
            arrays = [pa.array(v, type=f.type) for v, f in zip(columns, schema, strict=True)]
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
            for values in columns:
                values.clear()

        appends = [values.append for values in columns]
        for record in _records(job, options, stats):
            for append, value in zip(appends, record, strict=True):
                append(value)
            if len(columns[0]) == BATCH_ROWS:
                flush()
        flush()  # the rest (an empty file still gets its schema)
    return stats


def convert_all(jobs: Sequence[Job], options: ReadOptions, num_proc: int = 1) -> None:
    """Convert every job's file, `num_proc` at a time in worker processes (1, or less than
    `POOL_MIN_BYTES` of input: in this one).

    The per-file counts are stored in `options.stats` under each file's path, in `jobs`
    order whatever order the workers finish in.
    """
    total = sum(job.path.stat().st_size for job in jobs)
    if num_proc <= 1 or len(jobs) <= 1 or total < POOL_MIN_BYTES:
        for job in tqdm(jobs, desc="parse", unit=" files", disable=not options.progress):
            options.stats[str(job.path)] = convert(job, options)
        return
    quiet = ReadOptions(options.strict, False, options.max_line_bytes)
    context = multiprocessing.get_context("forkserver")  # no fork of a threaded parent
    context.set_forkserver_preload(
        [__name__, f"{__package__}.records_fast"]
    )  # imported once, in the server
    with ProcessPoolExecutor(min(num_proc, len(jobs)), mp_context=context) as pool:
        # Largest files first: the last worker to finish then has the least left.
        order = sorted(jobs, key=lambda job: -job.path.stat().st_size)
        futures = {job: pool.submit(convert, job, quiet) for job in order}
        done = tqdm(total=len(jobs), desc="parse", unit=" files", disable=not options.progress)
        results = {}
        try:
            for job, future in futures.items():
                results[job] = future.result()
                done.update()
        except BaseException:
            for future in futures.values():
                future.cancel()
            raise
        finally:
            done.close()
    for job in jobs:
        options.stats[str(job.path)] = results[job]


__all__ = [
    "BATCH_ROWS",
    "POOL_MIN_BYTES",
    "SCHEMAS",
    "Job",
    "ReadOptions",
    "convert",
    "convert_all",
]
