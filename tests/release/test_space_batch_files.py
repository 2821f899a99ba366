"""The Space's batch files are plain TSV as `python -m prixlm.complete` writes it: a `"` in a
name is text, cells are escaped, not CSV-quoted, and low probabilities keep their digits; a
decomposed (NFD) query is measured composed, as the model reads it."""

from __future__ import annotations

import math
import re
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


#: Names a CSV writer quotes in a tab-separated file (each holds a `"`), and one it does not.
QUOTED_NAMES = ['"Weird" Al Yankovic', '"Heroes" (album)', '5" Record', "Washington, D.C."]


def _queries(path, **options) -> list[tuple]:
    queries = batch_io.read_queries(path, "en", 200, **options)
    return [(q.line, q.subject, q.relation, q.language) for q in queries]


@pytest.mark.parametrize("writer", ["csv", "pandas"])
def test_a_cell_a_csv_writer_quoted_is_the_name(tmp_path, writer):
    """`csv.writer(delimiter="\\t")`, pandas' `to_csv(sep="\\t")` and Excel write a name
    holding `"` as `"..."` with the quotes doubled: it was asked as `\"""Weird"" Al ...\"`."""
    import csv

    import pandas as pd

    path = tmp_path / "queries.tsv"
    rows = [[name, "genre", "en"] for name in QUOTED_NAMES]
    if writer == "csv":
        with open(path, "w", encoding="utf-8", newline="") as stream:
            csv.writer(stream, delimiter="\t").writerows(
                [["subject", "relation", "language"], *rows]
            )
    else:
        frame = pd.DataFrame(rows, columns=["subject", "relation", "language"])
        frame.to_csv(path, sep="\t", index=False)
    assert '"""Weird"" Al Yankovic"' in path.read_text(encoding="utf-8")  # as written
    assert _queries(path) == [(i, name, "genre", "en") for i, name in enumerate(QUOTED_NAMES, 2)]
    # a cell without a doubled quote is read as it is (no writer quotes it)
    path.write_text('"Heroes"\tgenre\n"a""b\tgenre\n"x"y""z"\tgenre\n', encoding="utf-8")
    assert [q[1] for q in _queries(path)] == ['"Heroes"', '"a""b', '"x"y""z"']


def test_an_excel_unicode_text_file_is_read(tmp_path):
    """Excel's "Unicode Text" (UTF-16 with its byte order mark, quoted names) was refused as
    "a binary file"."""
    text = (
        'subject\trelation\tlanguage\r\n"""Weird"" Al"\tgenre\ten\r\nFranzösisch\tWährung\tde\r\n'
    )
    path = tmp_path / "queries.txt"
    for encoding in ("utf-16", "utf-16-be"):
        data = text.encode(encoding)
        path.write_bytes(data if encoding == "utf-16" else b"\xfe\xff" + data)
        assert _queries(path) == [
            (2, '"Weird" Al', "genre", "en"),
            (3, "Französisch", "Währung", "de"),
        ]
    path.write_bytes("Germany\tcurrency\n".encode("utf-16-le"))  # no BOM: not read as text
    with pytest.raises(batch_io.BadQueryFile, match="a binary file"):
        _queries(path)


def test_empty_cells_after_the_last_column_are_ignored(tmp_path):
    """A spreadsheet writes empty cells up to its widest row: the header was refused with
    "unknown columns ['']" and each line as "4 tab-separated field(s)"."""
    path = tmp_path / "queries.tsv"
    path.write_text("subject\trelation\t\t\nGermany\tcurrency\t\t\nFrance\tcurrency\n")
    assert _queries(path) == [(2, "Germany", "currency", "en"), (3, "France", "currency", "en")]
    path.write_text("Germany\tcurrency\tde\t\t\nFrance\tcurrency\t\t\t\n")
    assert _queries(path) == [(1, "Germany", "currency", "de"), (2, "France", "currency", "en")]
    path.write_text("Germany\tcurrency\tde\t\tnote\n")  # a cell there is still refused
    with pytest.raises(batch_io.BadQueryFile, match="line 1: 5 tab-separated field"):
        _queries(path)


def test_a_column_named_twice_is_refused(tmp_path):
    """The second `subject` column's cells were asked, silently."""
    path = tmp_path / "queries.tsv"
    path.write_text("subject\trelation\tSubject\nGermany\tcurrency\tFrance\n")
    with pytest.raises(batch_io.BadQueryFile, match=r"line 1: columns named twice: \['subject'\]"):
        _queries(path)


@pytest.mark.parametrize(
    ("cell", "what"),
    [
        ("\ufeffFrance", "a zero-width space (U+FEFF) at position 0"),  # two files joined
        ("Fra\u200bnce", "a zero-width space (U+200B) at position 3"),
        ("Fra\x0bnce", "a control character (U+000B) at position 3"),
    ],
)
def test_a_line_the_pipeline_refuses_is_named(space, tmp_path, cell, what):
    """The pipeline's refusal came without the file and line (1,000 lines to search)."""
    path = tmp_path / "q.tsv"
    path.write_text(f"Germany\tcurrency\nJapan\tcurrency\n{cell}\tcurrency\n", encoding="utf-8")
    with pytest.raises(batch_io.BadQueryFile, match=rf"^q\.tsv, line 3: .*{re.escape(what)}"):
        space.batch(str(path), 1)


def test_a_file_of_only_a_header_is_refused(space, tmp_path):
    """A header and no query line was asked as 0 queries: empty output files were written
    and the preview failed (the page said "The query failed: KeyError")."""
    path = tmp_path / "queries.tsv"
    path.write_text("subject\trelation\tlanguage\n\n", encoding="utf-8")
    folders = list(space._batch_folders)
    with pytest.raises(batch_io.BadQueryFile) as error:
        space.batch(str(path), 1)
    assert str(error.value) == "queries.tsv: no queries below the header line 1."
    assert list(space._batch_folders) == folders  # no output folder for it


@pytest.mark.parametrize(
    ("header", "unknown"),
    [("subject\\tpredicate", "['predicate']"), ("Subject\\tProperty\\tLang", "['lang', 'property']"),
     ("head\\trelation\\ttail", "['head', 'tail']")],
)  # fmt: skip
def test_a_misspelt_header_is_refused_as_a_header(tmp_path, header, unknown):
    """A header of other tools' column names was asked as the query ("subject",
    "predicate"): a junk row of completions, no error."""
    path = tmp_path / "queries.tsv"
    path.write_text(header.replace("\\t", "\t") + "\nGermany\tcurrency\n", "utf-8")
    with pytest.raises(batch_io.BadQueryFile) as error:
        _queries(path)
    assert str(error.value).startswith(f"queries.tsv, line 1: unknown columns {unknown}")


def test_a_query_of_header_words_and_names_is_still_a_query(tmp_path):
    """Only a line all of whose cells are column words is a header."""
    path = tmp_path / "queries.tsv"
    path.write_text("Object\tcurrency\nGermany\tcurrency\n", "utf-8")
    assert _queries(path) == [(1, "Object", "currency", "en"), (2, "Germany", "currency", "en")]
