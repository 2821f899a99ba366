"""Candidates the model cannot rank for a query: a label holding a control token's text
(`[O]`, `[en]`) made `EntityTrie.from_labels` refuse the whole candidate list, and a long
query beside a long candidate raised `PositionBudgetError` and ended the whole evaluation.
Both are left out (for that query only, in the second case), counted, and a gold among them
is a miss; the queries that fit are ranked exactly as before."""

from __future__ import annotations

import unicodedata
import warnings

import pytest

from modeling_prixlm.candidate_checks import readable_split, split_unreadable
from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.formatting import ControlTokenError, encode_triple_prompt
from prixlm.link_prediction.candidate_fit import CandidatesLeftOutWarning
from prixlm.link_prediction.evaluation import evaluate_link_prediction

#: The tiny models hold 60 tokens; `Japan` is one token of the tiny tokenizer.
POSITIONS = 60
LABELS = ["euro", "Japanese yen", "German", "French", "Japanese"]


def words(count: int) -> str:
    return " ".join(["Japan"] * count)


def row(subject: str, relation: str, gold: str) -> dict:
    return {"kind": "triple", "subject": subject, "relation": relation, "object": gold,
            "all_objects": [gold], "subject_language": "en", "object_language": "en"}  # fmt: skip


SHORT_ROWS = [
    row("Germany", "currency", "euro"),
    row("Japan", "currency", "Japanese yen"),
    row("France", "official language", "French"),
]


def test_the_trie_itself_stays_strict(tiny_tokenizer):
    with pytest.raises(ControlTokenError, match=r"'Radio \[O\]' is read as holding '\[O\]'"):
        EntityTrie.from_labels(tiny_tokenizer, [*LABELS, "Radio [O]"])


