"""Edges of fitting candidates after prompts: a prompt leaving room for exactly the
shortest or the longest label, or for none; prompt lengths counted in one tokenizer call
for rows of both kinds and with decomposed names, and `encode_query`'s error for a row
without a name; labels exactly as long as the positions hold after the shortest prompt, in
the release folder and in evaluation; the full trie cut to every length (`trie_within`)."""

from __future__ import annotations

import unicodedata
import warnings
from types import SimpleNamespace

import pytest

from modeling_prixlm.candidate_checks import trie_within
from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.decoding_steps import encode_query
from prixlm.link_prediction.candidate_fit import CandidatesLeftOutWarning
from prixlm.link_prediction.evaluation import evaluate_link_prediction
from prixlm.link_prediction.prompt_groups import prompt_groups, prompt_lengths
from prixlm.release.folder import fitting_labels

#: The tiny models hold 60 tokens (62 positions, from `pad_token_id + 1`).
POSITIONS = 60
CONFIG = SimpleNamespace(max_position_embeddings=POSITIONS + 2, pad_token_id=1)
#: Labels of 1 and 3 tokens (`Japan` is one token of the tiny tokenizer).
ONE, THREE = "Japan", "Japan Japan Japan"


def words(word: str, count: int) -> str:
    return " ".join([word] * count)


def row(subject: str, gold: str, relation: str = "Japan", kind: str = "triple") -> dict:
    return {"kind": kind, "subject": subject, "relation": relation, "object": gold,
            "all_objects": [gold], "subject_language": "en", "object_language": "de"}  # fmt: skip


def with_room(tokenizer, room: int, gold: str) -> dict:
    """A triple query whose prompt leaves `room` tokens for its candidate."""
    subject_tokens = POSITIONS - room - len(encode_query(tokenizer, row("German", gold))) + 1
    query = row(words("German", subject_tokens), gold)  # `German`: one token
    assert POSITIONS - len(encode_query(tokenizer, query)) == room
    return query


def test_rooms_of_exactly_the_shortest_label_and_of_none(tiny_tokenizer):
    """Room 1 holds the 1-token label (its own cut trie); room 0 holds none (a miss, in
    no group); room 2 holds the 1-token label only (the 3-token gold is a miss)."""
    trie = EntityTrie.from_labels(tiny_tokenizer, [ONE, THREE])
    rows = [
        with_room(tiny_tokenizer, 3, THREE),
        with_room(tiny_tokenizer, 1, ONE),
        with_room(tiny_tokenizer, 0, ONE),
        with_room(tiny_tokenizer, 2, THREE),
        with_room(tiny_tokenizer, 2, ONE),
    ]
    with pytest.warns(CandidatesLeftOutWarning, match="4 of 5 queries .* and 2 whose gold"):
        groups, unreachable, cut = prompt_groups(tiny_tokenizer, CONFIG, trie, rows)
    got = sorted((group.trie.labels, group.rows, group.cut) for group in groups)
    assert got == [([ONE], [rows[1], rows[4]], True), ([ONE, THREE], rows[:1], False)]
    assert (unreachable, cut) == (2, 4)


