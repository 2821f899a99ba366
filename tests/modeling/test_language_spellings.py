"""One language, one token: `zh_min_nan` (the release's spelling) and `zh-min-nan` (the
dataset build's) name the same language, whichever the tokenizer holds."""

from __future__ import annotations

import copy

import pytest
from tiny_models import make_tiny_model

from modeling_prixlm.formatting import (
    add_prixlm_tokens,
    check_tokenizer_matches,
    encode_link_prompt,
    known_languages,
    special_token_ids,
)


@pytest.fixture
def released(tiny_tokenizer):
    """The tiny tokenizer with the release's `[zh_min_nan]`."""
    tokenizer = copy.deepcopy(tiny_tokenizer)
    tokenizer.add_tokens(["[zh_min_nan]"])
    return tokenizer


def test_mixed_spellings_resolve_to_one_id(released):
    token_id = released.convert_tokens_to_ids("[zh_min_nan]")
    ids = special_token_ids(released, ["zh-min-nan", "zh_min_nan", "ZH-MIN-NAN"])
    assert set(ids.languages.values()) == {token_id}
    assert special_token_ids(released).languages["zh-min-nan"] == token_id
    assert "zh-min-nan" in known_languages(released)
    prompts = {tuple(encode_link_prompt(released, "Japan", "en", c)) for c in ids.languages}
    assert len(prompts) == 1


def test_adding_a_language_spelled_otherwise_reuses_its_token(released):
    size, token_id = len(released), released.convert_tokens_to_ids("[zh_min_nan]")
    model = make_tiny_model(released)
    model.config.language_token_ids = {"en": model.config.language_token_ids["en"]}
    model.config.language_token_ids["zh_min_nan"] = token_id  # the release's config key
    ids = add_prixlm_tokens(released, ["en", "zh-min-nan", "zh_min_nan"], model)
    assert len(released) == size and set(ids.languages.values()) - {ids.languages["en"]} == {
        token_id
    }
    assert model.config.language_token_ids == {"en": ids.languages["en"], "zh-min-nan": token_id}
    check_tokenizer_matches(released, model.config)  # `zh-min-nan` found as `[zh_min_nan]`


def test_both_spellings_given_add_one_token(tiny_tokenizer):
    tokenizer = copy.deepcopy(tiny_tokenizer)
    size = len(tokenizer)
    ids = add_prixlm_tokens(tokenizer, ["zh_min_nan", "zh-min-nan"])
    assert len(tokenizer) == size + 1
    assert ids.languages["zh_min_nan"] == ids.languages["zh-min-nan"] == size
    assert tokenizer.convert_tokens_to_ids("[zh-min-nan]") == size  # the build's spelling


def test_two_tokens_for_one_language_are_reported(released):
    released.add_tokens(["[zh-min-nan]"])  # what continuing the release once did
    with pytest.raises(ValueError, match=r"'zh-min-nan' has 2 tokens in the tokenizer"):
        special_token_ids(released, ["zh-min-nan"])


def test_the_user_paths_take_either_spelling(released):
    """A dataset or a user that spells the code as the tokenizer does not (`ja_JP` from a
    KG layout's file names, `zh_min_nan` from the release): training's token check, the
    completion's target check and the pipeline's candidates find the language."""
    from types import SimpleNamespace

    from datasets import Dataset

    from modeling_prixlm.pipeline_prixlm import _for_language
    from prixlm.completion.propose import check_target_language
    from prixlm.training.data import check_languages_have_tokens

    tokenizer = copy.deepcopy(released)
    add_prixlm_tokens(tokenizer, ["ja_JP"])
    rows = Dataset.from_list(
        [{"kind": "link", "subject_language": "en", "object_language": "ja_JP"},
         {"kind": "link", "subject_language": "zh_min_nan", "object_language": "en"}]
    )  # fmt: skip
    check_languages_have_tokens(tokenizer, rows.map(lambda row: row))  # no ValueError
    model = SimpleNamespace(config=SimpleNamespace(language_token_ids={"zh-min-nan": 5}))
    check_target_language(model, "zh_min_nan")
    stored = {"zh-min-nan": ["Tâi-oân"], "en": ["Taiwan"]}
    assert _for_language(stored, "zh_min_nan") == ["Tâi-oân"]
    assert _for_language(stored, "ja") is None
