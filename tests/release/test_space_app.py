"""The Space (`space/app.py`) answers as the release folder's pipeline, through `gradio_client`.

The app runs in a subprocess as a user starts it (`space_server.running_space`: offline,
this package unimportable) on a copy of the tiny release folder with a model card; the
expected answers come from `pipeline(model=folder, trust_remote_code=True)` in this process.
"""

from __future__ import annotations

import csv
import math
import sys
import tempfile
from pathlib import Path

import gradio_client
import pytest
from space_server import SPACE_DIR

from prixlm.completion.output import iri_term
from prixlm.data.cldr.dump_format import iri_path, resource_iri
from prixlm.data.dbpedia.predicted_facts import opens_as_predicted_facts
from prixlm.data.dbpedia.schema import DBPEDIA_ONTOLOGY
from prixlm.data.dbpedia.tables import relation_words

sys.path.insert(0, str(SPACE_DIR))
import batch_io  # noqa: E402

TOP_K = 3
BATCH = "subject\trelation\tlanguage\nGermany\tcurrency\ten\nDeutschland\tWährung\tde\n\nJapan\tcurrency\n"


@pytest.fixture(scope="module")
def client(space_url, tmp_path_factory):
    """A client whose downloads (and the empty folders gradio_client leaves beside them, in
    `tempfile`'s folder) stay in the test's folder, not in /tmp."""
    downloads = tmp_path_factory.mktemp("downloads")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(downloads))
        yield gradio_client.Client(space_url, verbose=False, download_files=str(downloads))


@pytest.fixture(scope="module")
def expected(space_pipeline):
    """The folder's pipeline (top 3 unless told)."""
    return lambda query, top_k=TOP_K: space_pipeline(query, top_k)


def _table(value) -> list[list]:
    return [list(row) for row in value["data"]]


def _assert_answers(rows, answers):
    assert [row[0] for row in rows] == list(range(1, len(answers) + 1))
    assert [row[1] for row in rows] == [item["object"] for item in answers]
    assert [row[3] for row in rows] == pytest.approx([item["score"] for item in answers], abs=1e-5)
    assert [row[2] for row in rows] == pytest.approx(
        [math.exp(item["score"]) for item in answers], abs=1e-6
    )


@pytest.mark.parametrize(
    ("subject", "relation", "language"),
    [("Germany", "currency", "en"), ("Japan", "official language", "en"),
     ("Deutschland", "Währung", "de")],
)  # fmt: skip
def test_complete_answers_as_the_pipeline(client, expected, subject, relation, language):
    message, table, chart = client.predict(subject, relation, language, TOP_K, api_name="/complete")
    answers = expected({"subject": subject, "relation": relation, "language": language})
    assert len(answers) == TOP_K
    _assert_answers(_table(table), answers)
    assert answers[0]["object"] in message
    assert [row[0] for row in _table(chart)] == [item["object"] for item in answers]


def test_link_answers_as_the_pipeline(client, expected):
    message, table = client.predict("Germany", "en", "de", TOP_K, api_name="/link")
    answers = expected({"subject": "Germany", "language": "en", "target_language": "de"})
    _assert_answers(_table(table), answers)
    assert answers[0]["object"] in message