def test_rooms_of_exactly_the_longest_label_need_no_cut(tiny_tokenizer):
    trie = EntityTrie.from_labels(tiny_tokenizer, [ONE, THREE])
    rows = [with_room(tiny_tokenizer, 3, THREE), with_room(tiny_tokenizer, 3, ONE)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every candidate fits: nothing is left out
        groups, unreachable, cut = prompt_groups(tiny_tokenizer, CONFIG, trie, rows)
    assert [(g.trie, g.rows, g.cut) for g in groups] == [(trie, rows, False)]
    assert (unreachable, cut) == (0, 0)


def test_prompt_lengths_are_those_of_the_encoded_prompts(tiny_tokenizer):
    """Rows of both kinds (a link's prompt has its two language tokens, no relation, even
    one a row gives), other relations, and decomposed names (composed, as encoded)."""
    decomposed = unicodedata.normalize("NFD", "Café")
    assert len(tiny_tokenizer(decomposed, add_special_tokens=False)["input_ids"]) > len(
        tiny_tokenizer("Café", add_special_tokens=False)["input_ids"]
    )
    rows = [
        row("German", "euro", "currency"),
        row("Japan", "euro", "", kind="link"),
        row(decomposed, "euro", "official language"),
        row(decomposed, "euro", "", kind="link"),
        row("German", "euro", "capital", kind="link"),
        row(words("German", 5), "euro", "capital"),
    ]
    assert prompt_lengths(tiny_tokenizer, rows) == [
        len(encode_query(tiny_tokenizer, one)) for one in rows
    ]
    first_decomposed = [rows[2], rows[0]]  # its kind's tokens around the names from it
    no_relation = {key: value for key, value in rows[1].items() if key != "relation"}
    for some in (first_decomposed, [no_relation, rows[0]]):  # a link row with no relation
        assert prompt_lengths(tiny_tokenizer, some) == [
            len(encode_query(tiny_tokenizer, one)) for one in some
        ]


@pytest.mark.parametrize("missing", ["subject", "relation"])
def test_a_row_without_a_name_gets_encode_query_s_error(tiny_tokenizer, missing):
    rows = [row("German", "euro"), {**row("Japan", "euro"), missing: None}]
    with pytest.raises(TypeError, match=f"^{missing} must be a string, got NoneType"):
        encode_query(tiny_tokenizer, rows[1])
    with pytest.raises(TypeError, match=f"^{missing} must be a string, got NoneType"):
        prompt_lengths(tiny_tokenizer, rows)


@pytest.mark.parametrize(("links", "room"), [(True, 49), (False, 50)])
def test_the_release_folder_keeps_labels_exactly_as_long_as_the_room(
    tiny_tokenizer, tmp_path, links, room
):
    """The positions hold 50 label tokens after the shortest triple prompt (10 tokens), 49
    after the shortest link prompt; an unreadable label before them is left out first."""
    candidates = {"en": ["[O]", "euro", words("Japan", room), words("Japan", room + 1)]}
    config = {"max_position_embeddings": POSITIONS + 2, "pad_token_id": 1}
    with pytest.warns(UserWarning) as caught:
        kept, too_long = fitting_labels(candidates, tmp_path, config, tiny_tokenizer, links)
    assert kept == {"en": ["euro", words("Japan", room)]} and too_long == {"en": 1}
    (left_out,) = [w for w in caught if w.category is CandidatesLeftOutWarning]
    assert f"1 of the 3 candidate labels are longer than the {room} tokens" in str(left_out.message)


@pytest.mark.parametrize("mode", ["beam", "full"])
def test_evaluation_ranks_a_label_exactly_as_long_as_the_room(tiny_prixlm, mode):
    model, tokenizer = tiny_prixlm
    longest, too_long = words("Japan", 50), words("Japan", 51)
    labels = ["euro", "German", longest, too_long]
    rows = [row("Japan", longest), row("Japan", "euro"), row("Japan", too_long)]
    assert len(encode_query(tokenizer, rows[0])) == POSITIONS - 50  # the shortest prompt
    with pytest.warns(CandidatesLeftOutWarning, match="1 of the 4 candidate labels"):
        metrics = evaluate_link_prediction(model, tokenizer, rows, labels, mode, 3)
    assert (metrics["num_candidates"], metrics["candidates_too_long"]) == (3, 1)
    assert metrics["num_queries"] == 3 and "queries_with_candidates_too_long" not in metrics


#: Labels sharing prefixes, one pair of twins (`<unk>` alike), of 1 to 7 tokens.
SHARED = ["Japan", "Japan Japan", "Japanese yen", "Japan Japan Japan Japan", "German",
          "Japan German", "☃", "☄", "German German German"]  # fmt: skip


def test_trie_within_is_the_trie_of_the_labels_kept_at_every_length(tiny_tokenizer):
    trie = EntityTrie.from_labels(tiny_tokenizer, SHARED)
    lengths = (trie.entity_lengths() - 1).tolist()
    assert sorted(set(lengths)) == [1, 2, 3, 4, 7]
    assert int(trie.representatives().numel()) < trie.num_entities  # the twins
    for longest in range(2, trie.max_length):  # `[EOS]` included
        kept = [label for label, n in zip(SHARED, lengths, strict=True) if n < longest]
        cut, expected = trie_within(trie, longest), EntityTrie.from_labels(tiny_tokenizer, kept)
        for name in ("edge_keys", "entity_nodes", "depth_offsets"):
            assert getattr(cut, name).tolist() == getattr(expected, name).tolist(), name
        assert (cut.labels, cut.stride, cut.eos_token_id) == (kept, trie.stride, trie.eos_token_id)
    assert trie_within(trie, trie.max_length) is trie  # every entity kept: the trie itself
    with pytest.raises(ValueError, match="no candidate entities"):
        trie_within(trie, 1)  # `[EOS]` alone: none is that short
