"""Candidate labels longer than the model's positions hold after the shortest prompt: the
decoders name such a candidate and say to leave it out; link prediction's evaluation leaves
it out, counts it (`candidates_too_long`) and counts its queries as misses."""

from __future__ import annotations

import json
import logging
import re
import warnings
from types import SimpleNamespace
from unittest import mock

import pytest
from transformers import AutoTokenizer

from modeling_prixlm.beam_search import predict_objects
from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.decoding_steps import encode_query
from modeling_prixlm.formatting import encode_link_prompt, encode_triple_prompt
from modeling_prixlm.position_checks import SHORTEST_PROMPT_TOKENS, PositionBudgetError
from prixlm.link_prediction.candidate_fit import CandidatesLeftOutWarning, fit_trie, too_long_labels
from prixlm.link_prediction.candidate_scoring import score_candidates
from prixlm.link_prediction.evaluate_lp import main
from prixlm.link_prediction.evaluation import evaluate_link_prediction
from prixlm.link_prediction.prompt_groups import prompt_groups

#: The tiny models hold 60 tokens (62 positions, from `pad_token_id + 1`).
POSITIONS = 60
CONFIG = SimpleNamespace(max_position_embeddings=62, pad_token_id=1)
#: The tokens a label may have after the shortest triple prompt.
ROOM = POSITIONS - SHORTEST_PROMPT_TOKENS["triple"]
FACTS = [
    ("Germany", "currency", "euro"),
    ("France", "currency", "euro"),
    ("Japan", "currency", "Japanese yen"),
    ("Germany", "official language", "German"),
    ("France", "official language", "French"),
    ("Japan", "official language", "Japanese"),
]


def words(count: int) -> str:
    """A label of `count` tokens (`Japan` is one token of the tiny tokenizer)."""
    return " ".join(["Japan"] * count)


def rows(facts) -> list[dict]:
    return [
        {"kind": "triple", "subject": s, "relation": r, "object": o, "all_objects": [o],
         "subject_language": "en", "object_language": "en"}
        for s, r, o in facts
    ]  # fmt: skip


def labels(facts) -> list[str]:
    return sorted({s for s, _, _ in facts} | {o for _, _, o in facts})


def test_the_shortest_prompts_are_those_of_one_token_names(tiny_tokenizer):
    assert tiny_tokenizer(words(3), add_special_tokens=False)["input_ids"] == [8, 8, 8]
    triple = encode_triple_prompt(tiny_tokenizer, "Japan", "Japan")
    link = encode_link_prompt(tiny_tokenizer, "Japan", "en", "de")
    assert (len(triple), len(link)) == (SHORTEST_PROMPT_TOKENS["triple"], 10 + 1)


@pytest.mark.parametrize(
    ("query", "tokens", "kind"),
    [(("Japan", "Japan"), 51, "triple"), (("Japan", "en", "de"), 50, "link"),
     (("Germany", "currency"), 70, "triple")],
)  # fmt: skip
def test_a_candidate_no_prompt_fits_beside_is_named_to_be_left_out(
    tiny_prixlm, query, tokens, kind
):
    """It got "shorten the query to at most 9 tokens" (shorter than any prompt) or, beyond
    the positions, "at most -10 tokens"."""
    model, tokenizer = tiny_prixlm
    assert model.config.max_position_embeddings - 2 == POSITIONS
    room = POSITIONS - SHORTEST_PROMPT_TOKENS[kind]
    with mock.patch.object(model, "forward", side_effect=AssertionError("decoding started")):
        for decode in (predict_objects, score_candidates):
            with pytest.raises(PositionBudgetError) as error:
                decode(model, tokenizer, [query], ["euro", words(tokens)])
            message = str(error.value)
            assert message.startswith("candidate 'Japan Japan Japan") and (
                f"({tokens} tokens) does not fit even after the shortest {kind} prompt "
                f"({SHORTEST_PROMPT_TOKENS[kind]} tokens)" in message
            )
            assert message.endswith(
                f"leave it out of the candidates (1 candidates are longer than {room} tokens)"
            )
            assert "max_position_embeddings=62" in message and not re.search(r"-\d", message)


def test_a_label_of_exactly_the_room_is_kept_and_one_token_more_is_left_out(tiny_tokenizer):
    """The room is the most tokens a label may have: a label of `ROOM` tokens fits the
    shortest prompt, one of `ROOM + 1` fits none (`>=` for `>` left out both)."""
    fits, over = words(ROOM), words(ROOM + 1)
    assert too_long_labels(tiny_tokenizer, CONFIG, ["euro", fits, over]) == [over]
    assert too_long_labels(tiny_tokenizer, CONFIG, ["euro", fits]) == []
    facts = [("Japan", "currency", fits), ("Germany", "currency", "euro")]
    trie = EntityTrie.from_labels(tiny_tokenizer, ["euro", fits])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every label fits: nothing is left out or warned of
        kept = fit_trie(tiny_tokenizer, CONFIG, trie, rows(facts))
    assert (kept.trie, kept.too_long, kept.unreachable, len(kept.rows)) == (trie, [], 0, 2)
    trie = EntityTrie.from_labels(tiny_tokenizer, ["euro", fits, over])
    with pytest.warns(CandidatesLeftOutWarning, match=r"1 of the 3 candidate labels .* 50 "):
        fitted = fit_trie(
            tiny_tokenizer, CONFIG, trie, rows([*facts, ("France", "currency", over)])
        )
    assert (fitted.trie.labels, fitted.too_long) == (["euro", fits], [over])
    assert [row["object"] for row in fitted.rows] == [fits, "euro"] and fitted.unreachable == 1


