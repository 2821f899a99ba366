"""Dump files to Parquet record files, row by row: the reference reader of the build.

The first stage of the build (`build`): every dump file a build reads is parsed as
`prixlm.data.ntriples.read_triples` reads it and the triples the construction needs become
records (`record_of`), written to Parquet in record batches of `BATCH_ROWS`. The build
runs the vectorised reader (`read_blocks`: the same records and counts, a block of lines at
a time in Arrow compute); `write_rows` here is its reference. `convert` runs the files (and
parts of large files) over processes. The columns of each kind are declared once, in
`schema.RECORD_COLUMNS` (`record_schema` is their Arrow schema):

| kind | columns | kept |
|---|---|---|
| `labels` | `language, iri, label, seq` | `rdfs:label` literals tagged with the file's language (`dumps.label_tags`: its code or DBpedia's ISO code for it) or untagged / `xsd:string`, cleaned (`arrow_values.clean_label`: zero-width and control characters dropped, white space collapsed) |
| `objects` | `language, subject, relation, object` | IRI objects, not `rdf:type` / `owl:sameAs` |
| `links` | `language, subject, other_language, object` | `owl:sameAs` to an IRI of another built language (and, with `pivots`, one end a pivot), or to an English IRI (`ID_LANGUAGE`) |
| `hub` | `hub, language, iri` | `owl:sameAs` from a Wikidata hub to an IRI of a built language or English |
| `ontology` | `property, language, label, seq` | language-tagged `rdfs:label`s, cleaned as labels |

A link's target language is read from its IRI's host (`dumps.language_of_iri`): a
`links` line whose target is no DBpedia IRI makes no record; the readers count these lines
and keep the smallest such target in the links record file's footer (`unknown_target`,
`drops.UnknownTargets`), which the build reports.
The links to English are kept whether English is built or not, and whatever the pivots:
an English IRI is the id of its link group in the `fact` split (`tables.entity_ids`), and a
language's own lines must name it for its split to be the same in every build (the
`links` config keeps only the links between built languages, `tables`).
IRIs are canonical (`canonical_iri`) except the ontology's properties (read as written).
`seq` orders the triples of a file ("the first label wins"): the triple's ordinal in its
part of the file, plus the part's number times `SEQ_PART` (one part: the ordinal).
Malformed lines are counted per file (`ReadStats`, with `file:line` reasons) and the counts
come back to the caller; `strict` stops at the first (`MalformedLineError`). The labels
dropped for another language tag are counted on demand (`dropped_label_tags`: the build
names them when a language ends with no triples).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from prixlm.data.dbpedia.arrow_values import clean_label
from prixlm.data.dbpedia.drops import UnknownTargets
from prixlm.data.dbpedia.dumps import ReadOptions, label_tags, language_of_iri
from prixlm.data.dbpedia.schema import (
    OWL_SAME_AS,
    RDF_TYPE,
    RDFS_LABEL,
    RECORD_COLUMNS,
    RECORD_KINDS,
    XSD_STRING,
)
from prixlm.data.ntriples import Literal, ReadStats, Triple, canonical_iri

BATCH_ROWS = 100_000
# The language whose IRIs are the link groups' ids (`tables.ENGLISH_IRI`): links to it are
# read whatever the built languages and pivots (module doc).
ID_LANGUAGE = "en"
SEQ_PART = 1 << 40  # `seq` of the first triple of part k of a file: k * SEQ_PART


def record_schema(kind: str) -> pa.Schema:
    """The Arrow schema of `kind`'s record files (`schema.RECORD_COLUMNS`)."""
    return pa.schema([(name, pa.type_for_alias(type_)) for name, type_ in RECORD_COLUMNS[kind]])


SCHEMAS = {kind: record_schema(kind) for kind in RECORD_KINDS}


@dataclass(frozen=True)
class Job:
    """One dump file (or part of one) to convert: its `kind` (a key of
    `schema.RECORD_COLUMNS`), the file's `language` (`None` for the hub and the ontology),
    the built `languages` and link `pivots`."""

    kind: str
    path: Path
    output: Path
    language: str | None = None
    languages: tuple[str, ...] = ()
    pivots: tuple[str, ...] | None = None
    # A part of a plain file (`convert`): its bytes `start:stop` (whole lines), its number.
    start: int = 0
    stop: int | None = None
    part: int = 0


def _label_text(obj: object, tags: tuple[str, ...]) -> str | None:
    """The label text of a literal if it is tagged with one of `tags` (or untagged), else
    None."""
    if not isinstance(obj, Literal):
        return None
    if obj.language is not None:
        if obj.language.replace("_", "-") not in tags:
            return None
    elif obj.datatype not in (None, XSD_STRING):
        return None
    return clean_label(obj.value) or None


