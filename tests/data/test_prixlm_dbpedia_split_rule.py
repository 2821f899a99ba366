"""The split draw and the inverse-relation rule of the DBpedia builder, checked against the
rules as documented (an independent re-implementation here)."""

from __future__ import annotations

from dbpedia_dumps import documented_split

from prixlm.data.dbpedia import SplitSettings
from prixlm.data.dbpedia.splits import _draw as draw_sql
from prixlm.data.dbpedia.splits import inverse_relations_of, split_of


def test_split_draw_is_the_documented_rule() -> None:
    import duckdb

    keys = [(f"s{i}", "r", f"o{i}") for i in range(400)]
    settings = SplitSettings(test_fraction=0.1, validation_fraction=0.05, seed=3)
    con = duckdb.connect()
    con.execute("CREATE TABLE k (a VARCHAR, b VARCHAR, c VARCHAR)")
    con.executemany("INSERT INTO k VALUES (?, ?, ?)", keys)
    documented = "md5_number_upper(concat_ws(chr(31), '3', a, b, c))"
    for draw in (documented, draw_sql(settings, "a", "b", "c")):  # the doc's SQL, the build's
        drawn = dict(
            ((a, b, c), split)
            for a, b, c, split in con.execute(
                f"SELECT *, {split_of(settings, draw)} FROM k"
            ).fetchall()
        )
        assert drawn == {key: documented_split(key, settings) for key in keys}
    counts = {split: list(drawn.values()).count(split) for split in ("test", "validation")}
    assert 40 - 18 <= counts["test"] <= 40 + 18 and 20 - 13 <= counts["validation"] <= 20 + 13


def test_inverse_relations_rule() -> None:
    train = [("a", "capital", "x"), ("b", "capital", "y"), ("x", "country", "a")]
    train += [("y", "country", "b"), ("z", "country", "c"), ("q", "country", "r")]
    train += [("m", "borders", "n"), ("n", "borders", "m"), ("p", "borders", "t")]
    # capital: 2/2 mirrored by country; country: 2/4 by capital; borders: 2/3 by itself
    assert inverse_relations_of(train, 0.5) == {
        "borders": ["borders"],
        "capital": ["country"],
        "country": ["capital"],
    }
    assert inverse_relations_of(train, 0.6) == {"borders": ["borders"], "capital": ["country"]}
    assert inverse_relations_of(train, 1.0) == {"capital": ["country"]}