def test_a_long_prompt_keeps_the_labels_of_exactly_its_room(tiny_tokenizer):
    """A query whose prompt leaves room for `n` tokens is ranked among the labels of at most
    `n` tokens: its gold of exactly `n` is reachable, one of `n + 1` is not."""
    subject = " ".join(["German"] * 7)
    room = POSITIONS - len(encode_query(tiny_tokenizer, rows([(subject, "currency", "")])[0]))
    assert room == 40 < ROOM
    fits, over = words(room), words(room + 1)
    trie = EntityTrie.from_labels(tiny_tokenizer, ["euro", fits, over])
    facts = [(subject, "currency", fits), (subject, "currency", over), ("Japan", "currency", over)]
    with pytest.warns(CandidatesLeftOutWarning, match=r"2 of 3 queries .* 1 whose gold"):
        groups, unreachable, cut = prompt_groups(tiny_tokenizer, CONFIG, trie, rows(facts))
    assert (unreachable, cut) == (1, 2)
    whole, short = groups
    assert (whole.trie, [r["subject"] for r in whole.rows], whole.cut) == (trie, ["Japan"], False)
    assert (short.trie.labels, [r["object"] for r in short.rows], short.cut) == (
        ["euro", fits],
        [fits],
        True,
    )
    shortest = EntityTrie.from_labels(tiny_tokenizer, [fits, over])  # no shorter label
    with pytest.warns(CandidatesLeftOutWarning, match=r"2 of 2 queries .* 1 whose gold"):
        groups, unreachable, cut = prompt_groups(tiny_tokenizer, CONFIG, shortest, rows(facts[:2]))
    assert [(group.trie.labels, [r["object"] for r in group.rows]) for group in groups] == [
        ([fits], [fits])
    ]
    assert (unreachable, cut) == (1, 2)
    exact = EntityTrie.from_labels(tiny_tokenizer, ["euro", fits])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the longest label fits exactly: nothing is cut
        groups, unreachable, cut = prompt_groups(tiny_tokenizer, CONFIG, exact, rows(facts[:1]))
    assert (len(groups), groups[0].trie, unreachable, cut) == (1, exact, 0, 0)


