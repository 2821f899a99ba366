"""The pipeline and the Space rank no candidates in a language the model has no token for.

A model never trained on a language reads its names as it reads noise: every query got the
same answers, with no message, whether the candidates came from `candidates=` or from a
`candidates.json` copied from another build. `candidates=` in such a language is refused; a
stored one is left out with a warning (an app serving the folder still starts, without it).
"""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from pathlib import Path

import pytest
from space_server import SPACE_DIR
from transformers import pipeline

#: Korean: no `[ko]` token in the tiny tokenizer, nor in the tiny model's config.
KOREAN = ["서울", "원", "한국어"]


def _copy(released, tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(released[2], folder)
    return folder


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_given_candidates_in_a_language_the_model_lacks_are_refused(released):
    with pytest.raises(ValueError) as raised:
        pipeline(model=str(released[2]), trust_remote_code=True, candidates={"ko": KOREAN})
    assert str(raised.value) == (
        "candidates['ko']: the model has no language token for 'ko' (its languages: de, en, "
        "fr, ja): it was never trained on that language and cannot rank its labels"
    )


def test_given_candidates_in_another_spelling_of_a_model_language_are_kept(released):
    pipe = pipeline(model=str(released[2]), trust_remote_code=True, candidates={"FR": ["euro"]})
    assert pipe.languages == ["FR", "de", "en"]
    assert pipe("France | currency | fr", top_k=1, num_beams=2)[0]["object"] == "euro"


def test_a_stored_language_the_model_lacks_is_left_out_with_a_warning(released, tmp_path):
    folder = _copy(released, tmp_path)
    _edit_json(folder / "candidates.json", lambda stored: stored.update(ko=KOREAN))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipe = pipeline(model=str(folder), trust_remote_code=True)
        assert pipe.languages == ["de", "en"]
    messages = [str(w.message) for w in caught if "left out" in str(w.message)]
    assert messages == [
        f"candidates.json of {str(folder)!r}: 'ko' left out: the model has no language token "
        "for 'ko' (its languages: de, en, fr, ja): it was never trained on that language and "
        "cannot rank its labels"
    ]
    with pytest.raises(ValueError) as raised:
        pipe("서울 | capital | ko")
    assert "no candidate entities for language 'ko' (stored: de, en;" in str(raised.value)
    assert "the model has no language token for 'ko'" in str(raised.value)
    original = pipeline(model=str(released[2]), trust_remote_code=True)
    query = "Germany | currency"
    assert pipe(query, top_k=3, num_beams=5) == original(query, top_k=3, num_beams=5)


def test_the_space_does_not_offer_a_stored_language_the_model_lacks(released, tmp_path):
    sys.path.insert(0, str(SPACE_DIR))
    import app

    folder = _copy(released, tmp_path)
    _edit_json(folder / "candidates.json", lambda stored: stored.update(ko=KOREAN))
    with pytest.warns(UserWarning, match="'ko' left out: the model has no language token"):
        space = app.PrixLMSpace(str(folder), num_beams=2)
    assert space.languages == ["de", "en"]


def test_a_link_from_a_language_the_model_lacks_is_refused(released, tmp_path):
    """The tokenizer holds `[ja]` (another release's tokenizer trained on more languages)
    but the model declares only de and en: a link from ja would read an untrained token."""
    folder = _copy(released, tmp_path)

    def en_de_only(config: dict) -> None:
        config["language_token_ids"] = {
            code: i for code, i in config["language_token_ids"].items() if code in ("de", "en")
        }

    _edit_json(folder / "config.json", en_de_only)
    pipe = pipeline(model=str(folder), trust_remote_code=True)
    link = {"subject": "日本", "language": "ja", "target_language": "en"}
    with pytest.raises(ValueError) as raised:
        pipe(link)
    assert str(raised.value) == (
        "language 'ja': the model has no language token for 'ja' (its languages: de, en): it "
        "was never trained on that language and cannot rank its labels"
    )
    with pytest.raises(ValueError, match="candidates\\['ja'\\]: the model has no language token"):
        pipeline(model=str(folder), trust_remote_code=True, candidates={"ja": ["日本円"]})
    answers = pipe({"subject": "Germany", "language": "en", "target_language": "de"}, top_k=1)
    assert len(answers) == 1
