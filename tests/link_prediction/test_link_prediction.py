"""Link prediction (predict_objects, score_candidates) against the slow reference of Algorithm 1 (tests/reference_lp.py)."""

from __future__ import annotations

from unittest import mock

import pytest
import torch
from reference_lp import reference_algorithm_1, reference_log_likelihood
from tiny_models import TINY_FACTS, make_tiny_model

from modeling_prixlm.beam_search import predict_objects
from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.decoding_steps import PositionBudgetError, encode_query
from modeling_prixlm.formatting import encode_object, special_token_ids
from modeling_prixlm.trie_logits_processor import TrieConstrainedLogitsProcessor
from prixlm.link_prediction.candidate_scoring import score_candidates

QUERIES = [
    ("Germany", "currency"),  # gold "euro"
    ("Japan", "official language"),  # gold "Japanese"
    ("Switzerland", "Währung"),
    ("Deutschland", "de", "fr"),  # a link, a different prompt length (left padding)
]
GOLD = ["euro", "Japanese", "Swiss franc", "Allemagne"]


def tiny_entities(tokenizer) -> list[str]:
    """~200 labels: the KB's words and pairs of its shortest words.

    Shared prefixes (`Fran...`), entities that are token prefixes of others (`German` /
    `Germany`, `日本` / `日本円`, `Japan` / `Japan yen`) and one label that tokenises like
    another (`" euro"` / `"euro"`).
    """
    words = sorted({w for fact in TINY_FACTS for part in fact for w in part.split()})
    short = sorted(words, key=lambda w: (len(encode_object(tokenizer, w)), w))[:14]
    pairs = [f"{a} {b}" for a in short for b in short if a != b]
    return words + pairs[:174] + ["Swiss franc", " euro"]