def test_batch_writes_the_pipelines_answers_as_tsv_and_ntriples(client, expected, tmp_path):
    queries = tmp_path / "queries.tsv"
    queries.write_text(BATCH, encoding="utf-8")
    message, files, _ = client.predict(
        gradio_client.handle_file(str(queries)), 2, api_name="/batch"
    )
    assert message.startswith("Completed 3 queries: 6 facts")
    by_suffix = {Path(f).suffix: Path(f) for f in files}
    with open(by_suffix[".tsv"], encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t", quoting=csv.QUOTE_NONE))
    asked = [("Germany", "currency", "en"), ("Deutschland", "Währung", "de"),
             ("Japan", "currency", "en")]  # fmt: skip
    want = []
    for subject, relation, language in asked:
        answers = expected(
            {"subject": subject, "relation": relation, "language": language}, top_k=2
        )
        for rank, item in enumerate(answers, 1):
            want.append((subject, relation, language, item["object"], rank, item["score"]))
    got = [
        (r["subject"], r["relation"], r["language"], r["object"], int(r["rank"]),
         float(r["log_likelihood"]))
        for r in rows
    ]  # fmt: skip
    assert [g[:5] for g in got] == [w[:5] for w in want]
    assert [g[5] for g in got] == pytest.approx([w[5] for w in want], abs=1e-5)
    assert float(rows[0]["probability"]) == pytest.approx(math.exp(want[0][5]), abs=1e-6)
    # N-Triples as `python -m prixlm.complete` writes them, one line per TSV row
    first, *lines = by_suffix[".nt"].read_text(encoding="utf-8").splitlines()
    assert opens_as_predicted_facts(by_suffix[".nt"])  # the build refuses it as a dump file
    assert first == batch_io.PREDICTED_LINE.strip()
    assert lines == [
        f"{iri_term(r['subject_id'])} {iri_term(r['relation_id'])} {iri_term(r['object_id'])} ."
        for r in rows
    ]
    assert rows[0]["subject_id"] == "http://dbpedia.org/resource/Germany"
    assert rows[0]["relation_id"] == "http://dbpedia.org/ontology/currency"
    assert rows[2]["subject_id"] == "http://de.dbpedia.org/resource/Deutschland"
    assert rows[2]["object_id"] == resource_iri("de", rows[2]["object"])


@pytest.mark.parametrize(
    ("inputs", "api_name", "message"),
    [
        (("", "currency", "en", 3), "/complete", "Type a subject"),
        (("Germany", "  ", "en", 3), "/complete", "Type a relation"),
        (("Germany", "currency", "xx", 3), "/complete", "Unknown language 'xx'"),
        (("G" * 201, "currency", "en", 3), "/complete", "201 characters; the limit is 200"),
        ((" ".join(["Germany"] * 24), "currency", "en", 3), "/complete", "Too long for this model"),
        ((" ".join(["Germany"] * 24), "en", "de", 3), "/link", "Too long for this model"),
        (("Germany", "en", "fr", 3), "/link", "Unknown target language 'fr'"),
        (("Germany", "", "de", 3), "/link", "Type a language"),
        (("Germany", "currency", "en", 2.5), "/complete", "expected a whole number, got 2.5"),
    ],
)
def test_bad_input_gets_a_message(client, inputs, api_name, message):
    answer = client.predict(*inputs, api_name=api_name)
    assert message in answer[0]
    assert answer[0].startswith("⚠️")
    assert _table(answer[1]) == []


def test_batch_keeps_only_the_newest_output_folders(space_model, tmp_path, monkeypatch):
    """A long-running app does not fill its disk: old batch outputs go, `close` removes all."""
    import app

    monkeypatch.setattr(app, "BATCH_FOLDERS_KEPT", 2)
    queries = tmp_path / "queries.tsv"
    queries.write_text(BATCH, encoding="utf-8")
    space = app.PrixLMSpace(str(space_model), num_beams=5)
    root = Path(space.outputs.name)
    try:
        outputs = [space.batch(str(queries), 1) for _ in range(3)]
        assert [message for message, _, _ in outputs] == ["Completed 3 queries: 3 facts."] * 3
        folders = [{Path(f).parent for f in files} for _, files, _ in outputs]
        assert all(len(folder) == 1 for folder in folders)
        assert sorted(root.iterdir()) == sorted(folders[1] | folders[2])
        assert not any(Path(f).exists() for f in outputs[0][1])
        for f in outputs[2][1]:
            assert len(Path(f).read_text(encoding="utf-8").splitlines()) >= 3
    finally:
        space.close()
    assert not root.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "q.tsv: a binary file, not a TSV of queries"),
        (b"Germany, currency\n", "q.tsv, line 1: 1 tab-separated field(s)"),
        (b"Germany\tcurrency\nFrance\tcurrency\t\xff\n", "q.tsv, line 2: not UTF-8 text"),
        (b"subject\trelation\tobject\nGermany\tcurrency\teuro\n", "unknown columns ['object']"),
        (b"Germany\tcurrency\txx\n", "q.tsv, line 1: unknown language 'xx'"),
        (b"Japan\tcurrency\n" + b"Germany " * 24 + b"\tcurrency\n", "q.tsv, line 2: Too long"),
        (b"\n\n", "q.tsv: no queries"),
    ],
)
def test_bad_batch_file_gets_a_message(client, tmp_path, content, message):
    path = tmp_path / "q.tsv"
    path.write_bytes(content)
    answer = client.predict(gradio_client.handle_file(str(path)), 1, api_name="/batch")
    assert message in answer[0]
    assert answer[1] is None


