"""The vocabulary's fingerprint (sha256 of the token -> id map, a second or more on a 250k
vocabulary) is computed once per tokenizer object: loading a model and building its
pipeline, or the Space rebuilding its pipeline, reuse it; a tokenizer that gets tokens
added computes it again. Counted with `get_vocab` calls, not timed."""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from pathlib import Path

import pytest
from space_server import SPACE_DIR
from tiny_models import make_tiny_model
from transformers import pipeline

from modeling_prixlm.tokenizer_checks import CACHE_ATTRIBUTE, vocabulary_fingerprint
from prixlm.model_loading import load_model
from prixlm.release.folder import complete_release_folder

sys.path.insert(0, str(SPACE_DIR))
from candidates import fitting_pipeline  # noqa: E402

CANDIDATES = {"en": ["euro", "German", "Japanese yen", " ".join(["Japan"] * 55)]}


def digest(tokenizer) -> str:
    """The fingerprint's formula, as `config.json` files record it."""
    vocabulary = sorted(tokenizer.get_vocab().items())
    return hashlib.sha256(json.dumps(vocabulary, ensure_ascii=False).encode()).hexdigest()


@pytest.fixture
def vocab_reads(tiny_tokenizer, monkeypatch) -> list[int]:
    """One entry per `get_vocab()` call on a tokenizer of the tiny tokenizer's class."""
    reads: list[int] = []
    cls = type(tiny_tokenizer)
    original = cls.get_vocab

    def counting(self):
        reads.append(len(self))
        return original(self)

    monkeypatch.setattr(cls, "get_vocab", counting)
    return reads


@pytest.fixture(scope="module")
def release(tiny_tokenizer, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fingerprint") / "model"
    make_tiny_model(tiny_tokenizer).save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    with pytest.warns(UserWarning, match="1 of the 4 candidate labels are longer"):
        complete_release_folder(folder, CANDIDATES)
    # as another build wrote it: a label the positions cannot hold, which the Space cuts
    (folder / "candidates.json").write_text(json.dumps(CANDIDATES), encoding="utf-8")
    return folder


def test_the_fingerprint_is_computed_once_per_tokenizer(tiny_tokenizer, vocab_reads):
    tokenizer = copy.deepcopy(tiny_tokenizer)
    vars(tokenizer).pop(CACHE_ATTRIBUTE, None)  # the copy keeps the original's
    expected = digest(tokenizer)
    vocab_reads.clear()
    assert [vocabulary_fingerprint(tokenizer) for _ in range(3)] == [expected] * 3
    assert len(vocab_reads) == 1
    tokenizer.add_tokens(["[xx]"])  # another vocabulary: computed again
    grown = vocabulary_fingerprint(tokenizer)
    assert grown != expected and grown == digest(tokenizer)
    assert vocabulary_fingerprint(tokenizer) == grown


def test_loading_then_building_the_pipeline_reads_the_vocabulary_once(release, vocab_reads):
    model, tokenizer, kind = load_model(release, "cpu")
    pipe = pipeline(model=str(release), tokenizer=tokenizer, trust_remote_code=True)
    assert kind == "prixlm" and pipe.tokenizer is tokenizer
    assert vocab_reads.count(len(tokenizer)) == 1
    assert model.config.vocabulary_fingerprint == digest(tokenizer)


def test_the_space_rebuilding_its_pipeline_reads_the_vocabulary_once(release, vocab_reads):
    pipe = pipeline(model=str(release), trust_remote_code=True)
    with pytest.warns(UserWarning):
        rebuilt, languages = fitting_pipeline(pipe, ["en"])
    assert rebuilt is not pipe and languages == ["en"]
    assert vocab_reads.count(len(pipe.tokenizer)) == 1
    assert rebuilt("Germany | currency", top_k=1, num_beams=3)[0]["object"] in CANDIDATES["en"]
