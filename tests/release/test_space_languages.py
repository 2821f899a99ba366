"""The Space reads languages as the release's pipeline reads them.

- A query without a language gets the pipeline's default (the only language, else `en`);
  where the pipeline has none (candidates in de and ja only) it refuses the query, and the
  Space's batch tab refused nothing: it answered in `de`, the first language sorted.
- A language in another spelling (`EN`) is the pipeline's `en`: the Space said "Unknown
  language 'EN'" where the pipeline answers.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import pytest
from space_server import SPACE_DIR

from prixlm.release.model_card import write_model_card

sys.path.insert(0, str(SPACE_DIR))
import app  # noqa: E402
import batch_io  # noqa: E402

#: The de/ja release's Japanese candidates and relations (the tiny KB's).
JA_CANDIDATES, JA_RELATIONS = ["日本円", "日本"], ["通貨"]


def _rows(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream, delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.fixture(scope="module")
def space(space_model):
    """The Space over the tiny release (candidates in en and de)."""
    space = app.PrixLMSpace(str(space_model), num_beams=5)
    yield space
    space.close()


@pytest.fixture(scope="module")
def de_ja(released, tmp_path_factory) -> Path:
    """A copy of the tiny release whose candidates and relations are de and ja only, with a
    card widget naming `DE`, and one naming no language."""
    folder = tmp_path_factory.mktemp("de_ja") / "model"
    shutil.copytree(released[2], folder)
    for name, japanese in (("candidates.json", JA_CANDIDATES), ("relations.json", JA_RELATIONS)):
        stored = json.loads((folder / name).read_text(encoding="utf-8"))
        kept = {"de": stored["de"], "ja": japanese}
        (folder / name).write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
    widget = ["Deutschland | Währung | DE", "Deutschland | Amtssprache"]
    write_model_card(folder, repo_id="me/prixlm-de-ja", widget=widget)
    return folder


def test_a_batch_line_without_a_language_is_refused_where_the_pipeline_has_no_default(
    de_ja, tmp_path
):
    from transformers import pipeline

    pipe = pipeline(model=str(de_ja), trust_remote_code=True)
    with pytest.raises(ValueError, match="names no language and the candidates cover de, ja"):
        pipe("Deutschland | Währung", top_k=1, num_beams=5)
    space = app.PrixLMSpace(str(de_ja), num_beams=5)
    try:
        queries = tmp_path / "q.tsv"
        queries.write_text("Deutschland\tWährung\tde\nDeutschland\tWährung\n", encoding="utf-8")
        with pytest.raises(batch_io.BadQueryFile) as refused:
            space.batch(str(queries), 1)
        assert str(refused.value) == (
            "q.tsv, line 2: no language, and this model has several (de, ja) and no default: "
            "add it as a third column, subject<TAB>relation<TAB>language"
        )
        assert space.languages == ["de", "ja"] and space.default_language is None
        # on the page: the message, no files
        message, files, _ = app.guarded(space.batch, (None, None))(str(queries), 1)
        assert message.startswith("⚠️ q.tsv, line 2: no language") and files is None
        # a widget example without a language is left out; `DE` is the pipeline's `de`
        assert space.examples == [["Deutschland", "Währung", "de"]]
        # with the language on every line the file is answered as the pipeline answers
        queries.write_text("Deutschland\tWährung\tde\nDeutschland\tWährung\tDE\n", encoding="utf-8")
        message, (tsv, _), _ = space.batch(str(queries), 1)
        assert message.startswith("Completed 2 queries: 2 facts")
        best = pipe("Deutschland | Währung | de", top_k=1, num_beams=5)[0]["object"]
        assert [(row["language"], row["object"]) for row in _rows(tsv)] == [("de", best)] * 2
    finally:
        space.close()


def test_a_batch_line_without_a_language_takes_the_pipelines_default(space, tmp_path):
    """en and de: the pipeline's default is `en`; the line is answered as the pipeline
    answers the query without a language."""
    assert space.default_language == "en"
    queries = tmp_path / "q.tsv"
    queries.write_text("Germany\tcurrency\n", encoding="utf-8")
    _, (tsv, _), _ = space.batch(str(queries), 3)
    answers = space.pipe("Germany | currency", top_k=3, num_beams=5)
    rows = _rows(tsv)
    assert [row["object"] for row in rows] == [answer["object"] for answer in answers]
    assert {row["language"] for row in rows} == {"en"}


def test_a_language_in_capitals_is_the_pipelines(space, space_pipeline, tmp_path):
    """`EN` raised "Unknown language 'EN'"; the pipeline answers it as `en`."""
    message, table, _ = space.complete("Germany", "currency", "EN", 3)
    expected = space.complete("Germany", "currency", "en", 3)
    assert message == expected[0] and not message.startswith("⚠️")
    assert table.data.equals(expected[1].data)
    assert list(table.data["object"]) == [
        answer["object"] for answer in space.pipe("Germany | currency | EN", top_k=3, num_beams=5)
    ]
    message, table = space.link("Germany", "EN", "DE", 3)
    assert message == space.link("Germany", "en", "de", 3)[0]
    assert table.data.equals(space.link("Germany", "en", "de", 3)[1].data)
    assert message.endswith(" in de")
    # a batch line: the model's code in the TSV and the IRIs (dbpedia.org, not EN.dbpedia.org)
    queries = tmp_path / "q.tsv"
    queries.write_text("Germany\tcurrency\tEN\nGermany\tcurrency\ten\n", encoding="utf-8")
    _, (tsv, _), _ = space.batch(str(queries), 1)
    first, second = _rows(tsv)
    assert first == second and first["language"] == "en"
    assert first["subject_id"] == "http://dbpedia.org/resource/Germany"
    # a language the model has no entities for is still refused
    with pytest.raises(app.InputError, match="Unknown language 'FR': this model ranks"):
        space.complete("Germany", "currency", "FR", 3)