def test_batch_io_iris_are_the_packages():
    """The Space's standalone IRI code writes what the package's exporter and completion do."""
    labels = ["Germany", "Swiss franc", "日本円", "C++ (lang)", 'a"b<c>{d}|e^f`g\\h', "100%",
              "\u200fאינטרלינגואה"]  # fmt: skip
    assert batch_io.iri_path("1\u00a0000") == iri_path("1\u00a0000") == "1%C2%A0000"
    for label in labels:
        assert batch_io.iri_path(label) == iri_path(label)
        for language in ("en", "de", "zh-hant"):
            iri = resource_iri(language, label)
            assert batch_io.resource_iri(language, label) == iri
            assert batch_io.iri_term(iri) == iri_term(iri)
    for iri in ("http://x/a\u00a0b", "http://x/a\u2028b\u3000"):  # IRIs of other datasets
        assert batch_io.iri_term(iri) == iri_term(iri)
    for local in ("currency", "officialLanguage", "timeZone", "ISOCode"):
        assert batch_io.relation_iri(relation_words(local)) == DBPEDIA_ONTOLOGY + local


def test_the_space_imports_only_gradio_torch_transformers_and_their_requirements():
    """What `requirements.txt` and the Space's gradio provide: no import of this package."""
    import ast

    # pandas and yaml: requirements of gradio and transformers; batch_io, candidates,
    # languages: the Space's own
    own = {"batch_io", "candidates", "languages"}
    allowed = {"gradio", "pandas", "yaml", "torch", "transformers", *own}
    for path in sorted(SPACE_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            for name in names:
                top = name.split(".")[0]
                assert top in allowed or top in sys.stdlib_module_names, f"{path.name}: {name}"


def test_an_unknown_relation_is_answered_with_the_pipelines_warning_on_the_page(client):
    """The pipeline warns that the answers to a relation it was not trained on are a guess;
    the page showed them as any other answer."""
    known = client.predict("Germany", "currency", "en", 3, api_name="/complete")[0]
    guessed = client.predict("Germany", "curency", "en", 3, api_name="/complete")[0]
    assert "is not a relation" not in known
    assert "*curency* is not a relation this model was trained on in en" in guessed
    assert "Known: currency, official language." in guessed
    # spaces the model reads as one are the known relation, not a guess
    spaced = client.predict("Germany", "official  language", "en", 3, api_name="/complete")[0]
    assert "is not a relation" not in spaced


def test_a_batch_says_which_lines_name_an_unknown_relation(client, tmp_path):
    """The Batch tab wrote the guesses among the answers and said nothing (the warning went
    to the server's log only)."""
    queries = tmp_path / "queries.tsv"
    queries.write_text("Germany\tcurrency\ten\nJapan\tcurency\ten\n", encoding="utf-8")
    message = client.predict(gradio_client.handle_file(str(queries)), 1, api_name="/batch")[0]
    assert message.startswith("Completed 2 queries: 2 facts")
    assert (
        "⚠️ 1 queries (lines 2) name relations this model was not trained on ('curency')" in message
    )


def test_a_header_row_in_capitals_is_a_header(tmp_path):
    """`Subject<TAB>Relation` was read as a query, its answer written to the outputs."""
    path = tmp_path / "q.tsv"
    path.write_text("Subject\tRelation\nGermany\tcurrency\n", encoding="utf-8")
    queries = batch_io.read_queries(path, "en", 200)
    assert [(q.subject, q.relation, q.language) for q in queries] == [("Germany", "currency", "en")]


def test_a_batch_longer_than_one_pipeline_call_is_asked_in_chunks(
    space_model, tmp_path, monkeypatch
):
    """Files of 257 to 1,000 queries (the batch tab's limit) were refused by the pipeline's
    limit of 256 a call; chunks (here of 2, the last of 1) give the same outputs."""
    import app

    queries = tmp_path / "queries.tsv"
    queries.write_text(BATCH, encoding="utf-8")
    space = app.PrixLMSpace(str(space_model), num_beams=5)
    try:
        whole = space.batch(str(queries), 2)
        monkeypatch.setattr(app, "PIPELINE_QUERIES", 2)
        chunked = space.batch(str(queries), 2)
    finally:
        space.close()
    assert chunked[0] == whole[0] == "Completed 3 queries: 6 facts."
    columns = ["subject", "relation", "language", "object", "rank"]
    assert chunked[2][columns].equals(whole[2][columns])  # scores: batching's last digits
    assert list(chunked[2]["log_likelihood"]) == pytest.approx(list(whole[2]["log_likelihood"]))
