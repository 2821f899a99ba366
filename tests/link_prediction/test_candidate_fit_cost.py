"""What preparing the candidates costs: each label is tokenised once, queries whose long
prompts leave room for fewer candidates share one trie per set of labels kept (cut from the
full trie's own ids, nothing tokenised again), and the prompts' lengths come from one
tokenizer call. Counted with a wrapped tokenizer, not timed; the rankings are those of a
trie built afresh for each room, as before."""

from __future__ import annotations

import warnings
from collections import Counter
from types import SimpleNamespace

import pytest
import torch
from tokenizer_calls import recording

from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.decoding_steps import encode_query
from modeling_prixlm.pipeline_prixlm import PrixLMLinkPrediction
from prixlm.link_prediction import evaluation
from prixlm.link_prediction.candidate_fit import CandidatesLeftOutWarning
from prixlm.link_prediction.evaluation import evaluate_link_prediction
from prixlm.link_prediction.prompt_groups import PromptGroup, prompt_groups, prompt_lengths
from prixlm.release.folder import fitting_labels

#: The tiny models hold 60 tokens (62 positions, from `pad_token_id + 1`).
CONFIG = SimpleNamespace(max_position_embeddings=62, pad_token_id=1)
SHORT = ["euro", "Japanese yen", "German", "French", "Japanese"]


def words(word: str, count: int) -> str:
    """`count` tokens: `Japan` and `German` are one token each of the tiny tokenizer."""
    return " ".join([word] * count)


#: Labels of 5, 20, 30 and 40 tokens beside short ones: five label lengths matter.
LABELS = [*SHORT, *(words("Japan", n) for n in (5, 20, 30, 40))]


def row(subject: str, gold: str, relation: str = "currency") -> dict:
    return {"kind": "triple", "subject": subject, "relation": relation, "object": gold,
            "all_objects": [gold], "subject_language": "en", "object_language": "en"}  # fmt: skip


#: Subjects of 1 to 45 tokens: 45 rooms, far fewer sets of labels that fit after them.
ROWS = [row(words("German", n), LABELS[n % len(LABELS)]) for n in range(1, 46)]


@pytest.fixture
def calls(tiny_tokenizer, monkeypatch):
    """Every text the tiny tokenizer is called with (`tokenizer_calls.recording`)."""
    return recording(tiny_tokenizer, monkeypatch)


def tokens(tokenizer, label: str) -> int:
    return len(tokenizer(label, add_special_tokens=False)["input_ids"])


def assert_same_trie(got: EntityTrie, expected: EntityTrie) -> None:
    for name in ("edge_keys", "entity_nodes", "depth_offsets"):
        assert torch.equal(getattr(got, name), getattr(expected, name)), name
    assert (got.labels, got.stride, got.eos_token_id) == (
        expected.labels,
        expected.stride,
        expected.eos_token_id,
    )


def test_long_prompts_share_one_trie_per_set_of_labels_kept(tiny_tokenizer, calls):
    """45 rooms built 45 tries, each tokenising its labels again, and every prompt was
    tokenised one by one (2 calls a query): now 4 cut tries and 3 tokenizer calls."""
    trie = EntityTrie.from_labels(tiny_tokenizer, LABELS)
    calls.clear()
    with pytest.warns(CandidatesLeftOutWarning, match="of 45 queries have prompts after which"):
        groups, unreachable, cut = prompt_groups(tiny_tokenizer, CONFIG, trie, ROWS)
    assert len(calls) <= 3  # the names in one call, and one prompt encoded whole
    assert not {label for label in LABELS if label not in SHORT} & set().union(*calls)
    rooms = {id(r): 60 - len(encode_query(tiny_tokenizer, r)) for r in ROWS}
    kept_sets = {
        id(r): tuple(label for label in LABELS if tokens(tiny_tokenizer, label) <= rooms[id(r)])
        for r in ROWS
    }
    distinct = {  # the sets of labels kept that some query's gold is among
        kept_sets[id(r)]
        for r in ROWS
        if len(kept_sets[id(r)]) < len(LABELS) and r["object"] in kept_sets[id(r)]
    }
    assert sum(group.cut for group in groups) == len(distinct) == 4
    for group in groups:
        expected = {kept_sets[id(r)] for r in group.rows}
        assert len(expected) == 1  # one set of labels per group
        assert_same_trie(group.trie, EntityTrie.from_labels(tiny_tokenizer, list(expected.pop())))
    assert cut == sum(len(kept) < len(LABELS) for kept in kept_sets.values())
    missed = [r for r in ROWS if r["object"] not in kept_sets[id(r)]]
    assert unreachable == len(missed) == len(ROWS) - sum(len(g.rows) for g in groups) > 0


