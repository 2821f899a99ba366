"""Deterministic splits, the inverse-relation leakage filter and the filter lists, in SQL.

Runs on the tables of `tables` and makes the view `rows(config, split, <schema.Row
columns>, h)` over `ROW_TABLES`: every row of the dataset, `h` its place in its split's file.
Each table is dropped as soon as it is counted and no longer read (less to spill).

**The draw.** Each split key gets `draw(key) = md5_number_upper(seed ␟ part ␟ ...)`, the
first 8 bytes of the MD5 digest of the key's parts joined by U+001F after the seed, read as
a little-endian unsigned 64-bit integer (in Python:
`int.from_bytes(hashlib.md5("\\x1f".join((str(seed), *parts)).encode()).digest()[:8],
"little")`). A key is test when `draw < test_fraction · 2^64`, validation when below
`(test_fraction + validation_fraction) · 2^64`, else train: no global ranking, so a key's
split depends on it and the seed alone (adding languages or facts moves no other fact
whose key stays the same: see the `fact` protocol's entity ids below), and each split's
share is its fraction in expectation (binomial: ±3·sqrt(f(1-f)/n)).
Before the DuckDB build the keys were ranked by blake2b and cut at exact counts (`round(f·n)`): the
same seed now draws other splits, with the same guarantees (one split per fact in every
language, the inverse filter, the filter lists); everything that does not depend on the
draw (rows, filter lists, links) is identical to the earlier builder's.

**Split protocols** (`SplitSettings.protocol`):

* `language` (the paper, §3.2): the key of a text triple is `(language, subject IRI,
  relation IRI, object IRI)`: an independent draw per language. The same fact may then be
  test in one language and train in another.
* `fact` (default): the key is the fact `(entity_id(s), relation IRI, entity_id(o))`, with
  entity ids from the links (`tables.entity_ids`): every language's copy of a fact goes to
  the fact's split, so no fact is test in one language and train in another. The honest
  protocol when languages hold the same facts (CLDR). An entity's id is the English IRI
  (`http://dbpedia.org/resource/...`, DBpedia's hub) of its link group, and the group is
  read from every line of the built languages' link files that names an English IRI,
  whether English is built or not and whatever `--link_languages` (`tables.id_links`). So a
  language's split is the same in every build that includes it (alone, without English,
  with more languages, with `--link_languages`) wherever its own link lines name each
  entity's English IRI (DBpedia's interlanguage links; CLDR exports, which link to English
  also when they do not export it: German alone, from an export of German alone or of
  German, English and Japanese, draws the German split of a German, English and Japanese
  build, row for row), but for the inverse filter below: its inverse pairs are found over
  every built language's training triples pooled, so adding or leaving out a language can
  make or unmake a pair and so remove validation or test rows of another language, or keep
  rows there (even rows whose reverse is a training row of their own language) that a
  build without it removes; training rows stay. A group
  with several English IRIs takes the smallest: lines of another language that join two
  such groups re-draw their facts. A group whose lines name no English IRI takes its
  smallest IRI among the built languages' linked, labelled IRIs: a language that links to
  it with an IRI that sorts first re-draws the group's facts. The facts of an entity no
  link reaches are drawn on its IRI, one language at a time: where its labels are the same
  in several languages, the same text row can be train in one and test in another.

**Inverse-relation filter** (after Akrami et al., 2020, "Realistic Re-evaluation of
Knowledge Graph Completion Methods"). From the training triples of all languages, with
entities keyed by IRI (`language` protocol) or entity id (`fact` protocol), let `T_r` be the
set of `(s, o)` pairs of relation `r`. Relation `r2` is an *inverse* of `r1` (possibly
`r2 == r1`, a symmetric relation) when

    |{(s, o) in T_r1 : (o, s) in T_r2}| / |T_r1|  >=  inverse_threshold   (default 0.1).

Akrami et al. ask for the same ratio over `|T_r2|` too, at 0.8, which finds near-duplicate
relations only. We ask only for the coverage of `r1`, and at 0.1, because any systematic
mirror gives away the mirrored test triples, however large `r2` is and however the mirror
is spread over several relations (CLDR: a language's "main territory" is mirrored 53% by a
territory's "spoken language", 18% by "official language", 13% by "regional language");
coincidental reverse pairs in a real KB cover far less than 10% of a relation. The ratio
is over `|T_r1|` alone: a mirror that covers much of `r2` but little of `r1` does not make
`r2` an inverse of `r1`, and the test triples of `r1` that it mirrors stay (CLDR: 36 pairs
are 0.383 of `mainLanguage` but 0.069 of `script`, so `script` test triples whose reverse
is a training `mainLanguage` triple stay: 31 of the 2,435 test triples of Table 1's nine
languages).
A validation or test triple `(s, r1, o)` is removed when `(o, r2, s)` is a training triple
for an inverse `r2` of `r1` (an anti-join with the blocked triples, computed once). The
paper (footnote 6) removes it for *any* `r2`, these too: that rule is
`--inverse_threshold 0` (no inverses listed).

**Filter lists**: every row carries `all_objects`, the sorted labels of every true object of
its `(subject, relation)` text query in its language, over all splits and before any
filtering (for links: of `(subject language, subject, object language)`). The filtered
setting (Bordes et al., 2013; the paper's footnote 6) removes these from the ranking,
except the gold.

**Length filter**: with a `lengths` table (the tokenised length of each text row), rows of
`max_length` (30) tokens or more are dropped before splitting, as in the paper (§3.1).

**Row order** within a split file: by `md5_number` (all 128 bits) of the seed and the row's
identity (`schema.order_key`), the column `h`: fixed, pseudo-random, independent of threads.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from prixlm.data.dbpedia.dataset_rows import DatasetRows, LanguageStats
from prixlm.data.dbpedia.schema import LINKS, SplitSettings
from prixlm.data.dbpedia.tables import FACT_COUNTS

SEP = "chr(31)"  # U+001F between the parts of a hashed key


def _draw(settings: SplitSettings, *parts: str) -> str:
    """SQL of the 64-bit draw of a key (module doc): the low 64 bits of DuckDB's
    `md5_number`, the same value as its `md5_number_upper` at half the cost (DuckDB 1.4)."""
    joined = ", ".join((f"'{settings.seed}'", *parts))
    return f"(md5_number(concat_ws({SEP}, {joined})) & {2**64 - 1}::UHUGEINT)::UBIGINT"


def order_draw(settings: SplitSettings) -> str:
    """SQL of a row's place in its split file (module doc: row order)."""
    parts = ("subject_language", "object_language", "subject_id", "relation_id", "object_id")
    return f"md5_number(concat_ws({SEP}, '{settings.seed}', {', '.join(parts)}))"


