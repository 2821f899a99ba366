"""The dataset cards' usage snippet is Python that runs: a language code that is a keyword
(`is` Icelandic, `or` Odia, `as` Assamese) or has a hyphen names a valid variable."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest

from prixlm.data.dbpedia.card import example_variables

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [
    ROOT / "dataset_builders" / "prixlm_dbpedia" / "dataset_card.md",
    ROOT / "dataset_builders" / "kg_layout" / "dataset_card.md",
]


def test_variable_names_of_language_codes():
    names = example_variables(["de", "zh-min-nan", "is", "or", "as"])
    assert [(language, name) for language, name, _ in names] == [
        ("de", "de"), ("zh-min-nan", "zh_min_nan"), ("is", "is_kb"), ("or", "or_kb"),
        ("as", "as_kb"),
    ]  # fmt: skip


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.parent.name)
def test_the_snippet_compiles_for_keyword_languages(template):
    block = re.search(r"```python\n(.*?)```", template.read_text(encoding="utf-8"), re.S)
    snippet = jinja2.Template(block.group(1)).render(
        example_variables=example_variables(["is", "or"]),
        path="me/kb",
        has_links=True,
        stats={"link_rows": 2},
    )
    assert 'is_kb = load_dataset("me/kb", "is")' in snippet
    compile(snippet, "card snippet", "exec")  # a SyntaxError for `is = ...`
