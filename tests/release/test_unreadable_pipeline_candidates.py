"""The pipeline, the Space and the release folder with candidates the model cannot answer
apart: labels holding a control token's text (`[O]`, `[en]`) failed every query of their
language (the Space did not start), and labels that tokenise alike (unknown characters all
read as `<unk>`) were silently answered by one of them, fewer than `top_k` answers."""

from __future__ import annotations

import json
import sys
import warnings

import pytest
from space_server import SPACE_DIR
from tiny_models import make_tiny_model

from modeling_prixlm.pipeline_prixlm import PrixLMLinkPrediction
from prixlm.release.folder import complete_release_folder

sys.path.insert(0, str(SPACE_DIR))
from candidates import fitting_pipeline  # noqa: E402

#: Three labels the tiny tokenizer cannot write: each is `▁ <unk>`.
TWINS = {"ja": ["日本円", "ユーロ", "ドル", "ウォン"]}


@pytest.fixture(scope="module")
def model(tiny_tokenizer):
    return make_tiny_model(tiny_tokenizer)


def test_twins_are_warned_once_per_language(model, tiny_tokenizer):
    pipe = PrixLMLinkPrediction(model=model, tokenizer=tiny_tokenizer, device=-1, candidates=TWINS)
    with pytest.warns(UserWarning) as caught:
        answers = pipe("日本 | 通貨 | ja", top_k=4, num_beams=4)
    assert [str(w.message) for w in caught] == [
        "candidates['ja']: 2 of the 4 candidate labels tokenise like another and are answered "
        "as it (e.g. 'ドル' as 'ユーロ'): fewer distinct answers than labels, and those labels "
        "are never answered themselves"
    ]
    assert caught[0].filename == __file__  # at the caller's line
    assert sorted(a["object"] for a in answers) == ["ユーロ", "日本円"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # built once: no second warning
        pipe("日本 | 首都 | ja", top_k=4, num_beams=4)


def test_an_unreadable_label_is_left_out_of_its_language(model, tiny_tokenizer):
    labels = ["euro", "German", "[en]", "Radio [O]"]
    pipe = PrixLMLinkPrediction(
        model=model, tokenizer=tiny_tokenizer, device=-1, candidates={"en": labels}
    )
    with pytest.warns(UserWarning, match=r"candidates\['en'\]: 2 of the 4 candidate labels hold"):
        answers = pipe("Germany | currency | en", top_k=4, num_beams=4)
    assert sorted(a["object"] for a in answers) == ["German", "euro"]
    assert pipe.trie("en").labels == ["euro", "German"]


def test_the_space_starts_without_a_language_of_unreadable_labels(model, tiny_tokenizer):
    candidates = {"en": ["euro", "German", "[O]"], "de": ["[de]", "x [EOS]"]}
    pipe = PrixLMLinkPrediction(
        model=model, tokenizer=tiny_tokenizer, device=-1, candidates=candidates
    )
    with pytest.warns(UserWarning) as caught:
        fitted, languages = fitting_pipeline(pipe, ["de", "en"])
    messages = [str(w.message) for w in caught]
    assert any(m.startswith("candidates['de']: 2 of the 2 candidate labels hold") for m in messages)
    assert any(m.endswith("none is left to rank: the language is left out") for m in messages)
    assert languages == ["en"] and fitted.trie("en").labels == ["euro", "German"]


def test_the_release_folder_keeps_unreadable_labels_out(model, tiny_tokenizer, tmp_path):
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    candidates = {"en": ["Germany", "euro", "Radio [O]"], "de": ["Deutschland"]}
    with pytest.warns(UserWarning, match=r"candidates\['en'\]: 1 of the 3 candidate labels hold"):
        summary = complete_release_folder(folder, candidates)
    stored = json.loads((folder / "candidates.json").read_text(encoding="utf-8"))
    assert stored == {"de": ["Deutschland"], "en": ["Germany", "euro"]}
    assert summary["candidates_unreadable"] == {"en": 1}
