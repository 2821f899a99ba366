"""One language, one entry: the pipeline reads `en`, `EN` and `En` as the stored `en` when it
replaces candidates (`candidates=`), when it builds and keeps tries, and when it decodes a
batch; and the unknown-relation warnings of a long-lived pipeline keep its memory bounded."""

from __future__ import annotations

import sys
import warnings
from types import SimpleNamespace

import pytest
from release_kb import CANDIDATES
from transformers import pipeline

GIVEN = ["Swiss franc", "Japanese yen"]  # the given `en` candidates (stored: 7 labels)


@pytest.fixture(scope="module")
def folder(released) -> str:
    return str(released[2])


def _objects(answers: list[dict]) -> list[str]:
    return [answer["object"] for answer in answers]


def _same(answers: list[dict], expected: list[dict]) -> bool:
    """The same objects in the same order, the scores equal up to float rounding (a batch
    decodes its rows together)."""
    scores = [answer["score"] for answer in expected]
    return _objects(answers) == _objects(expected) and [
        answer["score"] for answer in answers
    ] == pytest.approx(scores, abs=1e-5)


@pytest.mark.parametrize("given", ["EN", "En", "en"])
def test_given_candidates_replace_the_stored_language_in_any_spelling(folder, given):
    pipe = pipeline(model=folder, trust_remote_code=True, candidates={given: GIVEN})
    assert pipe.languages == ["de", "en"]  # one entry per language, the stored spelling
    assert pipe.candidate_labels == {"de": CANDIDATES["de"], "en": GIVEN}
    for asked in ("en", "EN", given):  # whichever spelling the query uses: the given labels
        answers = pipe(f"Germany | currency | {asked}", top_k=5, num_beams=5)
        assert sorted(_objects(answers)) == sorted(GIVEN)


def test_one_language_given_twice_is_refused(folder):
    with pytest.raises(ValueError, match="candidates name one language twice: 'en' and 'EN'"):
        pipeline(model=folder, trust_remote_code=True, candidates={"en": GIVEN, "EN": ["euro"]})


def test_a_new_language_keeps_its_spelling(folder):
    """A language of the model's with no stored candidates (the tiny model has fr)."""
    pipe = pipeline(model=folder, trust_remote_code=True, candidates={"FR": ["euro"]})
    assert pipe.languages == ["FR", "de", "en"]
    assert pipe.candidate_language("fr") == "FR"


def test_every_spelling_shares_one_trie_and_one_decoding(folder, monkeypatch):
    """`en`, `EN`, `En` and `eN` each built and kept a full trie (memory growing with the
    spellings asked), and a batch mixing them decoded once per spelling."""
    pipe = pipeline(model=folder, trust_remote_code=True)
    expected = pipe("Germany | currency | en", top_k=3, num_beams=5)
    japan = pipe("Japan | currency", top_k=3, num_beams=5)
    for spelling in ("EN", "En", "eN"):
        assert pipe(f"Germany | currency | {spelling}", top_k=3, num_beams=5) == expected
    assert pipe.trie("EN") is pipe.trie("en") is pipe.trie("eN")
    assert list(pipe._tries) == ["en"]

    module = sys.modules[type(pipe).__module__]
    decoded, decode = [], module.predict_objects
    monkeypatch.setattr(
        module, "predict_objects", lambda *a, **kw: decoded.append(a[2]) or decode(*a, **kw)
    )
    batch = ["Germany | currency | EN", "Japan | currency | en", "Germany | currency | En"]
    answers = pipe(batch, top_k=3, num_beams=5)
    assert answers[0] == answers[2] and _same(answers[0], expected) and _same(answers[1], japan)
    # one decoding for the batch, its three queries together
    assert decoded == [[("Germany", "currency"), ("Japan", "currency"), ("Germany", "currency")]]


def _registries() -> int:
    """The entries of every module's `__warningregistry__` (Python's record of the warnings
    shown, one entry per distinct text and line)."""
    kept = (
        getattr(module, "__dict__", {}).get("__warningregistry__")
        for module in [*sys.modules.values()]
    )
    return sum(len(registry) for registry in kept if isinstance(registry, dict))


def test_unknown_relation_warnings_leave_no_growing_registry(folder, monkeypatch):
    """Each distinct unknown relation's warning (it lists every known relation) stayed in the
    calling module's `__warningregistry__` for good: ~19 KB per relation for a model with 500
    relations. The warnings are still shown, once per text and line, at the caller's line."""
    pipe = pipeline(model=folder, trust_remote_code=True)
    answer = SimpleNamespace(labels=["euro"], scores=[-0.25])  # no decoding: the warnings
    fake = lambda inputs, **kw: {"ranked": [answer] * len(inputs["queries"])}  # noqa: E731
    monkeypatch.setattr(pipe, "_forward", fake)
    bound = sys.modules[type(pipe).__module__].MAX_CACHED_WARNINGS
    relations = [f"unknown relation {i}" for i in range(3 * bound)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's: each text once per line
        before = _registries()
        for relation in ("unknown a", "unknown a", "unknown b"):
            assert pipe(f"Japan | {relation}", top_k=1) == [{"object": "euro", "score": -0.25}]
        assert len(caught) == 2  # once a text and line
        for start in range(0, 2 * bound, 256):  # batches (the pipeline's own frame before)
            pipe([f"Germany | {r}" for r in relations[start : start + 256]], top_k=1)
        for relation in relations[2 * bound :]:  # single queries (transformers' frame before)
            pipe(f"Japan | {relation}", top_k=1)
        grown = _registries() - before
    assert grown < 10, f"{grown} entries kept in modules' __warningregistry__"
    assert len(pipe._warnings_shown) <= bound + 2
    shown = [str(w.message) for w in caught]
    assert len(shown) == 2 + len(relations)
    assert {w.filename for w in caught} == {__file__}  # the caller's line, not transformers'
    assert shown[2].startswith("relation 'unknown relation 0' is not one of the 2 relations")
    assert shown[2].endswith("Known relations (relations.json): currency, official language")
