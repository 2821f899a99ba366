"""The Space shows names as they are written and names entities as the model reads them.

A label or relation in the page's Markdown messages is text, not Markdown or HTML
(`<b>Boss</b> M*A*S*H` is not bold, not emphasis); the batch files' IRIs of a name typed with
other white space or decomposed (NFD) are those of the name the model reads (NFC, single
spaces), as the dataset's IRIs are.
"""

from __future__ import annotations

import html
import re
import sys
import tempfile
import unicodedata
from collections import deque

import markdown_it
import pytest
from space_server import SPACE_DIR

sys.path.insert(0, str(SPACE_DIR))
import app  # noqa: E402
import batch_io  # noqa: E402

LABEL = "<b>x</b> M*A*S*H"
TRICKY = [
    LABEL,
    "M*A*S*H",
    "_x_ and __y__",
    "`code` span",
    "a\\*b",
    "x\\",
    "**",
    "[x](http://example.org) ![i](x.png) [y][z]",
    "~~struck~~ | cell |",
    "AT&T &amp; &#42; &lt;",
    "<http://example.org> <i>",
    "C++ (lang) 100% 'quoted' \"double\"",
]
PRESETS = [markdown_it.MarkdownIt("commonmark"), markdown_it.MarkdownIt("default")]


def _render(message: str, preset: markdown_it.MarkdownIt = PRESETS[0]) -> str:
    return preset.render(message)


def _only(tag: str, rendered: str) -> list[str]:
    """The text of each `<tag>` element of `rendered`, unescaped."""
    return [html.unescape(inner) for inner in re.findall(rf"<{tag}>(.*?)</{tag}>", rendered)]


class StubPipe:
    """The pipeline's face the app uses: ranked `objects`, `relations`, a word tokenizer."""

    def __init__(self, objects: list[str], relations: dict[str, list[str]]):
        self.objects = objects
        self.relations = relations
        self.candidate_labels = {"en": objects, "de": objects}
        self.asked: list = []

    @staticmethod
    def tokenizer(texts, add_special_tokens=False):
        return {"input_ids": [[1] * len(text.split()) for text in texts]}

    def __call__(self, query, top_k, num_beams):
        self.asked.append(query)
        ranked = [{"object": o, "score": -0.5 * i} for i, o in enumerate(self.objects[:top_k])]
        return [ranked for _ in query] if isinstance(query, list) else ranked


@pytest.fixture
def space(tmp_path):
    """A `PrixLMSpace` over a stub pipeline (no model loaded)."""
    space = app.PrixLMSpace.__new__(app.PrixLMSpace)
    space.source, space.revision, space.num_beams = "stub", None, 5
    space.pipe = StubPipe([LABEL, "plain"], {"en": ["currency", "M*A*S*H <i>cast</i>"]})
    space.languages, space.default_language = ["de", "en"], "en"
    space.examples, space.relations = [], ["currency"]
    space.prompt_budget = {"de": 100, "en": 100}
    space.outputs = tempfile.TemporaryDirectory(dir=tmp_path)
    space._batch_folders = deque()
    yield space
    space.close()


@pytest.mark.parametrize("label", TRICKY)
@pytest.mark.parametrize("preset", PRESETS, ids=["commonmark", "default"])
def test_markdown_text_renders_as_the_label(label, preset):
    rendered = preset.render(f"**{batch_io.markdown_text(label)}** (probability 0.500)")
    assert _only("strong", rendered) == [label]
    for tag in ("<b>", "<i>", "<em>", "<a ", "<img", "<code>", "<s>"):
        assert tag not in rendered


def test_markdown_text_keeps_a_name_on_its_line():
    name = batch_io.markdown_text("x\n# heading\n- item")
    rendered = _render(f"**{name}** after")
    assert _only("strong", rendered) == ["x # heading - item"]
    assert "<h1>" not in rendered and "<li>" not in rendered