@pytest.fixture(scope="module")
def setup(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    labels = tiny_entities(tokenizer)
    candidates = [encode_object(tokenizer, label) for label in labels]
    bodies = {tuple(c[:-1]) for c in candidates}
    assert any(tuple(c[:i]) in bodies for c in candidates for i in range(1, len(c) - 1)), (
        "no entity is a prefix of another"
    )
    assert candidates[labels.index(" euro")] == candidates[labels.index("euro")]
    eos = special_token_ids(tokenizer, ()).end_of_object
    return model, tokenizer, labels, candidates, eos


def assert_same_ranking(fast, reference, atol=1e-4):
    assert fast.labels == [label for label, _ in reference]
    torch.testing.assert_close(
        torch.tensor(fast.losses, dtype=torch.float64),
        torch.tensor([loss for _, loss in reference], dtype=torch.float64),
        atol=atol,
        rtol=0,
    )
    assert fast.losses == sorted(fast.losses)


def test_fast_path_equals_reference_with_a_small_beam(setup):
    model, tokenizer, labels, candidates, eos = setup
    fast = predict_objects(model, tokenizer, QUERIES, labels, num_beams=4, batch_size=3)
    missing_gold = 0
    for query, gold, result in zip(QUERIES, GOLD, fast, strict=True):
        prompt = encode_query(tokenizer, query)
        assert_same_ranking(
            result, reference_algorithm_1(model, prompt, candidates, labels, eos, 4)
        )
        missing_gold += gold not in result.labels
        assert " euro" not in result.labels  # collapsed into "euro"
        assert all(
            labels[e] == label for e, label in zip(result.entities, result.labels, strict=True)
        )
    assert missing_gold > 0, "every gold was inside the beam: the test needs a harder case"


def test_fast_path_equals_reference_with_50_beams(setup):
    model, tokenizer, labels, candidates, eos = setup
    (fast,) = predict_objects(model, tokenizer, QUERIES[:1], labels, num_beams=50)
    prompt = encode_query(tokenizer, QUERIES[0])
    assert_same_ranking(fast, reference_algorithm_1(model, prompt, candidates, labels, eos, 50))
    assert len(fast.labels) > 50  # completions take no beam slot


def test_batching_does_not_change_results(setup):
    model, tokenizer, labels, *_ = setup
    together = predict_objects(model, tokenizer, QUERIES, labels, num_beams=6, batch_size=4)
    trie = EntityTrie.from_labels(tokenizer, labels)
    for query, expected in zip(QUERIES, together, strict=True):
        (alone,) = predict_objects(model, tokenizer, [query], trie, num_beams=6, batch_size=1)
        assert alone.labels == expected.labels
        torch.testing.assert_close(alone.losses, expected.losses, atol=1e-5, rtol=0)


def test_bidirectional_model_without_cache_equals_reference(setup, tiny_tokenizer):
    _, tokenizer, labels, candidates, eos = setup
    model = make_tiny_model(tiny_tokenizer, object_attention="bidirectional", seed=1)
    (fast,) = predict_objects(model, tokenizer, QUERIES[1:2], labels, num_beams=3)
    prompt = encode_query(tokenizer, QUERIES[1])
    assert_same_ranking(fast, reference_algorithm_1(model, prompt, candidates, labels, eos, 3))


def test_generate_with_the_processor_agrees_for_finished_beams(setup):
    """`model.generate` + processor: every finished hypothesis is a completion of Algorithm 1
    with the same score (sum of full-vocabulary log-probabilities, `length_penalty=0`).

    The two lists need not coincide: `generate` ranks an `[EOS]` extension among the top
    2K extensions of the step (and keeps K finished hypotheses), while Algorithm 1 collects
    every completion without using a beam slot.
    """
    model, tokenizer, labels, *_ = setup
    trie = EntityTrie.from_labels(tokenizer, labels)
    num_beams = 4
    fast = predict_objects(model, tokenizer, QUERIES[:2], trie, num_beams=num_beams)
    for query, expected in zip(QUERIES[:2], fast, strict=True):
        prompt = torch.tensor([encode_query(tokenizer, query)])
        out = model.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            num_beams=num_beams,
            num_return_sequences=num_beams,
            length_penalty=0.0,
            early_stopping=False,
            do_sample=False,
            max_new_tokens=trie.max_length,
            logits_processor=[TrieConstrainedLogitsProcessor(trie, prompt.shape[1])],
            return_dict_in_generate=True,
            output_scores=True,
        )
        finished = out.sequences_scores > -1e9
        assert int(finished.sum()) > 0
        ours = dict(zip(expected.labels, expected.losses, strict=True))
        previous = float("inf")
        for sequence, score in zip(
            out.sequences[finished], out.sequences_scores[finished], strict=True
        ):
            ids = sequence[prompt.shape[1] :].tolist()
            ids = ids[: ids.index(trie.eos_token_id) + 1]
            node = trie.walk(torch.tensor([ids]))
            label = labels[int(trie.entity_of(node))]
            assert ours[label] == pytest.approx(-float(score), abs=1e-4)
            assert float(score) <= previous
            previous = float(score)


def test_score_candidates_is_the_exact_log_likelihood(setup):
    model, tokenizer, labels, candidates, _ = setup
    scores = score_candidates(model, tokenizer, QUERIES, labels, batch_size=2, max_rows=40)
    assert scores.shape == (len(QUERIES), len(labels))
    prompt = encode_query(tokenizer, QUERIES[3])  # a link, left-padded in its batch
    expected = [reference_log_likelihood(model, prompt, c) for c in candidates]
    torch.testing.assert_close(
        scores[3], torch.tensor(expected, dtype=torch.float64), atol=1e-4, rtol=0
    )
    # what the beam search completes has exactly these scores
    fast = predict_objects(model, tokenizer, QUERIES, labels, num_beams=5)
    for row, result in enumerate(fast):
        torch.testing.assert_close(
            torch.tensor(result.scores, dtype=torch.float64),
            scores[row, result.entities],
            atol=1e-4,
            rtol=0,
        )
    assert torch.equal(scores[:, labels.index(" euro")], scores[:, labels.index("euro")])