def test_a_decomposed_label_is_judged_and_tokenised_as_its_composed_form(tiny_tokenizer):
    """Labels are read composed (NFC), as the trie reads them. No decomposed label composes
    into a control token's text (those are ASCII, and composing a decomposed text makes no
    ASCII character), but composing can take one away: `a</s≯` decomposed ends in `</s>`
    and a combining overlay that composes with `>`. It is readable, as the trie finds; and
    a readable label's ids are those of its composed form (`Gärman` decomposed reads as
    `G ä r m a n`, composed as fewer tokens)."""
    tokenizer = tiny_tokenizer
    german, overlay = (unicodedata.normalize("NFD", text) for text in ("Gärman", "a</s≯"))
    assert german != "Gärman" and "</s>" in overlay
    readable, unreadable, encoded = readable_split(tokenizer, [german, "Radio [O]", overlay])
    assert (readable, unreadable) == ([german, overlay], ["Radio [O]"])
    assert split_unreadable(tokenizer, [german, "Radio [O]", overlay]) == (readable, unreadable)

    def ids(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    assert encoded == [ids("Gärman"), ids("a</s≯")]
    assert ids("Gärman") != ids(german) and tokenizer.eos_token_id in ids(overlay)
    trie = EntityTrie.from_labels(tokenizer, readable)  # the trie reads them alike
    assert [trie.token_ids(i)[:-1] for i in range(2)] == encoded


@pytest.mark.parametrize("mode", ["beam", "full"])
def test_an_unreadable_label_is_left_out_and_its_query_missed(tiny_prixlm, mode):
    """It raised ControlTokenError for every query of the language (`evaluate_lp`: rc 1)."""
    model, tokenizer = tiny_prixlm
    beams = {"num_beams": 5} if mode == "beam" else {}
    clean = evaluate_link_prediction(model, tokenizer, SHORT_ROWS, LABELS, mode=mode, **beams)
    rows = [*SHORT_ROWS, row("Germany", "radio", "Radio [O]")]
    with pytest.warns(UserWarning) as caught:
        metrics = evaluate_link_prediction(
            model, tokenizer, rows, [*LABELS, "Radio [O]", "[en]"], mode=mode, **beams
        )
    assert caught[0].category.__name__ == "UnreadableCandidatesWarning"
    assert str(caught[0].message) == (
        "link prediction: 2 of the 7 candidate labels hold the text of one of the model's "
        "control tokens (e.g. 'Radio [O]'), which the model reads as that token and not as "
        "a name: left out, no query can reach them"
    )
    assert metrics["candidates_unreadable"] == 2 and metrics["num_candidates"] == 5
    assert metrics["num_queries"] == 4
    assert metrics["num_missing"] == clean["num_missing"] + 1
    for key, value in clean.items():
        if key.startswith(("hits_at_", "mrr")):
            assert metrics[key] == pytest.approx(value * 3 / 4)


def test_every_label_unreadable_is_one_clear_error(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    with pytest.raises(ValueError, match=r"2 of the 2 candidate labels .* none is left to rank"):
        evaluate_link_prediction(model, tokenizer, SHORT_ROWS[:1], ["[O]", "a [EOS]"], num_beams=2)


@pytest.mark.parametrize("mode", ["beam", "full"])
def test_a_candidate_too_long_for_one_query_is_left_out_for_that_query_only(tiny_prixlm, mode):
    """A 35-token label fits after the short prompts, not after a prompt with a 20-token
    subject: that query raised PositionBudgetError and ended the evaluation."""
    model, tokenizer = tiny_prixlm
    long_label, long_subject = words(35), words(20)
    prompts = [
        len(encode_triple_prompt(tokenizer, r["subject"], r["relation"])) for r in SHORT_ROWS
    ]
    assert max(prompts) + 35 <= POSITIONS  # the short queries fit beside it
    assert len(encode_triple_prompt(tokenizer, long_subject, "capital")) + 35 > POSITIONS
    beams = {"num_beams": 7} if mode == "beam" else {}
    labels = [*LABELS, long_label]
    long_rows = [row(long_subject, "currency", "euro"), row(long_subject, "capital", long_label)]
    with pytest.warns(CandidatesLeftOutWarning, match="2 of 5 queries have prompts after which"):
        metrics = evaluate_link_prediction(
            model, tokenizer, [*SHORT_ROWS, *long_rows], labels, mode=mode, **beams
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # these fit: nothing is left out
        short = evaluate_link_prediction(model, tokenizer, SHORT_ROWS, labels, mode=mode, **beams)
        cut = evaluate_link_prediction(model, tokenizer, long_rows[:1], LABELS, mode=mode, **beams)
    assert metrics["queries_with_candidates_too_long"] == 2
    assert metrics["num_queries"] == 5 and metrics["num_candidates"] == 6
    assert metrics["num_missing"] == short["num_missing"] + cut["num_missing"] + 1
    for key, value in short.items():
        if key.startswith(("hits_at_", "mrr")):
            assert metrics[key] == pytest.approx((value * 3 + cut[key]) / 5)


@pytest.mark.parametrize("mode", ["beam", "full"])
def test_a_query_naming_a_control_token_is_a_miss(tiny_prixlm, mode):
    """A query whose subject (or relation) holds a control token's text (an entity labelled
    `[en]` or `x [EOS]`, read as those tokens) raised ControlTokenError and ended the
    evaluation (`evaluate_lp`, and training's link-prediction curve at step 0), where a gold
    holding one is a miss and training leaves such facts out: it is a miss, counted."""
    model, tokenizer = tiny_prixlm
    beams = {"num_beams": 5} if mode == "beam" else {}
    clean = evaluate_link_prediction(model, tokenizer, SHORT_ROWS, LABELS, mode=mode, **beams)
    bad = [row("[en]", "currency", "euro"), row("Japan", "currency [EOS]", "Japanese yen")]
    with pytest.warns(UserWarning) as caught:
        metrics = evaluate_link_prediction(
            model, tokenizer, [*SHORT_ROWS, *bad], LABELS, mode=mode, **beams
        )
    assert [w.category.__name__ for w in caught] == ["UnreadableCandidatesWarning"]
    assert str(caught[0].message).startswith(
        "link prediction: 2 of the 5 queries name an entity or relation holding the text of "
        "one of the model's control tokens (e.g. '[en]' | 'currency')"
    )
    assert metrics["queries_unreadable"] == 2 and metrics["num_queries"] == 5
    assert metrics["num_missing"] == clean["num_missing"] + 2
    assert "queries_unreadable" not in clean
    for key, value in clean.items():
        if key.startswith(("hits_at_", "mrr")):
            assert metrics[key] == pytest.approx(value * 3 / 5)
