"""The pipeline's and the endpoint handler's limits: a request beyond them gets one clear
`ValueError` before any decoding (memory stays flat), hostile text is refused, and a
folder without its tokenizer says so."""

from __future__ import annotations

import importlib.util
import re
import resource
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from transformers import pipeline

from modeling_prixlm.pipeline_queries import MAX_NUM_BEAMS, MAX_QUERIES, MAX_QUERY_CHARS, MAX_ROWS


@pytest.fixture(scope="module")
def served(released):
    """(pipeline, handler) of the tiny release folder, loaded as a Hub user and an
    Inference Endpoint would."""
    folder = str(released[2])
    spec = importlib.util.spec_from_file_location("handler", f"{folder}/handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return pipeline(model=folder, trust_remote_code=True), module.EndpointHandler(folder)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def test_requests_over_the_limits_fail_before_decoding(served) -> None:
    pipe, handler = served
    assert pipe("Germany | currency", top_k=1, num_beams=3)[0]["object"]  # within: answers
    before = _peak_rss_mb()
    huge = {"inputs": ["Germany | currency"] * 1500, "parameters": {"num_beams": 500}}
    with pytest.raises(ValueError, match=rf"1500 queries in one call; at most {MAX_QUERIES}"):
        handler(huge)
    with pytest.raises(ValueError, match=rf"max_rows=1000000000: at most {MAX_ROWS}"):
        pipe("Germany | currency", max_rows=10**9)
    message = rf"num_beams=1000000: at most {MAX_NUM_BEAMS}"
    with pytest.raises(ValueError, match=message):
        handler({"inputs": "Germany | currency", "parameters": {"num_beams": 10**6}})
    with pytest.raises(ValueError, match=message):
        pipe("Germany | currency", num_beams=10**6)
    long = "Germany" * 150_000  # ~1 MB
    for request in (
        {"inputs": f"{long} | currency"},
        {"inputs": {"subject": long, "relation": "x"}},
    ):
        with pytest.raises(
            ValueError, match=rf"at most {MAX_QUERY_CHARS} per query field"
        ) as raised:
            handler(request)
        assert len(str(raised.value)) < 300  # the input is not echoed whole
    with pytest.raises(ValueError) as raised:
        handler({"input": long})  # a malformed request
    assert len(str(raised.value)) < 300
    # the language parameter too (an error echoed it whole: 5 MB)
    for call in (
        lambda: pipe("Germany | currency", language=long),
        lambda: handler({"inputs": "Germany | currency", "parameters": {"language": long}}),
    ):
        with pytest.raises(ValueError, match=rf"at most {MAX_QUERY_CHARS}") as raised:
            call()
        assert len(str(raised.value)) < 300
    assert _peak_rss_mb() - before < 50


QUERIES = ["Germany | currency", "France | official language"] * 8


@contextmanager
def forwards(model: torch.nn.Module) -> Iterator[list[int]]:
    """`[n]`: the model's forward calls while the block runs."""
    calls = [0]
    hook = model.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    try:
        yield calls
    finally:
        hook.remove()


def test_a_request_cannot_set_max_rows(served) -> None:
    """`"max_rows": 1` in a request made 16 queries at K=50 take one forward per query per
    decoding step (16 times the endpoint's default): only the operator sets it."""
    _, handler = served
    with forwards(handler.pipeline.model) as calls:
        default = handler({"inputs": QUERIES, "parameters": {"num_beams": 50}})
    assert calls[0] > 0
    for rows in (1, 50, 4096):
        with forwards(handler.pipeline.model) as refused:
            with pytest.raises(ValueError, match="'max_rows' .* is the endpoint's setting"):
                handler({"inputs": QUERIES, "parameters": {"num_beams": 50, "max_rows": rows}})
        assert refused[0] == 0
    # the Python pipeline keeps max_rows= (its caller pays): one query per forward
    with forwards(handler.pipeline.model) as one_each:
        same = handler.pipeline(QUERIES, num_beams=50, max_rows=50)
    assert one_each[0] > calls[0]
    assert [[a["object"] for a in query] for query in same] == [
        [a["object"] for a in query] for query in default
    ]


def test_the_operator_sets_max_rows(released, monkeypatch) -> None:
    """`PRIXLM_MAX_ROWS` (or `EndpointHandler(path, max_rows=...)`) sets the endpoint's rows
    per forward; a value beyond the pipeline's limits stops the endpoint at startup."""
    folder = str(released[2])
    spec = importlib.util.spec_from_file_location("handler", f"{folder}/handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("PRIXLM_MAX_ROWS", "50")
    from_environment = module.EndpointHandler(folder)
    with forwards(from_environment.pipeline.model) as calls:
        answer = from_environment({"inputs": QUERIES, "parameters": {"num_beams": 50}})
    with forwards(from_environment.pipeline.model) as expected:
        same = from_environment.pipeline(QUERIES, num_beams=50, max_rows=50)
    assert calls[0] == expected[0] and answer == same
    assert module.EndpointHandler(folder, max_rows=7).max_rows == 7  # the constructor's first
    for value, message in (("many", "expected an integer"), ("5000", f"at most {MAX_ROWS}")):
        monkeypatch.setenv("PRIXLM_MAX_ROWS", value)
        with pytest.raises(ValueError, match=rf"PRIXLM_MAX_ROWS='{value}': .*{message}"):
            module.EndpointHandler(folder)
    monkeypatch.setenv("PRIXLM_MAX_ROWS", "")  # unset: the pipeline's default
    assert module.EndpointHandler(folder).max_rows is None


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("Germany\ud800 | currency", "a lone surrogate (U+D800) at position 7"),
        ("Germany\x00 | currency", "a control character (U+0000) at position 7"),
        ("Ger\u200bmany | currency", "a zero-width space (U+200B) at position 3"),
        ("\u2060 | currency", "a zero-width space (U+2060) at position 0"),
    ],
)
def test_text_that_is_no_entity_is_refused(served, text, what) -> None:
    """Such queries used to end in a tokenizer TypeError (surrogates) or get a confident
    ranking (controls, zero-width spaces)."""
    pipe, handler = served
    with pytest.raises(ValueError, match=re.escape(f"holds {what}")):
        pipe(text)
    with pytest.raises(ValueError, match=re.escape(f"holds {what}")):
        handler({"inputs": [text]})


def test_a_folder_without_its_tokenizer_says_so(released, tmp_path: Path) -> None:
    """`AutoTokenizer` loads a folder without `tokenizer.json` as a 5-token tokenizer; the
    pipeline used to suggest `add_prixlm_tokens` at the first query."""
    folder = tmp_path / "model"
    shutil.copytree(released[2], folder)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ValueError, match="has no tokenizer.json") as raised:
        pipeline(model=str(folder), trust_remote_code=True)
    assert "is not the model's" in str(raised.value)
