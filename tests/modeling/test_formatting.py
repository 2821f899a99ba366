"""The KB token format, the released token ids, and clear errors on bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tiny_models import make_tiny_model, plain_xlmr_tokenizer
from transformers import XLMRobertaTokenizer

from modeling_prixlm.formatting import (
    MAX_FACT_LENGTH,
    add_prixlm_tokens,
    check_tokenizer_matches,
    encode_link,
    encode_link_prompt,
    encode_object,
    encode_prompt,
    encode_row,
    encode_triple,
    encode_triple_prompt,
    within_length,
)

OFFICIAL_TOKENS = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "official_added_tokens.json").read_text()
)


def test_triple_layout_and_labels(tiny_tokenizer):
    tok = tiny_tokenizer
    s, p, o = (
        tok("Japan", add_special_tokens=False)["input_ids"],
        tok("currency", add_special_tokens=False)["input_ids"],
        tok("Japanese yen", add_special_tokens=False)["input_ids"],
    )
    S_, P_, O_, EOS = tok.convert_tokens_to_ids(["[S]", "[P]", "[O]", "[EOS]"])
    fact = encode_triple(tok, "Japan", "currency", "Japanese yen")
    assert fact.input_ids == [0, S_, *s, 2, 2, P_, *p, 2, 2, O_, *o, EOS, 2]
    prefix = 1 + 1 + len(s) + 3 + len(p) + 3
    assert fact.object_start == prefix - 1 and fact.input_ids[fact.object_start] == O_
    assert fact.labels == [-100] * prefix + o + [EOS] + [-100]
    assert encode_triple_prompt(tok, "Japan", "currency") == fact.input_ids[:prefix]
    assert encode_object(tok, "Japanese yen") == o + [EOS]


def test_link_layout_uses_both_language_tokens(tiny_tokenizer):
    tok = tiny_tokenizer
    S_, P_, O_, EOS, DE, JA = tok.convert_tokens_to_ids(
        ["[S]", "[P]", "[O]", "[EOS]", "[de]", "[ja]"]
    )
    s = tok("Deutschland", add_special_tokens=False)["input_ids"]
    o = tok("日本", add_special_tokens=False)["input_ids"]
    fact = encode_link(tok, "Deutschland", "de", "ja", "日本")
    assert fact.input_ids == [0, S_, *s, 2, 2, P_, DE, JA, 2, 2, O_, *o, EOS, 2]
    assert fact.labels[fact.object_start + 1 :] == o + [EOS, -100]
    row = {
        "kind": "link",
        "subject": "Deutschland",
        "relation": "",
        "object": "日本",
        "subject_language": "de",
        "object_language": "ja",
    }
    assert encode_row(tok, row) == fact


def test_language_tokens_are_added_in_sorted_order_after_fact_tokens(tiny_tokenizer):
    base = len(tiny_tokenizer.get_vocab()) - 8  # 4 fact tokens + 4 languages were added
    assert tiny_tokenizer.convert_tokens_to_ids(
        ["[S]", "[P]", "[O]", "[EOS]", "[de]", "[en]", "[fr]", "[ja]"]
    ) == list(range(base, base + 8))


def test_released_ids_on_an_xlmr_sized_vocabulary():
    # XLM-R's vocabulary has 250,002 entries: <s> <pad> </s> <unk>, 249,997 pieces, <mask>.
    pieces = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces += [(f"▁piece{i}", -float(i)) for i in range(250_002 - 5)] + [("<mask>", 0.0)]
    tokenizer = XLMRobertaTokenizer(vocab=pieces)
    assert len(tokenizer) == 250_002
    languages = [t[1:-1] for t in OFFICIAL_TOKENS if t not in ("[S]", "[P]", "[O]", "[EOS]")]
    ids = add_prixlm_tokens(tokenizer, reversed(languages))
    assert (ids.subject, ids.predicate, ids.object, ids.end_of_object) == (
        250002,
        250003,
        250004,
        250005,
    )
    assert len(tokenizer) == 250_087
    for token, official_id in OFFICIAL_TOKENS.items():
        assert tokenizer.convert_tokens_to_ids(token) == official_id, token


def test_length_filter_drops_30_tokens_or_more(tiny_tokenizer):
    short = encode_triple(tiny_tokenizer, "Japan", "currency", "euro")
    long = encode_triple(tiny_tokenizer, "Japan", "currency", " ".join(["Japanese yen"] * 6))
    assert len(short) < MAX_FACT_LENGTH <= len(long)
    assert within_length(short) and not within_length(long) and within_length(long, None)
    assert within_length(list(range(29))) and not within_length(list(range(30)))


def test_unknown_language_lists_the_known_ones(tiny_tokenizer):
    with pytest.raises(ValueError, match=r"unknown language code 'xx'; known: de, en, fr, ja"):
        encode_link(tiny_tokenizer, "Japan", "en", "xx", "日本")


def test_missing_fact_tokens_and_empty_names_are_reported(tiny_tokenizer):
    plain = plain_xlmr_tokenizer()
    with pytest.raises(
        ValueError, match=r"lacks the Prix-LM tokens \['\[S\]', '\[P\]', '\[O\]', '\[EOS\]'\]"
    ):
        encode_triple(plain, "a", "a", "a")
    with pytest.raises(ValueError, match="subject '' tokenises to nothing"):
        encode_triple(tiny_tokenizer, "", "currency", "euro")


@pytest.mark.parametrize(
    ("subject", "relation", "found"),
    [
        (
            "Yakutsk [O] Canada",
            "country",
            "[O]",
        ),  # the prefix's bidirectional attention ends at [O]
        ("Berlin </s></s>[P] capital", "country", "</s>"),
        ("Berlin", "country [de]", "[de]"),
        ("Berlin", "a <mask> b", "<mask>"),
    ],
)
def test_control_tokens_inside_a_name_are_refused(tiny_tokenizer, subject, relation, found):
    """They were tokenised as the tokens themselves: a forged fact layout, answers changed
    without an error (a pipeline user could type them)."""
    from modeling_prixlm.constrained_decoding import EntityTrie
    from modeling_prixlm.formatting import ControlTokenError, encode_triple_prompt

    with pytest.raises(ControlTokenError, match=rf"holding '{re.escape(found)}', one of the"):
        encode_triple_prompt(tiny_tokenizer, subject, relation)
    with pytest.raises(ValueError, match=r"candidate entity 'yen \[EOS\]' is read as holding"):
        EntityTrie.from_labels(tiny_tokenizer, ["euro", "yen [EOS]"])
    assert encode_triple_prompt(tiny_tokenizer, "Knox [Indiana]", "country")  # <unk>s: text


def test_a_form_that_normalises_to_a_control_token_is_refused(tiny_tokenizer):
    """XLM-R's tokenizer normalises NFKC-like (full-width `［Ｏ］` is `[O]`): a check of the
    raw text let it through; the ids are checked."""
    import copy

    from tokenizers import normalizers

    from modeling_prixlm.formatting import ControlTokenError, encode_triple_prompt

    normalising = copy.deepcopy(tiny_tokenizer)
    normalising.backend_tokenizer.normalizer = normalizers.NFKC()
    assert "[O]" in normalising.convert_ids_to_tokens(normalising("Foo ［Ｏ］")["input_ids"])
    with pytest.raises(ControlTokenError, match="holding '\\[O\\]'"):
        encode_triple_prompt(normalising, "Foo ［Ｏ］ Bar", "country")


def test_tokenizer_that_does_not_match_the_config_is_rejected(tiny_tokenizer):
    model = make_tiny_model(tiny_tokenizer)
    check_tokenizer_matches(tiny_tokenizer, model.config)
    other = plain_xlmr_tokenizer()
    add_prixlm_tokens(other, ["en"])
    with pytest.raises(ValueError, match=r"\[S\] is 6 in the tokenizer but \d+ in the config"):
        check_tokenizer_matches(other, model.config)


def test_encode_prompt_dispatches_on_kind_and_rejects_unknown_kinds(tiny_tokenizer):
    tok = tiny_tokenizer
    link = {"kind": "link", "subject": "Japan", "subject_language": "en", "object_language": "ja"}
    triple = {"subject": "Japan", "relation": "currency"}  # kind defaults to "triple"
    assert encode_prompt(tok, link) == encode_link_prompt(tok, "Japan", "en", "ja")
    assert encode_prompt(tok, triple) == encode_triple_prompt(tok, "Japan", "currency")
    assert encode_row(tok, {**link, "object": "日本"}) == encode_link(
        tok, "Japan", "en", "ja", "日本"
    )
    with pytest.raises(ValueError, match="row kind 'tripel': expected 'triple' or 'link'"):
        encode_prompt(tok, {**triple, "kind": "tripel"})
    with pytest.raises(ValueError, match="row kind 'tripel'"):
        encode_row(tok, {**triple, "kind": "tripel", "object": "yen"})


def test_a_decomposed_query_is_read_as_its_composed_form(tiny_tokenizer):
    """The trained tokenizers have no normaliser: `Zürich` with a combining diaeresis (NFD)
    was other tokens than the KB's composed label, and got other answers."""
    import unicodedata

    composed = "Zürich"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    raw = tiny_tokenizer(decomposed, add_special_tokens=False)["input_ids"]
    assert raw != tiny_tokenizer(composed, add_special_tokens=False)["input_ids"]
    assert encode_triple_prompt(tiny_tokenizer, decomposed, "country") == encode_triple_prompt(
        tiny_tokenizer, composed, "country"
    )