def test_queries_that_all_fit_are_not_encoded_one_by_one(tiny_tokenizer, calls):
    trie = EntityTrie.from_labels(tiny_tokenizer, SHORT)
    rows = [row(words("German", n), "euro") for n in range(1, 31)]
    calls.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every candidate fits: nothing is left out
        groups, unreachable, cut = prompt_groups(tiny_tokenizer, CONFIG, trie, rows)
    assert len(calls) <= 3  # was 2 per query
    assert (len(groups), groups[0].trie, unreachable, cut) == (1, trie, 0, 0)


def test_the_release_folder_tokenises_each_label_once(tiny_tokenizer, calls, tmp_path):
    candidates = {"en": [*SHORT, "[O]", words("Japan", 55)], "de": ["euro", "German"]}
    config = {"max_position_embeddings": 62, "pad_token_id": 1}
    with pytest.warns(UserWarning):
        kept, too_long = fitting_labels(candidates, tmp_path, config, tiny_tokenizer)
    assert kept == {"en": SHORT, "de": ["euro", "German"]} and too_long == {"en": 1}
    seen = Counter(text for texts in calls for text in texts)
    assert seen == Counter(label for labels in candidates.values() for label in labels)


def per_room_groups(tokenizer, config, trie, rows):
    """The grouping as it was: a trie tokenised afresh for each room (the reference)."""
    positions, longest = 60, trie.max_length - 1
    rooms = [positions - len(encode_query(tokenizer, r)) for r in rows]
    if min(rooms) >= longest:
        return [PromptGroup(trie, list(rows))], 0, 0
    counts = (trie.entity_lengths() - 1).tolist()
    by_room: dict[int, list] = {}
    for r, room in zip(rows, rooms, strict=True):
        by_room.setdefault(min(room, longest), []).append(r)
    groups, unreachable, cut = [], 0, 0
    for room, selected in sorted(by_room.items(), reverse=True):
        if room >= longest:
            groups.append(PromptGroup(trie, selected))
            continue
        cut += len(selected)
        kept = [label for label, n in zip(trie.labels, counts, strict=True) if n <= room]
        reachable = [r for r in selected if r["object"] in kept]
        unreachable += len(selected) - len(reachable)
        if reachable:
            groups.append(PromptGroup(EntityTrie.from_labels(tokenizer, kept), reachable, True))
    return groups, unreachable, cut