def record_of(job: Job, triple: Triple, seq: int) -> dict[str, str | int] | None:
    """The record of one triple of `job`'s file (see the module doc) by column name, `seq`
    its ordinal among the file's triples; None if the triple makes none."""
    subject, predicate, obj = triple
    language = job.language
    if job.kind == "labels":
        if predicate == RDFS_LABEL and (text := _label_text(obj, label_tags(language))):
            return {"language": language, "iri": canonical_iri(subject), "label": text, "seq": seq}
    elif job.kind == "objects":
        if type(obj) is str and predicate not in (RDF_TYPE, OWL_SAME_AS):
            return {
                "language": language,
                "subject": canonical_iri(subject),
                "relation": canonical_iri(predicate),
                "object": canonical_iri(obj),
            }
    elif job.kind in ("links", "hub"):
        if predicate != OWL_SAME_AS or type(obj) is not str:
            return None
        obj = canonical_iri(obj)
        other = language_of_iri(obj)
        if job.kind == "hub":
            kept = other in job.languages or other == ID_LANGUAGE
            return {"hub": subject, "language": other, "iri": obj} if kept else None
        if other == language or other is None:
            return None
        pivots = job.pivots
        built = other in job.languages and (pivots is None or language in pivots or other in pivots)
        if built or other == ID_LANGUAGE:
            return {
                "language": language,
                "subject": canonical_iri(subject),
                "other_language": other,
                "object": obj,
            }
    elif job.kind == "ontology":
        if predicate == RDFS_LABEL and isinstance(obj, Literal) and obj.language:
            if text := clean_label(obj.value):
                language = obj.language.replace("_", "-")
                return {"property": subject, "language": language, "label": text, "seq": seq}
    else:
        raise ValueError(f"unknown record kind {job.kind!r}")
    return None


def unknown_target(job: Job, triple: Triple) -> str | None:
    """The (canonical) target IRI of a line of `job`'s links file that is dropped because
    the target's language is unknown (`language_of_iri` gives None: no DBpedia host); None
    for every other line, and for the lines of other kinds of file."""
    _, predicate, obj = triple
    if job.kind != "links" or predicate != OWL_SAME_AS or type(obj) is not str:
        return None
    obj = canonical_iri(obj)
    return obj if language_of_iri(obj) is None else None


def dropped_label_tags(path: Path, language: str, options: ReadOptions) -> Counter[str]:
    """The language tags of the `rdfs:label` literals of `language`'s labels file `path`
    that the readers drop for their tag (not one of `dumps.label_tags(language)`), with
    their counts. The file is read again, row by row: a build asks only for a language
    that ended with no triples, to say why."""
    tags = label_tags(language)
    counts: Counter[str] = Counter()
    quiet = ReadOptions(max_line_bytes=options.max_line_bytes)
    for _, predicate, obj in quiet.triples(path, ReadStats()):
        if predicate == RDFS_LABEL and isinstance(obj, Literal) and obj.language is not None:
            if (tag := obj.language.replace("_", "-")) not in tags:
                counts[tag] += 1
    return counts


def _records(
    job: Job, options: ReadOptions, stats: ReadStats, unknown: UnknownTargets
) -> Iterator[dict]:
    """The records of `job.path` (see the module doc), in file order, row by row; the links
    to targets of unknown language counted in `unknown`."""
    for seq, triple in enumerate(options.triples(job.path, stats)):
        if (record := record_of(job, triple, seq)) is not None:
            yield record
        elif (target := unknown_target(job, triple)) is not None:
            unknown.add([target])


def write_rows(job: Job, options: ReadOptions) -> ReadStats:
    """Write the records of `job.path` to `job.output`, every line by `read_triples` and
    `record_of` (the reference of `read_blocks.write_records`: same records, same counts);
    returns the file's counts."""
    schema = SCHEMAS[job.kind]
    stats = ReadStats()
    unknown = UnknownTargets()
    columns: dict[str, list] = {name: [] for name in schema.names}
    job.output.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(job.output, schema, compression="zstd") as writer:

        def flush() -> None:
            arrays = [pa.array(columns[f.name], type=f.type) for f in schema]
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
            for values in columns.values():
                values.clear()

        count = 0
        for record in _records(job, options, stats, unknown):
            for name, value in record.items():
                columns[name].append(value)
            count += 1
            if count % BATCH_ROWS == 0:
                flush()
        flush()  # the rest (an empty file still gets its schema)
        if job.kind == "links":
            writer.add_key_value_metadata(unknown.footer(job.language))
    return stats


__all__ = [
    "BATCH_ROWS",
    "ID_LANGUAGE",
    "SCHEMAS",
    "SEQ_PART",
    "Job",
    "ReadOptions",
    "dropped_label_tags",
    "record_of",
    "record_schema",
    "unknown_target",
    "write_rows",
]