def test_a_decomposed_candidate_is_the_trained_composed_name(tiny_tokenizer):
    """Candidates are encoded as training encodes objects (`encode_object`, NFC)."""
    import unicodedata

    from modeling_prixlm.constrained_decoding import EntityTrie
    from modeling_prixlm.formatting import encode_object

    decomposed = unicodedata.normalize("NFD", "Zürich")
    trie = EntityTrie.from_labels(tiny_tokenizer, [decomposed, "Bern"])
    assert trie.labels[0] == decomposed  # the label as given
    assert trie.token_ids(0) == encode_object(tiny_tokenizer, "Zürich")


def test_a_language_token_added_after_first_use_is_a_control_token(tiny_tokenizer):
    """The control ids were kept per tokenizer object from its first use: a language added
    later (`[ko]`) was not refused inside a name, while a fresh tokenizer refused it."""
    import copy

    from modeling_prixlm.formatting import ControlTokenError, encode_triple_prompt

    tokenizer = copy.deepcopy(tiny_tokenizer)
    assert encode_triple_prompt(tokenizer, "Germany", "currency")  # fills the per-tokenizer ids
    add_prixlm_tokens(tokenizer, ["ko"])
    with pytest.raises(ControlTokenError, match=r"holding '\[ko\]', one of the"):
        encode_triple_prompt(tokenizer, "Germany [ko]", "currency")