@pytest.mark.parametrize("mode", ["beam", "full"])
def test_the_metrics_are_those_of_a_trie_per_room(tiny_prixlm, monkeypatch, mode):
    model, tokenizer = tiny_prixlm
    beams = {"num_beams": 5} if mode == "beam" else {}
    rows = ROWS[::3]  # 15 queries, 15 rooms
    with pytest.warns(CandidatesLeftOutWarning):
        metrics = evaluate_link_prediction(model, tokenizer, rows, LABELS, mode=mode, **beams)
    monkeypatch.setattr(evaluation, "prompt_groups", per_room_groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CandidatesLeftOutWarning)
        before = evaluate_link_prediction(model, tokenizer, rows, LABELS, mode=mode, **beams)
    assert metrics.keys() == before.keys()
    assert (
        metrics["queries_with_candidates_too_long"]
        == before["queries_with_candidates_too_long"]
        > 0
    )
    for key, value in before.items():
        assert metrics[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key


def test_evaluation_tokenises_each_candidate_label_once(tiny_prixlm, calls):
    model, tokenizer = tiny_prixlm
    labels = [*SHORT, "Radio [O]"]
    rows = [row("Germany", "euro"), row("Japan", "Japanese yen")]
    with pytest.warns(UserWarning, match="1 of the 6 candidate labels hold"):
        metrics = evaluate_link_prediction(model, tokenizer, rows, labels, num_beams=5)
    assert (metrics["num_queries"], metrics["candidates_unreadable"]) == (2, 1)
    seen = Counter(text for texts in calls for text in texts)
    assert {label: seen[label] for label in labels} == dict.fromkeys(labels, 1)


def test_the_pipeline_tokenises_each_candidate_label_once(tiny_prixlm, calls):
    model, tokenizer = tiny_prixlm
    labels = [*SHORT, "Radio [O]"]
    pipe = PrixLMLinkPrediction(
        model=model, tokenizer=tokenizer, device=-1, candidates={"en": labels}
    )
    calls.clear()
    with pytest.warns(UserWarning, match="1 of the 6 candidate labels hold"):
        trie = pipe.trie("en")
    assert trie.labels == SHORT
    assert Counter(text for texts in calls for text in texts) == Counter(labels)


def link(subject: str, gold: str, source: str = "en", target: str = "en") -> dict:
    return {"kind": "link", "subject": subject, "subject_language": source,
            "object_language": target, "object": gold, "all_objects": [gold]}  # fmt: skip


def test_prompt_lengths_are_those_of_each_prompt_encoded(tiny_tokenizer):
    """Triples (with and without `kind`) and links of several language pairs, decomposed
    (NFD) and spaced names: the lengths of one tokenizer call are each prompt's."""
    rows = [row(words("German", 3), "euro"), {"subject": "Japan", "relation": "Währung"},
            link("Japan", "euro", "ja", "de"), link("Deutschland", "euro", "de", "fr"),
            row("Wa\u0308hrung  Japan", "euro", relation="ト\u3099 currency"),
            link(" Japan ", "euro", "fr", "ja"), link("日本", "euro")]  # fmt: skip
    got = prompt_lengths(tiny_tokenizer, rows)
    assert got == [len(encode_query(tiny_tokenizer, r)) for r in rows]
    assert len(set(got)) >= 4  # not one length for all


@pytest.mark.parametrize(
    "bad, error",
    [
        (row(words("German", 40), words("Japan", 20), relation=" "), "tokenises to nothing"),
        (link(words("German", 40), words("Japan", 20), "xx"), "unknown language code 'xx'"),
    ],
)
def test_a_refused_query_is_refused_though_its_gold_does_not_fit(tiny_prixlm, bad, error):
    """A query `encode_query` refuses, after a valid one of its kind, whose long prompt
    leaves no room for its gold: the evaluation raises its error (it was counted as a miss)."""
    model, tokenizer = tiny_prixlm
    rows = [row("Germany", "euro"), link("Japan", "euro"), bad]
    with pytest.raises(ValueError, match=error), warnings.catch_warnings():
        warnings.simplefilter("ignore", CandidatesLeftOutWarning)
        evaluate_link_prediction(model, tokenizer, rows, LABELS, num_beams=5)


def test_a_query_holding_a_control_token_is_one_miss_though_its_gold_does_not_fit(tiny_prixlm):
    """A query whose subject holds a control token's text (`[O]`), whose long prompt leaves
    no room for its gold: a miss counted once, as `queries_unreadable` (not also as a query
    whose gold does not fit), as a gold holding one is (it raised ControlTokenError)."""
    model, tokenizer = tiny_prixlm
    bad = row(words("German", 40) + " [O]", words("Japan", 20))
    rows = [row("Germany", "euro"), link("Japan", "euro"), bad]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metrics = evaluate_link_prediction(model, tokenizer, rows, LABELS, num_beams=5)
        clean = evaluate_link_prediction(model, tokenizer, rows[:2], LABELS, num_beams=5)
    assert not any("have prompts after which" in str(w.message) for w in caught)
    assert any("1 of the 3 queries name an entity" in str(w.message) for w in caught)
    assert (metrics["num_queries"], metrics["queries_unreadable"]) == (3, 1)
    assert metrics["num_missing"] == clean["num_missing"] + 1
    assert "queries_with_candidates_too_long" not in metrics


def test_a_label_that_is_not_text_is_refused_by_name(tiny_prixlm):
    """A list among the labels: the trie's own error, not a hashing error."""
    model, tokenizer = tiny_prixlm
    with pytest.raises(ValueError, match=r"candidate entity \['euro'\] tokenises to nothing"):
        evaluate_link_prediction(model, tokenizer, [row("Germany", "euro")], ["German", ["euro"]])


@pytest.mark.parametrize("mode", ["beam", "full"])
def test_a_gold_that_is_no_candidate_is_named_by_its_row_whatever_its_prompt(tiny_prixlm, mode):
    """A query whose gold is not a candidate is refused naming its row in the caller's list,
    also when its prompt leaves room for no candidate (it was "no candidate entities: the
    trie needs at least one") or puts it in a group of long prompts (numbered in the group)."""
    model, tokenizer = tiny_prixlm
    beams = {"num_beams": 5} if mode == "beam" else {}
    rows = [row("Germany", "euro"), row(words("German", 30), "euro"),
            row(words("German", 49), "Atlantis")]  # fmt: skip
    with pytest.raises(ValueError, match=r"^row 2: gold object 'Atlantis' is not a candidate"):
        evaluate_link_prediction(model, tokenizer, rows, LABELS, mode=mode, **beams)
    rows[2] = row(words("German", 30), "Atlantis")  # room for some candidates
    with pytest.raises(ValueError, match=r"^row 2: gold object 'Atlantis' is not a candidate"):
        evaluate_link_prediction(model, tokenizer, rows, LABELS, mode=mode, **beams)


def test_no_candidate_labels_is_the_tries_own_error(tiny_prixlm):
    """An empty candidate list was an AssertionError once labels were tokenised once."""
    model, tokenizer = tiny_prixlm
    with pytest.raises(ValueError, match="^no candidate entities: the trie needs at least one"):
        evaluate_link_prediction(model, tokenizer, [row("Germany", "euro")], [], num_beams=3)
