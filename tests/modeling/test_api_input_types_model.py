"""The model code's public helpers with one string where a list is expected: the string
would be read as its characters (a trie of letters, the languages `[e]` and `[n]`)."""

from __future__ import annotations

import pytest
from tiny_models import tiny_texts

from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.formatting import add_prixlm_tokens, known_languages
from prixlm.training.tokenizer_training import train_tokenizer


@pytest.fixture
def fresh_tokenizer():
    """A trained tokenizer without the Prix-LM tokens."""
    return train_tokenizer(tiny_texts(), vocab_size=200)


def test_entity_trie_from_labels_refuses_one_string(tiny_tokenizer):
    with pytest.raises(TypeError, match=r"labels is a string \('Russia'\): .* e.g. \['Russia'\]"):
        EntityTrie.from_labels(tiny_tokenizer, "Russia")
    assert EntityTrie.from_labels(tiny_tokenizer, ("Russia",)).labels == ["Russia"]


def test_entity_trie_refuses_a_string_of_labels(tiny_tokenizer):
    trie = EntityTrie.from_labels(tiny_tokenizer, ["a", "b"])
    arguments = (trie.edge_keys, trie.entity_nodes, trie.depth_offsets, trie.stride)
    with pytest.raises(TypeError, match=r"labels is a string \('ab'\)"):
        EntityTrie(*arguments, trie.eos_token_id, labels="ab")  # two characters, two entities
    assert EntityTrie(*arguments, trie.eos_token_id, labels=["a", "b"]).labels == ["a", "b"]


def test_add_prixlm_tokens_refuses_one_string(fresh_tokenizer):
    """A string "en" would add the language tokens [e] and [n]."""
    with pytest.raises(TypeError, match=r"languages='en': expected a list of codes"):
        add_prixlm_tokens(fresh_tokenizer, "en")
    assert known_languages(fresh_tokenizer) == []  # nothing added
    ids = add_prixlm_tokens(fresh_tokenizer, ["en"])
    assert list(ids.languages) == ["en"] and known_languages(fresh_tokenizer) == ["en"]


@pytest.mark.parametrize("code", ["de,en", "de en", "[de]", ""])
def test_add_prixlm_tokens_refuses_separators_inside_a_code(fresh_tokenizer, code):
    """Every command splits --languages on ",": a code holding one could never be named."""
    with pytest.raises(ValueError, match="invalid language code"):
        add_prixlm_tokens(fresh_tokenizer, ["fr", code])
    assert known_languages(fresh_tokenizer) == []


def test_a_three_tuple_that_is_not_a_link_says_what_a_three_tuple_is(tiny_prixlm):
    """("Berlin", "country", "en") reads "country" as a language code: the error says a
    3-tuple is a link query, not only that the code is unknown."""
    from modeling_prixlm.decoding_steps import encode_query

    _, tokenizer = tiny_prixlm
    with pytest.raises(ValueError, match=r"3-tuple query is a link \(subject, subject_language"):
        encode_query(tokenizer, ("Berlin", "country", "en"))