def test_a_candidate_that_fits_beside_the_shortest_prompt_is_decoded(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    longest = words(POSITIONS - SHORTEST_PROMPT_TOKENS["triple"])
    (ranked,) = predict_objects(model, tokenizer, [("Japan", "Japan")], ["euro", longest], 2)
    assert sorted(ranked.labels) == sorted(["euro", longest])
    with pytest.raises(PositionBudgetError, match=r"shorten the query to at most 10 tokens"):
        predict_objects(model, tokenizer, [("Germany", "currency")], ["euro", longest])


@pytest.mark.parametrize("mode", ["beam", "full"])
def test_evaluation_leaves_out_labels_beyond_the_positions_and_misses_their_queries(
    tiny_prixlm, mode
):
    model, tokenizer = tiny_prixlm
    too_long = words(POSITIONS)  # fits no prompt
    facts = FACTS[:3] + [("Atlantis", "currency", too_long)] + FACTS[3:]
    kept = [label for label in labels(facts) if label != too_long]
    fitting = evaluate_link_prediction(model, tokenizer, rows(FACTS), kept, mode, 5)
    with pytest.warns(CandidatesLeftOutWarning, match=r"1 of the 10 candidate labels .* 50 "):
        left_out = evaluate_link_prediction(model, tokenizer, rows(facts), labels(facts), mode, 5)
    assert left_out.pop("candidates_too_long") == 1 and "candidates_too_long" not in fitting
    assert left_out["num_queries"] == fitting["num_queries"] + 1 == 7
    assert left_out["num_missing"] == fitting["num_missing"] + 1
    assert left_out["num_candidates"] == fitting["num_candidates"] == 9
    for key, value in fitting.items():
        if key.startswith(("hits_at", "mrr")):
            assert left_out[key] == pytest.approx(value * 6 / 7), key


def test_queries_whose_golds_are_all_left_out_are_all_misses(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    too_long = words(POSITIONS)
    facts = [("Atlantis", "currency", too_long)]
    with pytest.warns(CandidatesLeftOutWarning):
        metrics = evaluate_link_prediction(
            model, tokenizer, rows(facts), ["euro", too_long], "beam", 5
        )
    assert metrics == {
        "hits_at_1": 0.0, "hits_at_3": 0.0, "mrr_at_5": 0.0,  # no hits@10 from 5 beams
        "num_queries": 1, "num_missing": 1, "merged_candidates": 0, "num_candidates": 1,
        "candidates_too_long": 1, "queries_gold_too_long": 1,
    }  # fmt: skip
    with pytest.raises(PositionBudgetError, match=r"^none of the 1 candidates fits"):
        evaluate_link_prediction(model, tokenizer, rows(facts), [too_long], "beam", 5)


@pytest.mark.parametrize("mode", ["beam", "full"])
def test_evaluation_counts_the_golds_too_long_apart_from_the_other_misses(tiny_prixlm, mode):
    """`num_missing` alone did not tell a gold that no decoding could produce (longer than
    every prompt leaves room for, or than its own long prompt does) from one the beams
    lost: `queries_gold_too_long` counts the first kind, after every prompt and after its
    own, and is absent when every gold fits."""
    model, tokenizer = tiny_prixlm
    subject = " ".join(["German"] * 7)  # its prompt leaves room for 40 tokens
    beyond_all, beyond_own = words(POSITIONS), words(41)
    facts = [*FACTS, ("Atlantis", "currency", beyond_all), (subject, "currency", beyond_own),
             (subject, "currency", "euro")]  # fmt: skip
    with pytest.warns(CandidatesLeftOutWarning):
        metrics = evaluate_link_prediction(model, tokenizer, rows(facts), labels(facts), mode, 5)
    assert metrics["queries_gold_too_long"] == 2 and metrics["num_queries"] == 9
    assert metrics["num_missing"] >= 2
    fitting = evaluate_link_prediction(model, tokenizer, rows(FACTS), labels(FACTS), mode, 5)
    assert "queries_gold_too_long" not in fitting


def test_evaluate_lp_reports_the_labels_left_out(tiny_prixlm, tmp_path, capsys):
    """One label beyond the positions made every query of its language fail
    ("shorten the query to at most -1147 tokens"), whatever `--limit`."""
    from datasets import Dataset

    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    facts = FACTS + [("Atlantis", "currency", words(POSITIONS))]
    (tmp_path / "data" / "en").mkdir(parents=True)
    Dataset.from_list(rows(facts)).to_parquet(tmp_path / "data" / "en" / "test.parquet")
    (tmp_path / "data" / "README.md").write_text(
        "---\nconfigs:\n- config_name: en\n  data_files:\n"
        "  - split: test\n    path: en/test.parquet\n---\n",
        encoding="utf-8",
    )
    output = tmp_path / "results.json"
    with pytest.warns(CandidatesLeftOutWarning):
        main(["--model", str(tmp_path / "model"), "--dataset", str(tmp_path / "data"),
              "--languages", "en", "--num_beams", "5", "--output", str(output)])  # fmt: skip
    metrics = json.loads(output.read_text(encoding="utf-8"))["results"]["en"]
    assert metrics["candidates_too_long"] == 1 and metrics["num_queries"] == 7
    assert metrics["num_missing"] >= 1 and metrics["num_candidates"] == 9
    assert "| en | 7 | 9 |" in capsys.readouterr().out


def test_measuring_labels_and_prompts_beyond_the_positions_logs_no_indexing_errors(
    tiny_prixlm, tmp_path
):
    """transformers logged "Token indices sequence length is longer than the specified maximum
    sequence length for this model (... > 60). Running this sequence through the model will
    result in indexing errors" where a label or prompt was only measured: the label is left
    out (with `CandidatesLeftOutWarning`) or named in a `PositionBudgetError`, never run."""
    model, tokenizer = tiny_prixlm
    tokenizer.save_pretrained(tmp_path)
    too_long = words(POSITIONS + 10)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    library = logging.getLogger("transformers")
    library.addHandler(handler)

    def fresh():  # transformers says it once per tokenizer
        return AutoTokenizer.from_pretrained(tmp_path, model_max_length=POSITIONS)

    try:
        loud = fresh()
        loud(too_long, add_special_tokens=False)  # the check sees the message where it is logged
        assert any("indexing errors" in record.getMessage() for record in records)
        records.clear()
        assert too_long_labels(fresh(), CONFIG, ["euro", too_long]) == [too_long]
        with pytest.warns(CandidatesLeftOutWarning):
            evaluate_link_prediction(
                model, fresh(), rows([*FACTS, ("Atlantis", "currency", too_long)]),
                [*labels(FACTS), too_long], "beam", 5,
            )  # fmt: skip
        with pytest.raises(PositionBudgetError, match=r"does not fit even after the shortest"):
            predict_objects(model, fresh(), [("Japan", "Japan")], ["euro", too_long])
        assert len(encode_triple_prompt(fresh(), too_long, "currency")) > POSITIONS
    finally:
        library.removeHandler(handler)
    assert [record.getMessage() for record in records] == []