@pytest.mark.parametrize(
    ("queries", "candidates", "error", "message"),
    [
        (QUERIES, [], ValueError, "no candidate"),
        (QUERIES, ["euro", ""], ValueError, "tokenises to nothing"),
        ([("", "currency")], ["euro"], ValueError, "subject '' tokenises to nothing"),
        ([("Germany", " ")], ["euro"], ValueError, "relation ' ' tokenises to nothing"),
        ([("Germany", "de", "xx")], ["euro"], ValueError, "unknown language"),
        ([], ["euro"], ValueError, "no queries"),
        ([("Germany",)], ["euro"], TypeError, "a query is"),
        (QUERIES, "euro", TypeError, "not one string"),
    ],
)
def test_bad_inputs_fail_before_decoding(setup, queries, candidates, error, message):
    model, tokenizer, *_ = setup
    with mock.patch.object(model, "forward", side_effect=AssertionError("decoding started")):
        with pytest.raises(error, match=message):
            predict_objects(model, tokenizer, queries, candidates)
        with pytest.raises(error, match=message):
            score_candidates(model, tokenizer, queries, candidates)


def test_a_candidate_beyond_the_position_budget_fails_before_decoding(setup):
    model, tokenizer, *_ = setup
    too_long = " ".join(["Deutschland"] * model.config.max_position_embeddings)
    with mock.patch.object(model, "forward", side_effect=AssertionError("decoding started")):
        for decode in (predict_objects, score_candidates):
            with pytest.raises(ValueError, match="max_position_embeddings"):
                decode(model, tokenizer, QUERIES, ["euro", too_long])


def test_default_batch_size_comes_from_the_row_budget(setup):
    """Issue 9 #11: with no batch_size, `max_rows // num_beams` queries share a forward."""
    from modeling_prixlm import beam_search

    model, tokenizer, labels, *_ = setup
    assert beam_search.default_batch_size(50) == beam_search.DEFAULT_MAX_ROWS // 50
    assert beam_search.default_batch_size(50, max_rows=10) == 1
    assert beam_search.default_batch_size(4, max_rows=9) == 2

    with mock.patch.object(beam_search, "decode_batch", wraps=beam_search.decode_batch) as decode:
        default = predict_objects(model, tokenizer, QUERIES, labels, num_beams=4, max_rows=9)
    assert [len(call.args[2]) for call in decode.call_args_list] == [2, 2]
    explicit = predict_objects(model, tokenizer, QUERIES, labels, num_beams=4, batch_size=1)
    assert [r.labels for r in default] == [r.labels for r in explicit]


def test_bad_sizes(setup):
    model, tokenizer, labels, *_ = setup
    with pytest.raises(ValueError, match="num_beams=0"):
        predict_objects(model, tokenizer, QUERIES, labels, num_beams=0)
    with pytest.raises(ValueError, match="max_rows=0"):
        predict_objects(model, tokenizer, QUERIES, labels, max_rows=0)
    with pytest.raises(ValueError, match="batch_size"):
        score_candidates(model, tokenizer, QUERIES, labels, batch_size=8, max_rows=4)


@pytest.fixture(scope="module")
def dropout_model(tiny_tokenizer):
    """A tiny Prix-LM with dropout 0.5 everywhere, left in train mode."""
    return make_tiny_model(tiny_tokenizer, seed=2, dropout=0.5).train()


def test_decoding_runs_in_eval_mode_and_restores_train_mode(setup, dropout_model):
    """Issue 9 #7: a model left in train mode decodes without dropout, deterministically."""
    _, tokenizer, labels, *_ = setup
    model = dropout_model.train()
    model.lm_head.train(False)  # a mixed state is restored module by module
    first = predict_objects(model, tokenizer, QUERIES, labels, num_beams=4)
    second = predict_objects(model, tokenizer, QUERIES, labels, num_beams=4)
    scores = [score_candidates(model, tokenizer, QUERIES, labels) for _ in range(2)]
    assert model.training and model.roberta.training and not model.lm_head.training
    model.eval()
    expected = predict_objects(model, tokenizer, QUERIES, labels, num_beams=4)
    expected_scores = score_candidates(model, tokenizer, QUERIES, labels)
    model.train()
    for a, b, c in zip(first, second, expected, strict=True):
        assert a.labels == b.labels == c.labels
        assert a.losses == b.losses == c.losses
    assert torch.equal(scores[0], scores[1]) and torch.equal(scores[0], expected_scores)


