"""The pipeline's and the endpoint handler's limits: a request beyond them gets one clear
`ValueError` before any decoding (memory stays flat), hostile text is refused, and a
folder without its tokenizer says so."""

from __future__ import annotations

import importlib.util
import re
import resource
import shutil
from pathlib import Path

import pytest
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
    huge = {"inputs": ["Germany | currency"] * 1500, "parameters": {"max_rows": 10**9}}
    with pytest.raises(ValueError, match=rf"1500 queries in one call; at most {MAX_QUERIES}"):
        handler(huge)
    over = {
        "max_rows": (10**9, rf"max_rows=1000000000: at most {MAX_ROWS}"),
        "num_beams": (10**6, rf"num_beams=1000000: at most {MAX_NUM_BEAMS}"),
    }
    for name, (value, message) in over.items():
        request = {"inputs": "Germany | currency", "parameters": {name: value}}
        with pytest.raises(ValueError, match=message):
            handler(request)
        with pytest.raises(ValueError, match=message):
            pipe("Germany | currency", **{name: value})
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
