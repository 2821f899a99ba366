"""The length filter's token counts, per distinct text rather than per row.

A row in the Prix-LM format is its texts' tokens plus a fixed number of format tokens
(`modeling_prixlm.formatting`: each text is tokenised on its own, `_tokenize`): a triple is
`<s> [S] s </s> </s> [P] r </s> </s> [O] o [EOS] </s>`, a link has the two language tokens
instead of `r`. So each distinct text (entity label, relation name) is tokenised once, in
batches by the fast tokenizer's backend, and a row's length is a sum in SQL. The format
tokens are counted by encoding one real row of each kind (`encode_row`), not written here.
A text is counted as the formatter encodes it: composed first (NFC), so that a decomposed
label (`u` + U+0308 for `ü`) is measured by the tokens the model reads, not by more.

At paper scale this is the difference between tokenising 194M rows of 2-3 texts each in
Python (~60 µs a row: hours) and tokenising the ~60-80M distinct labels in batches.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from prixlm.data.dbpedia.schema import Row, encode_row, link_row, triple_row
from prixlm.data.dbpedia.tables import quote

BATCH_TEXTS = 50_000
# The texts of the text triples and of the links, each once (a link's object is the
# subject of its other direction).
_DISTINCT_TEXTS = """SELECT DISTINCT text FROM (
    SELECT subject AS text FROM texts UNION ALL SELECT relation FROM texts
    UNION ALL SELECT object FROM texts UNION ALL SELECT subject FROM link_ends
)"""


def count_tokens(con: duckdb.DuckDBPyConnection, tokenizer: Any, work: Path) -> None:
    """Create `token_counts(text, n)`: every distinct text's number of tokens as
    `encode_row` encodes it (`tokenizer(nfc(text), add_special_tokens=False)`, `nfc` the
    NFC form), `BATCH_TEXTS` texts a call."""
    path = work / "token_counts.parquet"
    schema = pa.schema([("text", pa.string()), ("n", pa.int64())])
    reader = con.execute(_DISTINCT_TEXTS).fetch_record_batch(BATCH_TEXTS)
    with pq.ParquetWriter(path, schema) as writer:
        for batch in reader:
            texts = batch.column(0)
            composed = [unicodedata.normalize("NFC", text) for text in texts.to_pylist()]
            # counted to drop the facts too long for a model, none run through one
            ids = tokenizer(composed, add_special_tokens=False, verbose=False)["input_ids"]
            counts = pa.array([len(i) for i in ids], pa.int64())
            writer.write_batch(pa.RecordBatch.from_arrays([texts, counts], schema=schema))
    con.execute(f"CREATE TABLE token_counts AS SELECT * FROM read_parquet({quote(str(path))})")


def _format_tokens(tokenizer: Any, row: Row, texts: Sequence[str]) -> int:
    """The tokens of `row` beyond its texts' own (its format tokens)."""
    own = sum(
        len(tokenizer(t, add_special_tokens=False, verbose=False)["input_ids"]) for t in texts
    )
    return len(encode_row(tokenizer, row).input_ids) - own


def token_lengths(
    con: duckdb.DuckDBPyConnection, tokenizer: Any, languages: Sequence[str], work: Path
) -> None:
    """Tables `text_lengths` and `link_lengths` (as `engine.lengths` makes them) from the
    token counts of the texts; `tokenizer` must hold the fact and language tokens.

    A text of no tokens raises `encode_row`'s `ValueError`, as encoding its row would.
    """
    count_tokens(con, tokenizer, work)
    first, other = languages[0], languages[-1]
    empty = con.execute("SELECT text FROM token_counts WHERE n = 0 LIMIT 1").fetchone()
    if empty is not None:  # encoding a row that holds it raises the formatter's error
        found = con.execute(
            """SELECT language, subject, relation, object FROM texts
            WHERE subject = $1 OR relation = $1 OR object = $1 LIMIT 1""",
            [empty[0]],
        ).fetchone()
        lang, s, r, o = found or (first, empty[0], "", "o")
        row = triple_row(lang, (s, r, o), ("", "", "")) if found else None
        encode_row(tokenizer, row or link_row((lang, "", s), (other, "", o)))
    triple = triple_row(first, ("a", "b", "c"), ("", "", ""))
    link = link_row((first, "", "a"), (other, "", "c"))
    triple_extra = _format_tokens(tokenizer, triple, ("a", "b", "c"))
    link_extra = _format_tokens(tokenizer, link, ("a", "c"))
    con.execute(
        f"""CREATE TABLE text_lengths AS
        SELECT language, subject, relation, object, {triple_extra} + s.n + r.n + o.n AS n
        FROM (SELECT DISTINCT language, subject, relation, object FROM texts) t
        JOIN token_counts s ON s.text = t.subject JOIN token_counts r ON r.text = t.relation
        JOIN token_counts o ON o.text = t.object"""
    )
    con.execute(
        f"""CREATE TABLE link_lengths AS
        SELECT subject_language, subject, object_language, object,
            {link_extra} + s.n + o.n AS n
        FROM (SELECT DISTINCT subject_language, subject, object_language, object
              FROM link_ends) e
        JOIN token_counts s ON s.text = e.subject JOIN token_counts o ON o.text = e.object"""
    )


__all__ = ["BATCH_TEXTS", "count_tokens", "token_lengths"]