def test_train_mode_is_restored_when_decoding_fails(setup, dropout_model):
    _, tokenizer, labels, *_ = setup
    model = dropout_model.train()
    with mock.patch.object(model, "forward", side_effect=RuntimeError("out of memory")):
        for decode in (predict_objects, score_candidates):
            with pytest.raises(RuntimeError, match="out of memory"):
                decode(model, tokenizer, QUERIES, labels)
            assert all(module.training for module in model.modules())


def test_a_query_beyond_the_position_budget_is_blamed_not_the_candidates(setup):
    model, tokenizer, *_ = setup
    subject = " ".join(["Deutschland"] * model.config.max_position_embeddings)
    with mock.patch.object(model, "forward", side_effect=AssertionError("decoding started")):
        for decode in (predict_objects, score_candidates):
            with pytest.raises(PositionBudgetError, match="shorten the query") as error:
                decode(model, tokenizer, [(subject, "currency")], ["euro", "German"])
            assert "candidates are too long" not in str(error.value)
            assert str(error.value).startswith("query ('Deutschland Deutschland")


def test_a_long_query_that_some_candidates_fit_names_the_query_and_its_limit(setup):
    """Between "every candidate fits" and "none does", the error blamed the candidates alone
    ("drop or shorten them"), which an endpoint's user cannot change."""
    from modeling_prixlm.decoding_steps import prepare_inputs

    model, tokenizer, *_ = setup
    labels = ["euro", " ".join(["Deutschland"] * 3)]
    for words in range(1, model.config.max_position_embeddings):
        subject = " ".join(["Deutschland"] * words)
        try:
            prepare_inputs(model, tokenizer, [(subject, "currency")], labels)
        except PositionBudgetError as error:
            message = str(error)
            break
    assert words > 1 and message.startswith("query ('Deutschland")
    assert "1 candidates do not fit" in message
    limit = int(message.split("shorten the query to at most ")[1].split()[0])
    fits = " ".join(["Deutschland"] * (words - 1))
    assert len(encode_query(tokenizer, (fits, "currency"))) <= limit
    assert len(encode_query(tokenizer, (subject, "currency"))) > limit


def test_evaluate_lp_reports_a_query_beyond_the_positions_in_one_line(monkeypatch, capsys):
    """A test query the model's positions cannot hold ended `evaluate_lp` in a traceback
    (exit status 1); it is a usage error naming the query."""
    import prixlm.link_prediction.evaluate_lp as evaluate_lp

    def too_long(args):
        raise PositionBudgetError("query ('Deutschland Deutschland', 'currency') is 70 tokens")

    monkeypatch.setattr(evaluate_lp, "_evaluate", too_long)
    with pytest.raises(SystemExit) as stop:
        evaluate_lp.main(["--model", "m", "--dataset", "d", "--languages", "en"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        "error: query ('Deutschland Deutschland', 'currency') is 70 tokens\n"
    )


def test_candidates_merged_by_unknown_characters_are_warned_about(setup):
    """Labels the tokenizer cannot write become the same `<unk>` ids and count as one: a
    language the model was never trained on scored 100% hits@1, in silence."""
    import warnings

    from prixlm.link_prediction.evaluation import evaluate_link_prediction

    model, tokenizer, labels, *_ = setup
    unknown = ["ꙮꙮ", "ꙭꙭ", "ꙬꙬꙬ"]  # characters the tiny tokenizer never saw
    assert tokenizer.unk_token_id in tokenizer(unknown[0], add_special_tokens=False)["input_ids"]
    rows = [{"subject": "Japan", "relation": "currency", "object": unknown[1],
             "all_objects": [unknown[1]]}]  # fmt: skip
    with pytest.warns(
        UserWarning, match=r"candidates hold <unk> .*labels tokenise like another through <unk>"
    ):
        evaluate_link_prediction(model, tokenizer, rows, [*labels, *unknown], num_beams=4)
    known = [{**rows[0], "object": labels[0], "all_objects": [labels[0]]}]
    with warnings.catch_warnings():  # " euro" and "euro" tokenise alike too, without <unk>
        warnings.simplefilter("error")
        evaluate_link_prediction(model, tokenizer, known, labels, num_beams=4)


def test_generate_refuses_a_new_token_limit_that_cuts_a_trie_entity(tiny_prixlm, tmp_path):
    """A release's `generation_config` stops at 30 new tokens: `generate()` with the trie
    processor returned an entity of 35 tokens cut to 30, without `[EOS]`, among the
    answers. The loaded model refuses that limit, and decodes the whole entity with
    `max_new_tokens=trie.max_length`."""
    from transformers import AutoModelForCausalLM

    from modeling_prixlm.formatting import fact_generation_config

    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path)
    fact_generation_config(model.config).save_pretrained(tmp_path)  # a release's
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path, trust_remote_code=True).eval()
    long = " ".join(["Japan"] * 35)
    trie = EntityTrie.from_labels(tokenizer, [long])
    assert trie.max_length == 36 > loaded.generation_config.max_new_tokens == 30
    prompt = torch.tensor([encode_query(tokenizer, ("Germany", "currency"))])
    processor = TrieConstrainedLogitsProcessor(trie, prompt.shape[1])
    kwargs = {"attention_mask": torch.ones_like(prompt), "logits_processor": [processor]}
    with pytest.raises(ValueError, match=r"max_new_tokens=30 is shorter .* \(36 tokens\)"):
        loaded.generate(prompt, **kwargs)
    with pytest.raises(ValueError, match=r"max_new_tokens=35 is shorter"):
        loaded.generate(prompt, max_new_tokens=35, **kwargs)
    out = loaded.generate(prompt, max_new_tokens=trie.max_length, **kwargs)
    assert out[0, prompt.shape[1] :].tolist() == trie.token_ids(0)  # the 35 tokens, [EOS]
    assert trie.token_ids(0)[-1] == trie.eos_token_id