def _cut(fraction: float) -> int:
    return min(int(fraction * 2**64), 2**64 - 1)


def split_of(settings: SplitSettings, draw: str) -> str:
    """SQL: the split of a key with the draw `draw` (module doc)."""
    test = _cut(settings.test_fraction)
    validation = _cut(settings.test_fraction + settings.validation_fraction)
    return (
        f"CASE WHEN {draw} < {test}::UBIGINT THEN 'test' "
        f"WHEN {draw} < {validation}::UBIGINT THEN 'validation' ELSE 'train' END"
    )


def inverse_relations(con: duckdb.DuckDBPyConnection, train: str, threshold: float) -> None:
    """Create `inverses(r1, r2)` from the distinct training keys in table `train(s, r, o)`."""
    con.execute(
        f"""CREATE OR REPLACE TABLE inverses AS
        WITH sizes AS (SELECT r, count(*) AS n FROM {train} GROUP BY r),
        mirrored AS (
            SELECT a.r AS r1, b.r AS r2, count(*) AS k
            FROM {train} a JOIN {train} b ON b.s = a.o AND b.o = a.s
            GROUP BY a.r, b.r)
        SELECT r1, r2 FROM mirrored JOIN sizes ON sizes.r = mirrored.r1
        WHERE k::DOUBLE / n >= {float(threshold)!r}"""
    )


def inverse_relations_of(
    train: list[tuple[str, str, str]], threshold: float
) -> dict[str, list[str]]:
    """`{r1: [r2, ...]}` of `(s, r, o)` training keys by the module doc's rule (the same SQL)."""
    import pyarrow as pa

    con = duckdb.connect()
    keys = pa.table({name: [t[i] for t in train] for i, name in enumerate("sro")})
    con.register("keys", keys)
    con.execute("CREATE TABLE train_keys AS SELECT DISTINCT s, r, o FROM keys")
    inverse_relations(con, "train_keys", threshold)
    return _inverse_dict(con)


