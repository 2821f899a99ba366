"""Labels and names on the model card are shown as they are: a quote or backslash in a widget
example (a dataset title such as `"Heroes" (album)`) or in the repo id keeps every Python
example valid, a `|` or Markdown markup in a dataset's `pretty_name` keeps the results table's
columns, and the card's command line refuses a `--dataset_id` or `--repo_id` that is no Hub id.

The folders hold only the JSON the card reads (no weights): rendering needs nothing else.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from prixlm.release import card_results
from prixlm.release.card_results import results_table
from prixlm.release.model_card import main as model_card_main
from prixlm.release.model_card import render_model_card

SUBJECT = '"Heroes" (album)\\'
RELATION = 'genre "main"'
QUERY = f"{SUBJECT} | {RELATION}"
PRETTY_NAME = "KB | v2: *test* #1 [a](b) <i> \\ x_y_z"


def _folder(path: Path, **files: object) -> Path:
    """A release folder with its pipeline (`pipeline_prixlm.py`), `config.json` and the
    given JSON files (`candidates={...}`)."""
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"model_type": "prixlm"}), encoding="utf-8")
    (path / "pipeline_prixlm.py").write_text("", encoding="utf-8")
    for name, content in files.items():
        (path / f"{name}.json").write_text(json.dumps(content), encoding="utf-8")
    return path


def _python_calls(card_text: str) -> dict[str, list[ast.Call]]:
    """The calls of every ```python block of the card by the called name (each block must
    parse)."""
    blocks = re.findall(r"```python\n(.*?)```", card_text, flags=re.DOTALL)
    assert blocks
    calls: dict[str, list[ast.Call]] = {}
    for block in blocks:
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                calls.setdefault(name, []).append(node)
    return calls


@pytest.mark.parametrize("stored_candidates", [True, False])
@pytest.mark.parametrize("repo_id", ["me/prixlm", 'me/x"y\\', None])
def test_code_examples_stay_python_whatever_the_labels_hold(tmp_path, stored_candidates, repo_id):
    """The examples put the widget query, its subject and relation and the repo id between
    double quotes as they were: `kb(""Heroes" (album)\\")` did not parse. Each is a Python
    literal now, which evaluates to the very text."""
    files = {"candidates": {"en": ["rock"]}} if stored_candidates else {}
    folder = _folder(tmp_path / 'my "model\\', **files)
    card = render_model_card(folder, widget=[QUERY], repo_id=repo_id, revision='v1"\\')
    expected_repo = repo_id or str(folder)
    calls = _python_calls(card.text)

    def literal(node: ast.expr) -> object:
        return ast.literal_eval(node)

    (kb,) = calls["kb"]
    assert literal(kb.args[0]) == QUERY
    (pipeline,) = calls["pipeline"]
    keywords = {k.arg: literal(k.value) for k in pipeline.keywords if k.arg != "trust_remote_code"}
    assert keywords.pop("model") == expected_repo and keywords.pop("revision") == 'v1"\\'
    assert keywords == ({} if stored_candidates else {"candidates": {"en": ["euro", "US dollar", "Japanese yen"]}})  # fmt: skip
    for call in calls["from_pretrained"]:
        assert literal(call.args[0]) == expected_repo
    (dynamic,) = calls["get_class_from_dynamic_module"]
    assert literal(dynamic.args[1]) == expected_repo
    (prompt,) = calls["encode_triple_prompt"]
    assert [literal(arg) for arg in prompt.args[1:]] == [SUBJECT, RELATION]


def test_a_query_without_relation_falls_back_to_the_default_fact(tmp_path):
    """A query with no `|` gives the default fact; a newline in it stays in its literal."""
    card = render_model_card(_folder(tmp_path / "model"), widget=["a\nb"])
    (prompt,) = _python_calls(card.text)["encode_triple_prompt"]
    assert [ast.literal_eval(arg) for arg in prompt.args[1:]] == ["Germany", "currency"]
    (kb,) = _python_calls(card.text)["kb"]
    assert ast.literal_eval(kb.args[0]) == "a\nb"


def _cell_texts(markdown: str) -> list[list[str]]:
    """The text of each cell of the first table in `markdown`, row by row, as rendered."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    rows, row = [], None
    for token in tokens:
        if token.type == "tr_open":
            row = []
        elif token.type == "tr_close":
            rows.append(row)
        elif token.type == "inline" and row is not None:
            text = "".join(
                child.content if child.type in ("text", "code_inline") else ""
                for child in token.children or []
            )
            assert all(c.type in ("text", "code_inline") for c in token.children or []), token
            row.append(text)
    return rows


def test_a_pipe_or_markup_in_a_dataset_name_keeps_the_tables_columns(tmp_path):
    """A `|` in a local dataset's `pretty_name` shifted every column of its rows (10 cells
    under a 9-column header) and `*test*` became emphasis. Every cell is escaped now."""
    dataset = tmp_path / "kb"
    dataset.mkdir()
    card = "---\n" + f"pretty_name: {json.dumps(PRETTY_NAME)}\n" + "---\n# KB\n"
    (dataset / "README.md").write_text(card, encoding="utf-8")
    metrics = {"hits_at_1": 0.25, "hits_at_3": 0.5, "hits_at_10": 0.75, "mrr_at_50": 0.4}
    report = {"model": "me/m", "dataset": str(dataset), "split": "test|x", "mode": "beam",
              "num_beams": 50, "limit": None, "candidates": None,
              "results": {"en_*a*": {**metrics, "num_queries": 3}}}  # fmt: skip
    table = results_table([report])
    header, _, *rows = table.splitlines()
    assert rows
    for row in rows:
        assert row.replace("\\|", "").count("|") == header.count("|"), row
    cells = _cell_texts(table)
    assert len(cells) == 2 and len(cells[1]) == len(cells[0]) == 9
    assert cells[1][:4] == [PRETTY_NAME, "en_*a*", "test|x", "beam (K=50)"]


def test_the_training_data_line_shows_the_dataset_name_as_it_is(tmp_path):
    """`Training data: {{ name }}` put a local dataset's pretty_name into Markdown as it was."""
    dataset = tmp_path / "kb"
    dataset.mkdir()
    (dataset / "README.md").write_text(
        f"---\npretty_name: {json.dumps(PRETTY_NAME)}\n---\n# KB\n", encoding="utf-8"
    )
    settings = {"dataset": str(dataset), "dataset_folder": str(dataset)}
    folder = _folder(
        tmp_path / "model",
        training_args={"learning_rate": 1e-3},
        train_results={"checkpoint_link_prediction_settings": settings},
    )
    text = render_model_card(folder).text
    (line,) = [line for line in text.splitlines() if line.startswith("Training data:")]
    html = MarkdownIt("commonmark").render(line)
    tokens = MarkdownIt("commonmark").parseInline(line)[0].children
    assert all(token.type == "text" for token in tokens), html
    rendered = "".join(token.content for token in tokens)
    assert rendered == f"Training data: {PRETTY_NAME} (a local dataset folder, not on the Hub)."


def test_markdown_cell_keeps_one_line():
    """A cell's text stays on its line: line breaks read as spaces, `|` and `\\` escaped."""
    assert card_results.markdown_cell("a\nb|c\\") == "a b\\|c\\\\"
    assert card_results.markdown_cell(275) == "275"


@pytest.mark.parametrize(
    ("option", "value"), [("--dataset_id", "/data/my kb"), ("--repo_id", 'me/x"y')]
)
def test_the_card_command_refuses_what_is_no_hub_id(tmp_path, capsys, option, value):
    """`--dataset_id '/data/my kb'` went into `datasets:` and a broken link, exit 0. The card
    command checks both Hub ids first, as publish does: a usage error naming the option."""
    folder = _folder(tmp_path / "model")
    with pytest.raises(SystemExit) as exited:
        model_card_main([str(folder), option, value])
    assert exited.value.code == 2
    assert f"{option} {value!r}: not a Hub repo id" in capsys.readouterr().err
    assert not (folder / "README.md").exists()
    assert model_card_main([str(folder), option, "me/kb"]) == folder / "README.md"
