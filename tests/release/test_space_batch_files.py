"""The Space's batch files are plain TSV as `python -m prixlm.complete` writes it: a `"` in a
name is text, cells are escaped, not CSV-quoted, and low probabilities keep their digits; a
decomposed (NFD) query is measured composed, as the model reads it."""

from __future__ import annotations

import math
import sys
import unicodedata
from pathlib import Path

import pytest
from space_server import SPACE_DIR

from prixlm.completion import output

sys.path.insert(0, str(SPACE_DIR))
import batch_io  # noqa: E402

NAMES = ['"Weird" Al Yankovic', '"Heroes" (album)', '5" Record', "AC\\DC", "tab\there", "a\nb"]


def _cells(path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""  # one line per row, each ending with a newline
    return [[output.unescape_cell(cell) for cell in line.split("\t")] for line in lines[:-1]]


def test_a_quote_is_part_of_the_name_not_a_csv_quote(tmp_path):
    """The `excel-tab` reader rewrote `"Weird" Al Yankovic` as `Weird Al Yankovic`, and an
    unclosed quote swallowed the tabs and lines after it."""
    path = tmp_path / "queries.tsv"
    path.write_text(
        'subject\trelation\tlanguage\n"Weird" Al Yankovic\tgenre\ten\r\n'
        '"Heroes" (album)\tartist\n"Open quote\tcurrency\tde\n\nGermany\tcurrency\n',
        encoding="utf-8",
    )
    queries = batch_io.read_queries(path, "en", 200)
    assert [(q.line, q.subject, q.relation, q.language) for q in queries] == [
        (2, '"Weird" Al Yankovic', "genre", "en"),
        (3, '"Heroes" (album)', "artist", "en"),
        (4, '"Open quote', "currency", "de"),
        (6, "Germany", "currency", "en"),
    ]
    assert queries[0].subject_id == "http://dbpedia.org/resource/%22Weird%22_Al_Yankovic"


def test_cells_are_written_as_prixlm_complete_writes_them(tmp_path):
    queries = [batch_io.Query(1, name, "genre", "en", f"http://s/{i}", "http://r")
               for i, name in enumerate(NAMES)]  # fmt: skip
    answers = [[{"object": name, "score": -0.5}, {"object": "x", "score": -20.0}] for name in NAMES]
    tsv, _, _ = batch_io.write_tsv_and_ntriples(queries, answers, tmp_path / "completed")
    rows = _cells(tsv)
    assert rows[0] == list(batch_io.OUTPUT_COLUMNS)
    table = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [r["subject"] for r in table[::2]] == NAMES
    assert [r["object"] for r in table[::2]] == NAMES
    # six significant digits: exp(-20) is 2.06115e-09, not 0.000000
    assert [r["probability"] for r in table[:2]] == [f"{math.exp(-0.5):.6g}", "2.06115e-09"]
    assert [r["log_likelihood"] for r in table[:2]] == ["-0.500000", "-20.000000"]
    for name in NAMES:
        assert batch_io.escape_cell(name) == output.escape_cell(name)
        assert batch_io.tsv_line([name, "x"]) == output.tsv_line([name, "x"])


@pytest.fixture(scope="module")
def space(space_model):
    import app

    space = app.PrixLMSpace(str(space_model), num_beams=5)
    yield space
    space.close()


def test_a_batch_keeps_the_names_and_the_probabilities_digits(space, tmp_path):
    queries = tmp_path / "queries.tsv"
    queries.write_text('"Weird" Germany\tcurrency\nDeutschland\tWährung\tde\n', encoding="utf-8")
    message, (tsv, ntriples), _ = space.batch(str(queries), 4)
    assert message.startswith("Completed 2 queries: 8 facts")
    rows = _cells(Path(tsv))
    table = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [r["subject"] for r in table] == ['"Weird" Germany'] * 4 + ["Deutschland"] * 4
    assert table[0]["subject_id"] == "http://dbpedia.org/resource/%22Weird%22_Germany"
    probabilities = [float(r["probability"]) for r in table]
    assert probabilities == pytest.approx(
        [math.exp(float(r["log_likelihood"])) for r in table], rel=1e-5, abs=0
    )


def test_a_decomposed_query_is_measured_as_the_model_reads_it(space):
    """An NFD subject that fits composed was refused as too long."""
    tokenizer, room = space.pipe.tokenizer, space.prompt_budget["de"]
    relation = "Währung"
    for repeats in range(1, 40):
        composed = " ".join(["Französisch"] * repeats)
        decomposed = unicodedata.normalize("NFD", composed)
        sizes = [len(tokenizer(t, add_special_tokens=False)["input_ids"])
                 for t in (composed, decomposed, relation)]  # fmt: skip
        used = 8 + sizes[2]  # the triple prompt's special tokens and the relation
        if used + sizes[0] <= room < used + sizes[1] and len(decomposed) <= 200:
            break
    else:
        raise AssertionError("no such subject for this tokenizer")
    message, _, chart = space.complete(decomposed, relation, "de", 3)
    assert len(chart) == 3 and message.startswith("**")