def _inverse_dict(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for r1, r2 in con.execute("SELECT r1, r2 FROM inverses ORDER BY r1, r2").fetchall():
        found.setdefault(r1, []).append(r2)
    return found


# Keys whose lists are aggregated in one statement. DuckDB keeps the states of `list(...)`
# outside its buffer manager (`memory_limit` does not bound them and they cannot spill:
# 3M keys took 0.9 GB beyond a 1 GB limit, then failed): a bucket at a time bounds them.
LIST_BUCKET_ROWS = 1_000_000


def object_lists(con: duckdb.DuckDBPyConnection, name: str, source: str, keys: str) -> int:
    """Create table `name(<keys>, all_objects)`: per distinct `keys` of table `source`, the
    sorted distinct values of its column `object`, aggregated for one bucket of keys (by
    their hash) at a time, `LIST_BUCKET_ROWS` source rows a bucket. Returns the buckets."""
    (count,) = con.execute(f"SELECT count(*) FROM {source}").fetchone()
    buckets = max(1, -(-count // LIST_BUCKET_ROWS))
    lists = f"""SELECT {keys}, list(DISTINCT object ORDER BY object) AS all_objects
        FROM {source} WHERE hash({keys}) % {buckets} = """
    con.execute(f"CREATE TABLE {name} AS {lists} 0 GROUP BY ALL")
    for bucket in range(1, buckets):
        con.execute(f"INSERT INTO {name} {lists} {bucket} GROUP BY ALL")
    return buckets


def build_rows(
    con: duckdb.DuckDBPyConnection,
    languages: list[str],
    settings: SplitSettings,
    lengths: bool = False,
) -> DatasetRows:
    """Split and filter the `texts` and `link_ends` into the view `rows` over `ROW_TABLES`
    (module doc).

    With `lengths`, the tables `text_lengths(language, subject, relation, object, n)` and
    `link_lengths(subject_language, subject, object_language, object, n)` hold the
    tokenised lengths. Each table is dropped once counted and no longer read, so that
    what follows has the memory (less spilling). Returns the statistics (no shards yet).
    """
    stats = {language: LanguageStats() for language in languages}
    _count(con, stats, "labelled_entities", "SELECT language, count(*) FROM labels GROUP BY 1")
    _count(con, stats, "facts", FACT_COUNTS)
    _count(con, stats, "removed_length", "SELECT language, count(*) FROM texts GROUP BY 1")
    _drop(con, "labels", "facts", "fact_counts", "pairs")  # from here on: texts, entity, link_ends
    object_lists(con, "text_lists", "texts", "language, subject, relation")
    keys = ("language", "subject", "relation", "object")
    short = _shorter_than("text_lengths", "t", keys, settings.max_length) if lengths else ""
    if settings.protocol == "fact":
        s_key, o_key = "coalesce(es.eid, t.s_iri)", "coalesce(eo.eid, t.o_iri)"
        draw = _draw(settings, "s_key", "r_iri", "o_key")
    else:
        s_key, o_key = "t.s_iri", "t.o_iri"
        draw = _draw(settings, "language", "s_iri", "r_iri", "o_iri")
    con.execute(  # the kept (short) text rows, with their keys and splits
        f"""CREATE TABLE drawn AS SELECT *, {split_of(settings, draw)} AS split FROM (
            SELECT t.*, {s_key} AS s_key, {o_key} AS o_key FROM texts t
            LEFT JOIN entity es ON es.iri = t.s_iri LEFT JOIN entity eo ON eo.iri = t.o_iri
            {short})"""
    )
    _drop(con, "texts", "entity")
    _count(con, stats, "removed_inverse", "SELECT language, count(*) FROM drawn GROUP BY 1")
    con.execute(
        """CREATE TABLE train_keys AS
        SELECT DISTINCT s_key AS s, r_iri AS r, o_key AS o FROM drawn WHERE split = 'train'"""
    )
    relation = "b.r = t.r_iri AND "  # (s, r1, o) is blocked by (o, r2, s) in training
    if settings.inverse_threshold > 0:  # r2 an inverse of r1
        inverse_relations(con, "train_keys", settings.inverse_threshold)
        blocked = """SELECT DISTINCT t.o AS s, i.r1 AS r, t.s AS o
            FROM train_keys t JOIN inverses i ON i.r2 = t.r"""
    else:  # the paper's rule: any r2 (no relation-level inverses)
        con.execute("CREATE OR REPLACE TABLE inverses (r1 VARCHAR, r2 VARCHAR)")
        blocked, relation = "SELECT DISTINCT o AS s, s AS o FROM train_keys", ""
    con.execute(f"CREATE TABLE blocked AS {blocked}")
    _drop(con, "train_keys")
    _link_rows(con, settings, lengths)
    con.execute(  # a blocked key is never train: the left join keeps every train row
        f"""CREATE TABLE triple_rows AS SELECT *, {order_draw(settings)} AS h FROM (
        SELECT t.language AS config, t.split, 'triple' AS kind, t.subject, t.relation, t.object,
            t.language AS subject_language, t.language AS object_language,
            t.s_iri AS subject_id, t.r_iri AS relation_id, t.o_iri AS object_id, l.all_objects
        FROM drawn t LEFT JOIN blocked b
            ON t.split <> 'train' AND b.s = t.s_key AND {relation}b.o = t.o_key
        JOIN text_lists l USING (language, subject, relation)
        WHERE b.s IS NULL)"""
    )
    con.execute(
        f"CREATE VIEW rows AS {' UNION ALL '.join(f'SELECT * FROM {t}' for t in ROW_TABLES)}"
    )
    _drop(con, "drawn", "blocked", "text_lists")
    _stats(con, stats)
    return DatasetRows(stats, _inverse_dict(con), settings)


# The tables of the view `rows` (a view: inserting the links' rows into the triples' table
# took longer than their own CREATE TABLE).
ROW_TABLES = ("triple_rows", "link_rows")


def _drop(con: duckdb.DuckDBPyConnection, *tables: str) -> None:
    for table in tables:
        con.execute(f"DROP TABLE {table}")


def _count(
    con: duckdb.DuckDBPyConnection, stats: dict[str, LanguageStats], name: str, query: str
) -> None:
    """Set `stats[language].<name>` from `query`'s `(language, count)` rows."""
    for language, count in con.execute(query).fetchall():
        if language in stats:
            setattr(stats[language], name, count)


def _shorter_than(lengths: str, alias: str, keys: Sequence[str], max_length: int) -> str:
    """A semi-join keeping the rows of `alias` whose token count in the table `lengths`
    (columns `keys` + `n`) is under `max_length` (the paper's length filter)."""
    on = " AND ".join(f"n.{key} = {alias}.{key}" for key in keys)
    return f"SEMI JOIN (SELECT * FROM {lengths} WHERE n < {int(max_length)}) n ON {on}"


def _link_rows(con: duckdb.DuckDBPyConnection, settings: SplitSettings, lengths: bool) -> None:
    """Create `link_rows`: the links' rows (both directions) as `rows` shows them."""
    keys = ("subject_language", "subject", "object_language", "object")
    short = _shorter_than("link_lengths", "e", keys, settings.max_length) if lengths else ""
    object_lists(con, "link_lists", "link_ends", "subject_language, subject, object_language")
    con.execute(
        f"""CREATE TABLE link_rows AS SELECT *, {order_draw(settings)} AS h FROM (
        SELECT '{LINKS}' AS config, 'train' AS split, 'link' AS kind, e.subject, '' AS relation,
            e.object, e.subject_language, e.object_language, e.subject_id, '' AS relation_id,
            e.object_id, l.all_objects
        FROM link_ends e JOIN link_lists l USING (subject_language, subject, object_language)
        {short})"""
    )
    _drop(con, "link_ends", "link_lists")


def drop_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the view `rows` and its tables."""
    con.execute("DROP VIEW rows")
    _drop(con, *ROW_TABLES)


def _stats(con: duckdb.DuckDBPyConnection, stats: dict[str, LanguageStats]) -> None:
    """Complete `stats` (whose `removed_*` hold the counts of `texts` and `drawn`) from
    `rows`."""
    queries = {
        "links": "SELECT subject_language, count(*) FROM rows WHERE kind = 'link' GROUP BY 1",
        # UNION (distinct rows), not count(DISTINCT ...): its sets stay outside the limit
        "entities": "SELECT config, count(*) FROM (SELECT config, subject_id AS iri "
        "FROM rows WHERE kind = 'triple' UNION SELECT config, object_id FROM rows "
        "WHERE kind = 'triple') GROUP BY 1",
    }
    for name, query in queries.items():
        _count(con, stats, name, query)
    query = "SELECT config, split, count(*) FROM rows WHERE kind = 'triple' GROUP BY 1, 2"
    for language, split, count in con.execute(query).fetchall():
        stats[language].splits[split] = count
    for language_stats in stats.values():
        language_stats.triples = sum(language_stats.splits.values())
        language_stats.removed_length -= language_stats.removed_inverse  # texts - drawn
        language_stats.removed_inverse -= language_stats.triples  # drawn - triples


__all__ = [
    "DatasetRows",
    "LanguageStats",
    "build_rows",
    "drop_rows",
    "inverse_relations",
    "inverse_relations_of",
    "object_lists",
    "order_draw",
    "split_of",
]