def test_the_complete_message_shows_the_label_as_text(space):
    message, _, _ = space.complete("Germany", "currency", "en", 2)
    rendered = _render(message)
    assert _only("strong", rendered) == [LABEL]
    assert "&lt;b&gt;x&lt;/b&gt; M*A*S*H" in rendered
    assert "<b>" not in rendered and "<em>" not in rendered


def test_the_unknown_relation_warning_shows_the_names_as_text(space):
    relation = "<i>r</i> *star*"
    message, _, _ = space.complete("Germany", relation, "en", 2)
    rendered = _render(message)
    assert _only("em", rendered) == [relation]  # the warning's own emphasis, around the name
    assert "<i>" not in rendered
    assert "Known: currency, M*A*S*H &lt;i&gt;cast&lt;/i&gt;." in rendered


def test_the_link_message_shows_the_label_as_text(space):
    message, _ = space.link("Germany", "en", "de", 2)
    rendered = _render(message)
    assert _only("strong", rendered) == [LABEL]
    assert "<b>" not in rendered and "<em>" not in rendered


def test_the_batch_warning_shows_the_relations_as_text(space, tmp_path):
    path = tmp_path / "q.tsv"
    path.write_text("Germany\t<b>r</b> _x_\n", encoding="utf-8")
    message, _, _ = space.batch(str(path), 1)
    rendered = _render(message)
    assert "('&lt;b&gt;r&lt;/b&gt; _x_')" in rendered
    assert "<b>" not in rendered and "<em>" not in rendered


def test_an_error_message_shows_the_input_as_text(space, tmp_path):
    complete = app.guarded(space.complete, (None, None))
    rendered = _render(complete("Germany", "currency", "<b>*x*</b>", 2)[0])
    assert "Unknown language '&lt;b&gt;*x*&lt;/b&gt;'" in rendered
    assert "<b>" not in rendered and "<em>" not in rendered
    path = tmp_path / "q.tsv"
    path.write_text("Germany, currency\n", encoding="utf-8")
    message = app.guarded(space.batch, (None, None))(str(path), 1)[0]
    assert "subject <TAB> relation[<TAB>language]" in html.unescape(_render(message))


def test_the_message_boxes_render_no_latex(space):
    """`$$...$$` in a label is text, not a formula (gradio renders `$$` as LaTeX by default)."""
    page = app.build_page(space)
    boxes = {"complete-message", "link-message", "batch-message"}
    found = {b.elem_id: b.latex_delimiters for b in page.blocks.values() if b.elem_id in boxes}
    assert found == dict.fromkeys(boxes, [])


def test_an_iri_names_the_label_as_the_model_reads_it():
    want = "http://dbpedia.org/resource/New_York_City"
    for typed in ("New\u00a0York City", "New  York City", " New York\tCity ", "New York City"):
        assert batch_io.resource_iri("en", typed) == want
    composed = "Köln"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert batch_io.resource_iri("de", decomposed) == batch_io.resource_iri("de", composed)
    assert batch_io.resource_iri("de", decomposed) == "http://de.dbpedia.org/resource/Köln"
    relation = unicodedata.normalize("NFD", "Währung")
    assert batch_io.relation_iri(relation) == "http://dbpedia.org/ontology/Währung"


def test_a_batch_files_iris_are_those_of_the_name_the_model_reads(tmp_path):
    path = tmp_path / "q.tsv"
    decomposed = unicodedata.normalize("NFD", "Köln")
    path.write_text(
        f"New\u00a0York City\tcurrency\nNew  York City\tcurrency\n{decomposed}\tWährung\tde\n",
        encoding="utf-8",
    )
    queries = batch_io.read_queries(path, "en", 200)
    assert [q.subject_id for q in queries] == [
        "http://dbpedia.org/resource/New_York_City",
        "http://dbpedia.org/resource/New_York_City",
        "http://de.dbpedia.org/resource/Köln",
    ]
    assert queries[0].subject == "New\u00a0York City"  # the cell as typed, in the TSV
