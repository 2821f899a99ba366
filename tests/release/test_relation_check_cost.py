"""The unknown-relation check costs one close-name search per (relation, language), not one
per query: a model with ~600 relations (DBpedia's) and a batch naming an unknown relation
spent seconds of host time in `difflib` before any decoding, twice in the Space. The
warnings read as before."""

from __future__ import annotations

import difflib
import functools
import json
import shutil
import sys
import threading
import unicodedata
import warnings
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from space_server import SPACE_DIR
from transformers import pipeline

sys.path.insert(0, str(SPACE_DIR))
import app  # noqa: E402

NAMES = [f"property number {i}" for i in range(600)]
RELATIONS = {"en": NAMES, "de": NAMES[::-1]}
UNKNOWN = "property numbr 7"  # close to some names: the warning suggests them
FAR = "zzz"  # close to none
SEARCH = difflib.get_close_matches  # as imported, before any test counts its calls


def _warning_before(relation: str, language: str, close_matches: Callable = SEARCH) -> str | None:
    """The warning as the pipeline wrote it before the check was cached (its code, inlined)."""
    known = RELATIONS.get(language)
    key = " ".join(unicodedata.normalize("NFC", relation).split())
    if not known or key in {" ".join(unicodedata.normalize("NFC", n).split()) for n in known}:
        return None
    close = close_matches(relation, known, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
    return (
        f"relation {relation!r} is not one of the {len(known)} relations of language "
        f"{language!r} this model was trained on; {hint}relation names are English in every "
        f"language. The answers are a guess. Known relations (relations.json): " + ", ".join(known)
    )


_expected = functools.cache(_warning_before)


@pytest.fixture(scope="module")
def folder(released, tmp_path_factory) -> Path:
    """The tiny release with 600 relation names per language."""
    folder = tmp_path_factory.mktemp("relations") / "model"
    shutil.copytree(released[2], folder)
    (folder / "relations.json").write_text(json.dumps(RELATIONS), encoding="utf-8")
    return folder


@pytest.fixture
def searches(monkeypatch) -> list[tuple[str, str]]:
    """`(relation, first name searched)` of every `difflib.get_close_matches` call from now."""
    calls = []

    def counted(word, possibilities, *args, **kwargs):
        calls.append((word, possibilities[0]))
        return SEARCH(word, possibilities, *args, **kwargs)

    monkeypatch.setattr(difflib, "get_close_matches", counted)
    return calls


def _no_decoding(pipe, monkeypatch) -> None:
    """The pipeline answers `euro` to every query without running the model."""
    answer = SimpleNamespace(labels=["euro"], scores=[-0.25])
    fake = lambda inputs, **kw: {"ranked": [answer] * len(inputs["queries"])}  # noqa: E731
    monkeypatch.setattr(pipe, "_forward", fake)


def test_a_pipeline_searches_close_names_once_per_relation_and_language(
    folder, searches, monkeypatch
):
    pipe = pipeline(model=str(folder), trust_remote_code=True)
    _no_decoding(pipe, monkeypatch)
    asked = [f"S{i} | {UNKNOWN} | {'de' if i % 4 == 0 else 'en'}" for i in range(1000)]
    asked += [f"S | {FAR} | en", "S | property  number 3 | en"]  # spaced: the known name
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        answers = [pipe(asked[i : i + 256], top_k=1) for i in range(0, len(asked), 256)]
    assert sum(map(len, answers)) == len(asked)
    expected = [_expected(*query.split(" | ")[1:]) for query in asked]
    assert [str(w.message) for w in caught] == [e for e in expected if e is not None]
    assert expected[-1] is None and len(caught) == 1001
    assert "did you mean 'property number 7'" in expected[0] and "did you mean" not in expected[-2]
    # once per (relation, language): (UNKNOWN, en), (UNKNOWN, de), (FAR, en)
    assert sorted(searches) == sorted([(UNKNOWN, NAMES[0]), (UNKNOWN, NAMES[-1]), (FAR, NAMES[0])])


def test_threads_racing_for_the_first_check_all_get_the_warning(folder):
    pipe = pipeline(model=str(folder), trust_remote_code=True)
    expected = _expected(UNKNOWN, "en")
    seen, start = [], threading.Barrier(8)

    def check() -> None:
        start.wait()
        seen.extend(pipe.relation_warning(r, "en") for r in [UNKNOWN, "property number 5"] * 20)

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen.count(expected) == seen.count(None) == 160


def test_the_kept_warnings_are_bounded_whatever_is_asked(folder, monkeypatch):
    none = lambda *args, **kwargs: []  # noqa: E731  (fast: the bound is what is tested)
    monkeypatch.setattr(difflib, "get_close_matches", none)
    pipe = pipeline(model=str(folder), trust_remote_code=True)
    bound = sys.modules[type(pipe).__module__].MAX_CACHED_WARNINGS
    for relation in (f"unknown {i}" for i in range(bound + 50)):
        assert pipe.relation_warning(relation, "en") == _warning_before(relation, "en", none)
    assert len(pipe._relation_warnings) <= bound


@pytest.fixture
def space(folder, monkeypatch):
    space = app.PrixLMSpace(str(folder), num_beams=1)
    _no_decoding(space.pipe, monkeypatch)
    yield space
    space.close()


def test_the_space_batch_checks_each_relation_once(space, searches, tmp_path, monkeypatch):
    checks, check = [], space.pipe.relation_warning
    monkeypatch.setattr(space.pipe, "relation_warning", lambda *a: checks.append(a) or check(*a))
    asked = {0: (UNKNOWN, "de"), 2: ("property number 3", "en")}  # else (UNKNOWN, en)
    lines = [
        "\t".join((f"S{n}", *asked.get(n % 4, (UNKNOWN, "en")))) + "\n" for n in range(1, 1001)
    ]
    path = tmp_path / "queries.tsv"
    path.write_text("".join(lines), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        message, files, preview = space.batch(str(path), 1)
    assert message == (
        "Completed 1000 queries: 1000 facts.\n\n⚠️ 750 queries (lines 1, 3, 4, 5, 7, 8, 9, 11, "
        "12, 13 …) name relations this model was not trained on ('property numbr 7'): their "
        "answers are a guess."
    )
    assert len(searches) <= 2  # (UNKNOWN, en), (UNKNOWN, de)
    assert len(checks) == 1000 + 3  # the pipeline's per query, the page's per distinct pair
    assert len(preview) == 50 and len(files) == 2


def test_the_space_single_query_warns_as_before(space, searches):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        message = space.complete("Germany", UNKNOWN, "en", 3)[0]
    known = ", ".join(NAMES)
    assert message == (
        "**euro** (probability 0.779)\n\n⚠️ *property numbr 7* is not a relation this model "
        f"was trained on in en: the answers are a guess. Known: {known}."
    )
    assert len(searches) == 1  # the pipeline's check, reused by the page
