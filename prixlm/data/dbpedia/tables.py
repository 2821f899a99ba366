"""The paper's construction (§3 "Data") as SQL over the record files (`read_rows`), in DuckDB.

Per language L, the entities are the resources with an `rdfs:label` in L (the first label
in file order wins); a fact (s, p, o) of L's object-facts file is kept when s and o both
have an L label and becomes the text triple (label(s), name(p), label(o)); of facts with
the same text, the first by IRIs is kept. A relation's name is its ontology label in L,
else its English ontology label (when an ontology file is given), else its local name
split into lower-case words (`relation_words`). A link pairs one entity's labels in two
built languages (from the languages' link files and from Wikidata hub files); with
`link_languages`, only links with one end in those languages are kept.

Entities joined by links form one language-independent entity (the key of the per-fact
split protocol) whose id is its group's English IRI (`http://dbpedia.org/resource/...`,
DBpedia's hub edition), else the smallest IRI of the group: connected components of the
link graph, found by label propagation with pointer jumping, one SQL statement a round
(`entity_ids`; rounds grow with the logarithm of a group's diameter, and every round is a
bounded join). The graph (`id_links`) is the links plus every line of the built
languages' link files (and of the hub) that names an English IRI, whether English is built
or not, labelled or not, and whatever `link_languages`: so an entity whose own language's
lines link it to English keeps that English IRI as its id in every build that includes its
language, with or without English or any other language.

Tables made here (all string columns): `labels(language, iri, label)`,
`facts(language, s_iri, r_iri, o_iri, subject, object)` (with the IRIs' labels; a fact
listed twice in a dump is here twice: `fact_counts(language, n)` counts distinct facts),
`texts(language, subject, relation, object, s_iri, r_iri, o_iri)`, `pairs(la, ia, lb, ib)`
(each unordered link once, `la < lb`), `entity(iri, eid)` (the IRIs of `id_links` only;
any other IRI is its own id) and `link_ends(subject_language, subject, object_language,
object, subject_id, object_id)` (both directions of every link, labelled). The facts' label joins
are a statement each, so that one large hash table is in memory at a time (fused, they made
a 10M-line build fail under a 2 GB limit), and neither has a `DISTINCT`: the object's join
with one made a 10M-line build fail under 1 GB (each alone passed).

What the joins leave out is counted on the way (`drops`): the fact lines and links with an
end unlabelled in its language, the link lines whose target's language is unknown, and the
IRIs that link lines join.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from prixlm.data.dbpedia.drops import (
    count_linked,
    count_unknown_targets,
    count_unlabelled_facts,
    count_unlabelled_links,
)
from prixlm.data.dbpedia.read_rows import ID_LANGUAGE
from prixlm.data.dbpedia.schema import RECORD_COLUMNS
from prixlm.data.relation_names import relation_words

# The IRI prefixes of English, DBpedia's hub edition (`dumps.language_of_iri` reads them as
# `en`): a link group's id is its English IRI where it has one (`entity_ids`).
ENGLISH_IRI = ("http://dbpedia.org/resource/", "https://dbpedia.org/resource/")
# Distinct facts per language (`build_texts` counts them in `fact_counts`).
FACT_COUNTS = "SELECT language, n FROM fact_counts"


def sql_list(paths: Sequence[Path]) -> str:
    """`[...]` of quoted paths for `read_parquet`."""
    return "[" + ", ".join(quote(str(path)) for path in paths) + "]"


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


_SQL_TYPES = {"string": "VARCHAR", "int64": "BIGINT"}


def _source(records: dict[str, list[Path]], kind: str) -> str:
    """`read_parquet` of the record files of `kind`, or an empty relation with its columns
    (`schema.RECORD_COLUMNS`)."""
    if paths := records.get(kind):
        return f"read_parquet({sql_list(paths)})"
    names = ", ".join(f"NULL::{_SQL_TYPES[t]} AS {n}" for n, t in RECORD_COLUMNS[kind])
    return f"(SELECT {names} LIMIT 0)"


def build_tables(
    con: duckdb.DuckDBPyConnection,
    records: dict[str, list[Path]],
    *,
    pivots: Sequence[str] | None = None,
) -> None:
    """Create `labels`, `facts`, `relation_names`, `texts`, `pairs`, `entity` and `link_ends`
    (module doc) from the record files `records[kind]` (`schema.RECORD_COLUMNS`), and the
    counts of what they leave out (`drops.count_*`)."""
    labels = _source(records, "labels")
    first_of_each(con, "labels", labels, "language, iri", "seq, label", "language, iri, label")
    objects = _source(records, "objects")
    con.execute(  # one join a statement: one hash table in memory at a time
        f"""CREATE TABLE subject_facts AS SELECT f.language, f.subject AS s_iri,
            f.relation AS r_iri, f.object AS o_iri, s.label AS subject
        FROM {objects} f JOIN labels s ON s.language = f.language AND s.iri = f.subject"""
    )
    con.execute(  # a fact listed twice stays twice here: the texts' window keeps one
        """CREATE TABLE facts AS SELECT f.*, o.label AS object FROM subject_facts f
        JOIN labels o ON o.language = f.language AND o.iri = f.o_iri"""
    )
    con.execute("DROP TABLE subject_facts")
    count_unlabelled_facts(con, objects)
    count_unknown_targets(con, records.get("links", []))
    _relation_names(con, records)
    build_texts(con)
    _pairs(con, records, pivots)
    entity_ids(con, "id_links")
    count_linked(con)
    con.execute("DROP TABLE id_links")
    con.execute(  # both directions of every link, with their labels
        """CREATE TABLE link_ends AS
        SELECT d.sl AS subject_language, s.label AS subject, d.ol AS object_language,
            o.label AS object, d.sid AS subject_id, d.oid AS object_id
        FROM (SELECT la AS sl, ia AS sid, lb AS ol, ib AS oid FROM pairs
              UNION ALL SELECT lb, ib, la, ia FROM pairs) d
        JOIN labels s ON s.language = d.sl AND s.iri = d.sid
        JOIN labels o ON o.language = d.ol AND o.iri = d.oid"""
    )


def first_of_each(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    key: str,
    order: str,
    columns: str,
    *,
    keep_shared: bool = False,
) -> None:
    """Create `table(<columns>)`: of the rows of relation `source` with the same `key`
    columns, the first by `order` (`key`, `order`, `columns`: comma-separated SQL). With
    `keep_shared`, the table `shared(<key>)` of the keys of two rows or more stays.

    Not a window over every row: that ran out of memory (the facts of a 10M-line build under
    a 1 GB limit; DuckDB 1.4's window does not spill enough), and not `arg_min` (its string
    states stay outside the memory limit). The keys that two or more rows share are found
    by a hash aggregate, the window runs over their rows only, and an anti-join keeps every
    other row: all of it spills, and it took 0.55 -> 0.3 s (labels) and 0.85 -> 0.64 s
    (texts) at 3M lines, where few keys are shared."""
    con.execute(
        f"CREATE TABLE shared AS SELECT {key} FROM {source} GROUP BY ALL HAVING count(*) > 1"
    )
    con.execute(
        f"""CREATE TABLE {table} AS
        SELECT {columns} FROM {source} ANTI JOIN shared USING ({key})
        UNION ALL (
            SELECT {columns} FROM {source} SEMI JOIN shared USING ({key})
            QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {order}) = 1)"""
    )
    if not keep_shared:
        con.execute("DROP TABLE shared")


def build_texts(con: duckdb.DuckDBPyConnection) -> None:
    """Create `texts`: one row per text; of the facts with the same text, the first by IRIs
    (texts shared by two facts or more: homonyms, facts listed twice).

    Also `fact_counts(language, n)`: the distinct facts of each language. A fact listed
    twice has one text (the same IRIs have the same labels and name), so it is among the
    shared texts' few facts: the facts less their repeats there, not a `DISTINCT` over
    every fact (1.6 s of a 10M-line build)."""
    key = "language, subject, relation, object"
    facts = """(SELECT f.language, f.subject, n.name AS relation, f.object, f.s_iri, f.r_iri,
        f.o_iri FROM facts f
        JOIN relation_names n ON n.language = f.language AND n.relation = f.r_iri)"""
    first_of_each(con, "texts", facts, key, "s_iri, r_iri, o_iri", "*", keep_shared=True)
    con.execute(
        f"""CREATE TABLE fact_counts AS
        WITH listed AS (SELECT language, count(*) AS n FROM facts GROUP BY 1),
        repeats AS (
            SELECT language, sum(n - 1) AS n FROM (
                SELECT language, s_iri, r_iri, o_iri, count(*) AS n
                FROM {facts} SEMI JOIN shared USING ({key}) GROUP BY ALL)
            GROUP BY 1)
        SELECT language, (listed.n - coalesce(repeats.n, 0))::BIGINT AS n
        FROM listed LEFT JOIN repeats USING (language)"""
    )
    con.execute("DROP TABLE shared")


def _relation_names(con: duckdb.DuckDBPyConnection, records: dict[str, list[Path]]) -> None:
    relations = [r for (r,) in con.execute("SELECT DISTINCT r_iri FROM facts").fetchall()]
    words = pa.table({"relation": relations, "words": [relation_words(r) for r in relations]})
    con.register("words", words)
    source = _source(records, "ontology")
    con.execute(
        f"""CREATE TABLE ontology AS SELECT property, language, arg_min(label, seq) AS label
        FROM {source} GROUP BY property, language"""
    )
    con.execute(
        """CREATE TABLE relation_names AS
        SELECT f.language, f.r_iri AS relation, coalesce(own.label, en.label, w.words) AS name
        FROM (SELECT DISTINCT language, r_iri FROM facts) f
        JOIN words w ON w.relation = f.r_iri
        LEFT JOIN ontology own ON own.property = f.r_iri AND own.language = f.language
        LEFT JOIN ontology en ON en.property = f.r_iri AND en.language = 'en'"""
    )
    con.unregister("words")


def _pairs(
    con: duckdb.DuckDBPyConnection,
    records: dict[str, list[Path]],
    pivots: Sequence[str] | None,
) -> None:
    """Create `pairs` (the links between labelled entities of built languages, with
    `pivots` one end in them) and `id_links(ia, ib)`, the graph of the entity ids
    (`id_links`)."""
    links = _source(records, "links")
    hub = _source(records, "hub")
    # Members of built languages and English (`read_rows`); `pairs` keeps the labelled ones.
    con.execute(f"CREATE TABLE hub_members AS SELECT DISTINCT hub, language, iri FROM {hub}")
    keep = (
        "TRUE"
        if pivots is None
        else f"(la IN ({', '.join(map(quote, pivots))}) OR lb IN ({', '.join(map(quote, pivots))}))"
    )
    english = f"(la = {quote(ID_LANGUAGE)} OR lb = {quote(ID_LANGUAGE)})"
    con.execute(  # the DISTINCT before the label joins: with them, it failed under 1 GB
        f"""CREATE TABLE listed AS SELECT DISTINCT la, ia, lb, ib FROM (
            SELECT
                CASE WHEN language < other_language THEN language ELSE other_language END AS la,
                CASE WHEN language < other_language THEN subject ELSE object END AS ia,
                CASE WHEN language < other_language THEN other_language ELSE language END AS lb,
                CASE WHEN language < other_language THEN object ELSE subject END AS ib
            FROM {links}
            UNION ALL
            SELECT a.language, a.iri, b.language, b.iri
            FROM hub_members a JOIN hub_members b ON a.hub = b.hub AND a.language < b.language
        ) WHERE {keep} OR {english}"""
    )
    con.execute("DROP TABLE hub_members")
    con.execute(  # labels are unique by (language, iri): the left joins add no row
        """CREATE TABLE link_lines AS
        SELECT listed.*, a.iri IS NOT NULL AS labelled_a, b.iri IS NOT NULL AS labelled_b
        FROM listed
        LEFT JOIN labels a ON a.language = listed.la AND a.iri = listed.ia
        LEFT JOIN labels b ON b.language = listed.lb AND b.iri = listed.ib"""
    )
    con.execute("DROP TABLE listed")
    con.execute(
        f"""CREATE TABLE pairs AS SELECT la, ia, lb, ib FROM link_lines
        WHERE labelled_a AND labelled_b AND {keep}"""
    )
    count_unlabelled_links(con, "link_lines", keep)
    con.execute(id_links("link_lines"))
    con.execute("DROP TABLE link_lines")


def id_links(lines: str) -> str:
    """SQL creating `id_links(ia, ib)` from the table `lines(la, ia, lb, ib, labelled_a,
    labelled_b)`: the links between labelled IRIs, and every link between an English IRI
    (`read_rows.ID_LANGUAGE`), labelled or not, and a labelled IRI.

    The English ends need no label and no `link_languages`: a build without English (or
    without its link files' pivot) still reads the lines from its languages to English (the
    readers keep them, `read_rows`), and joins a group through them as a build with English
    does, so that the group's id, its English IRI, is the same in both. A group whose lines
    name no English IRI takes its smallest IRI among the built languages' labelled IRIs:
    adding a language that links to it can change that id, and re-draw its facts."""
    en = quote(ID_LANGUAGE)
    return f"""CREATE TABLE id_links AS SELECT ia, ib FROM {lines}
        WHERE (labelled_a OR la = {en}) AND (labelled_b OR lb = {en})"""


def entity_ids(con: duckdb.DuckDBPyConnection, links: str) -> int:
    """Create `entity(iri, eid)`: each linked IRI's group id (the IRIs linked to it through
    the table `links(ia, ib, ...)`, directly or not; the build's: `id_links`), the group's
    smallest English IRI (`ENGLISH_IRI`), else its smallest IRI. Returns the number of
    rounds.

    The id is the key of the fact split's draw, and English, DBpedia's hub, is the language
    a link group keeps when languages are added: with the smallest IRI alone, adding a
    language whose IRIs sort before `http://dbpedia.org/` (`http://ar.dbpedia.org/...`:
    af, ar, bg, ca, cs, da) made its IRI the id of every group it joined and re-drew the
    other languages' splits. Where the smallest IRI of a group is English (every language
    sorting after `db`: de, el, en, es, fi, fr, ja, ...), the id is the same either way.
    A build without English still finds the English IRIs that its languages' link lines
    name (`id_links`). A group without an English IRI (an entity English lacks) still takes
    its smallest IRI: adding a language whose IRI sorts before the group's smallest
    re-draws that group's facts.

    The rounds run on integers: each linked IRI is numbered, English IRIs first, each part
    in IRI order (`nodes`), so the smallest number of a group is its id; aggregates over
    integers are cheaper than over strings and keep no strings outside DuckDB's memory limit.
    """
    english = " OR ".join(f"starts_with(iri, {quote(prefix)})" for prefix in ENGLISH_IRI)
    con.execute(
        f"""CREATE TABLE nodes AS
        SELECT iri, row_number() OVER (ORDER BY NOT ({english}), iri) AS n
        FROM (SELECT ia AS iri FROM {links} UNION SELECT ib FROM {links})"""
    )
    con.execute(
        f"""CREATE TABLE edges AS
        WITH numbered AS (
            SELECT x.n AS a, y.n AS b FROM {links} p
            JOIN nodes x ON x.iri = p.ia JOIN nodes y ON y.iri = p.ib)
        SELECT DISTINCT a, b FROM (SELECT a, b FROM numbered UNION ALL SELECT b, a FROM numbered)"""
    )
    con.execute(
        "CREATE TABLE comp AS SELECT a AS iri, least(a, min(b)) AS eid FROM edges GROUP BY a"
    )
    rounds = 0
    while True:
        rounds += 1
        # Each IRI takes the smallest id of its neighbours, then the id of its id (jumping).
        con.execute(
            """CREATE OR REPLACE TABLE spread AS
            SELECT e.a AS iri, least(min(c.eid), any_value(own.eid)) AS eid
            FROM edges e JOIN comp c ON c.iri = e.b JOIN comp own ON own.iri = e.a
            GROUP BY e.a"""
        )
        con.execute(
            """CREATE OR REPLACE TABLE jumped AS
            SELECT s.iri, least(s.eid, j.eid) AS eid FROM spread s JOIN spread j ON j.iri = s.eid"""
        )
        (changed,) = con.execute(
            "SELECT count(*) FROM jumped j JOIN comp c USING (iri) WHERE j.eid <> c.eid"
        ).fetchone()
        con.execute("CREATE OR REPLACE TABLE comp AS SELECT * FROM jumped")
        if not changed:
            break
    con.execute(
        """CREATE OR REPLACE TABLE entity AS SELECT x.iri, y.iri AS eid
        FROM comp c JOIN nodes x ON x.n = c.iri JOIN nodes y ON y.n = c.eid"""
    )
    for table in ("nodes", "edges", "spread", "jumped", "comp"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return rounds


__all__ = [
    "ENGLISH_IRI",
    "FACT_COUNTS",
    "build_tables",
    "build_texts",
    "entity_ids",
    "first_of_each",
    "id_links",
    "quote",
    "relation_words",
    "sql_list",
]