def test_generate_checks_the_new_token_limit_that_transformers_applies(tiny_prixlm, tmp_path):
    """The limit checked is the one `generate()` applies: a `generation_config` passed by
    position with room for the entity decodes it whole (it was refused, the release's 30
    checked); one setting only `max_length` still stops at the release's 30 new tokens
    (transformers fills its unset values from the model's), as does a `logits_processor`
    passed by position: both are refused (they returned the entity cut)."""
    from transformers import AutoModelForCausalLM, GenerationConfig

    from modeling_prixlm.formatting import fact_generation_config

    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path)
    fact_generation_config(model.config).save_pretrained(tmp_path)  # a release's
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path, trust_remote_code=True).eval()
    trie = EntityTrie.from_labels(tokenizer, [" ".join(["Japan"] * 35)])
    prompt = torch.tensor([encode_query(tokenizer, ("Germany", "currency"))])
    processor = TrieConstrainedLogitsProcessor(trie, prompt.shape[1])
    mask = torch.ones_like(prompt)
    eos = loaded.generation_config.eos_token_id
    room = GenerationConfig(max_new_tokens=trie.max_length, eos_token_id=eos)
    out = loaded.generate(prompt, room, attention_mask=mask, logits_processor=[processor])
    assert out[0, prompt.shape[1] :].tolist() == trie.token_ids(0)
    only_length = GenerationConfig(max_length=200, eos_token_id=eos)
    with pytest.raises(ValueError, match=r"max_new_tokens=30 is shorter .* \(36 tokens\)"):
        loaded.generate(
            prompt, generation_config=only_length, attention_mask=mask, logits_processor=[processor]
        )
    with pytest.raises(ValueError, match=r"max_new_tokens=30 is shorter"):
        loaded.generate(prompt, None, [processor], attention_mask=mask)
    with pytest.raises(ValueError, match=r"max_new_tokens=20 is shorter"):  # the default 20
        loaded.generate(
            prompt, max_new_tokens=None, attention_mask=mask, logits_processor=[processor]
        )
    long_enough = prompt.shape[1] + trie.max_length
    out = loaded.generate(
        prompt, max_new_tokens=None, max_length=long_enough, attention_mask=mask,
        logits_processor=[processor],
    )  # fmt: skip
    assert out[0, prompt.shape[1] :].tolist() == trie.token_ids(0)
