"""The official release's `[zh_min_nan]` is the language `zh-min-nan` of datasets built here:
converting it and continuing it give one token per language, at the released id."""

from __future__ import annotations

import copy
import json

import pytest
from tiny_models import official_checkpoint
from transformers import AutoTokenizer

from modeling_prixlm.formatting import (
    check_tokenizer_matches,
    encode_link_prompt,
    special_token_ids,
)
from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB
from prixlm.release.convert_official import convert_official


@pytest.fixture
def release(tiny_tokenizer, tmp_path):
    """(folder, released id of `[zh_min_nan]`): a tiny release spelled as the official one."""
    tokenizer = copy.deepcopy(tiny_tokenizer)
    tokenizer.add_tokens(["[zh_min_nan]"])  # the release's spelling (DBpedia's file names)
    folder = official_checkpoint(tokenizer, tmp_path / "official")
    return folder, tokenizer.convert_tokens_to_ids("[zh_min_nan]")


def test_converted_release_spells_the_language_as_datasets_do(release, tmp_path):
    source, released = release
    candidates = {"en": ["Japan"], "zh_min_nan": ["Ji̍t-pún"]}  # either spelling is taken
    folder = convert_official(source, tmp_path / "converted", candidates=candidates)
    config = json.loads((folder / "config.json").read_text())
    assert config["language_token_ids"]["zh-min-nan"] == released
    assert "zh_min_nan" not in config["language_token_ids"]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    added = tokenizer.get_added_vocab()
    assert added["[zh-min-nan]"] == released and "[zh_min_nan]" not in added
    assert len(tokenizer) == released + 1  # no token added, none lost
    prompt = encode_link_prompt(tokenizer, "Japan", "en", "zh-min-nan")
    assert prompt[-5:-3] == [added["[en]"], released]  # [s_lang] [o_lang] </s> </s> [O]
    assert list(json.loads((folder / "candidates.json").read_text())) == ["en", "zh-min-nan"]
    notes = json.loads((folder / "conversion.json").read_text())
    assert notes["renamed_tokens"] == {"[zh_min_nan]": "[zh-min-nan]"}
    _, metadata, body = (folder / "README.md").read_text().split("---", 2)
    assert "- nan\n" in metadata and "zh-min-nan" not in metadata  # the Hub's ISO 639 code
    assert "Languages: de, en, fr, ja, zh-min-nan." in body


def test_a_link_query_into_the_renamed_language_runs(release, tmp_path):
    from transformers import pipeline

    source, _ = release
    candidates = {"en": ["Japan"], "zh-min-nan": ["Japan", "France"]}
    folder = convert_official(source, tmp_path / "converted", candidates=candidates)
    kb = pipeline(model=str(folder), trust_remote_code=True)
    query = {"subject": "Japan", "language": "en", "target_language": "zh-min-nan"}
    assert len(kb(query, top_k=2)) == 2


def test_candidates_of_a_language_without_token_are_refused(release, tmp_path):
    source, _ = release
    with pytest.raises(ValueError, match=r"no language token for \['ko'\].*de, en, fr, ja, zh-min"):
        convert_official(source, tmp_path / "out", candidates={"en": ["Japan"], "ko": ["일본"]})
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="'zh-min-nan' given twice"):
        convert_official(
            source, tmp_path / "out", candidates={"zh-min-nan": ["a"], "zh_min_nan": ["b"]}
        )


def test_continuing_the_release_adds_no_second_token(release):
    source, released = release
    model, tokenizer = PrixLMForCausalKB.from_xlm_roberta(str(source), ["en", "zh-min-nan"])
    assert len(tokenizer) == released + 1
    assert model.config.language_token_ids["zh-min-nan"] == released
    assert "zh_min_nan" not in model.config.language_token_ids
    check_tokenizer_matches(tokenizer, model.config)
    ids = special_token_ids(tokenizer, ["zh-min-nan", "zh_min_nan", "ZH_MIN_NAN"])
    assert set(ids.languages.values()) == {released}
