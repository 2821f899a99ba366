"""A model whose outputs are not finite (NaN or infinite logits) is refused, never ranked.

Beam search scored such a model 0.0 (every gold a miss) in beam mode with exit status 0,
its two loops disagreed (the host loop kept NaN completions, the device loop dropped them
as finished beams), and one `+inf` logit made every full-ranking score `-inf`: all tied, a
chance-level MRR. Both loops now raise `NonFiniteScoresError` after the batch, the full
ranking too, and the rank functions refuse such scores.
"""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
from test_evaluate_lp import save_model_and_dataset
from test_link_prediction import QUERIES, tiny_entities

from modeling_prixlm.beam_search import NonFiniteScoresError, predict_objects
from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.decoding_steps import encode_query
from modeling_prixlm.formatting import encode_object
from prixlm.link_prediction.candidate_scoring import score_candidates
from prixlm.link_prediction.evaluate_lp import main
from prixlm.link_prediction.ranking import filtered_rank, filtered_ranks_from_scores

LOOPS = pytest.mark.parametrize("device_resident", [False, True], ids=["host", "device"])


@pytest.fixture(scope="module")
def setup(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    labels = tiny_entities(tokenizer)
    return model, tokenizer, EntityTrie.from_labels(tokenizer, labels)


def _broken(model: torch.nn.Module, change) -> torch.nn.Module:
    """A copy of `model` with `change(copy)` applied to its weights (the original is kept)."""
    broken = copy.deepcopy(model)
    with torch.no_grad():
        change(broken)
    return broken


def _nan_weight(model: torch.nn.Module) -> None:
    model.roberta.encoder.layer[1].output.dense.weight[0, 0] = math.nan


def _unused_token(tokenizer, labels: list[str]) -> int:
    used = {t for label in labels for t in encode_object(tokenizer, label)}
    return next(t for t in range(len(tokenizer)) if t not in used)


@LOOPS
def test_both_beam_loops_refuse_a_nan_weight(setup, device_resident):
    model, tokenizer, trie = setup
    broken = _broken(model, _nan_weight)
    with pytest.raises(NonFiniteScoresError, match="next-token scores are not finite"):
        predict_objects(broken, tokenizer, QUERIES, trie, 5, device_resident=device_resident)


@LOOPS
def test_a_nan_reached_by_later_steps_only_is_refused_by_both_loops(setup, device_resident):
    """A NaN at the position of the longest prompt's first object token: the prompts are
    finite, the beams of that query go NaN at the second forward. The host loop ranked
    NaN completions last, the device loop dropped them, and the two lists differed."""
    model, tokenizer, trie = setup
    longest = max(len(encode_query(tokenizer, query)) for query in QUERIES)
    position = model.config.pad_token_id + 1 + longest  # XLM-R positions start after pad

    def nan_position(broken: torch.nn.Module) -> None:
        broken.roberta.embeddings.position_embeddings.weight[position, 0] = math.nan

    broken = _broken(model, nan_position)
    prompt = max((encode_query(tokenizer, query) for query in QUERIES), key=len)
    with torch.no_grad():  # the prompts alone are finite: the first step is
        assert torch.isfinite(broken(input_ids=torch.tensor([prompt])).logits).all()
    with pytest.raises(NonFiniteScoresError):
        predict_objects(broken, tokenizer, QUERIES, trie, 5, device_resident=device_resident)


@pytest.mark.parametrize("ranking", ["host", "device", "full"])
def test_an_infinite_logit_on_a_token_no_candidate_uses_is_refused(setup, ranking):
    """One `+inf` logit (an fp16 overflow) makes every log-softmax `-inf` or NaN: the full
    ranking tied every candidate (chance level), the device loop ended every beam."""
    model, tokenizer, trie = setup
    free = _unused_token(tokenizer, trie.labels)

    def infinite_logit(broken: torch.nn.Module) -> None:
        broken.lm_head.bias[free] = math.inf

    broken = _broken(model, infinite_logit)
    with pytest.raises(NonFiniteScoresError):
        if ranking == "full":
            score_candidates(broken, tokenizer, QUERIES, trie)
        else:
            predict_objects(
                broken, tokenizer, QUERIES, trie, 5, device_resident=ranking == "device"
            )


def test_the_full_ranking_refuses_a_nan_weight(setup):
    model, tokenizer, trie = setup
    with pytest.raises(NonFiniteScoresError):
        score_candidates(_broken(model, _nan_weight), tokenizer, QUERIES[:2], trie)


def test_filtered_rank_refuses_nan_scores_also_when_the_gold_is_missing():
    """The NaN check came after the 'gold missing' return: an all-NaN list was a miss."""
    with pytest.raises(ValueError, match="scores contain NaN"):
        filtered_rank(["Kenya", "Kenyang"], "euro", [math.nan, math.nan])
    with pytest.raises(ValueError, match="scores contain NaN"):
        filtered_rank(["Kenya", "euro"], "euro", [math.nan, -1.0])
    # a NaN on a filtered-out prediction is removed with it; no scores, no check
    assert filtered_rank(["Kenya", "euro"], "euro", [math.nan, -1.0], ["Kenya"]) == 1.0
    assert filtered_rank(["Kenya", "Kenyang"], "euro") is None
    assert filtered_rank(["Kenya", "Kenyang"], "euro", [-1.0, -2.0]) is None


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ([[-1.0, math.nan, -3.0]], "contain NaN"),
        ([[-1.0, math.inf, -3.0]], "contain \\+inf"),
        (
            [[-1.0, -2.0, -3.0], [-math.inf, -math.inf, -math.inf]],
            "of query 1 are all -inf \\(every candidate tied\\)",
        ),
    ],
)
def test_ranks_from_scores_refuse_scores_no_finite_model_gives(scores, message):
    scores = torch.tensor(scores)
    gold = torch.zeros(scores.shape[0], dtype=torch.long)
    with pytest.raises(ValueError, match=f"scores {message}: .*not finite"):
        filtered_ranks_from_scores(scores, gold)


def test_ranks_from_scores_still_take_some_minus_inf():
    """`-inf` marks a ruled-out candidate (a masked probe): ranked last, as before."""
    scores = torch.tensor([[-1.0, -math.inf, -3.0], [-math.inf, -2.0, -1.0]])
    ranks = filtered_ranks_from_scores(scores, torch.tensor([2, 0]))
    assert ranks.tolist() == [2.0, 3.0]


def test_evaluate_lp_of_a_nan_model_is_one_error_line(tiny_prixlm, tmp_path, capsys):
    """It exited 0 with hits 0.0 and every gold counted missing (beam mode, the default)."""
    model, tokenizer = tiny_prixlm
    root, _ = save_model_and_dataset((_broken(model, _nan_weight), tokenizer), tmp_path)
    output = tmp_path / "results.json"
    argv = ["--model", str(root / "model"), "--dataset", str(root / "data"), "--languages", "en"]
    for mode in ("beam", "full"):
        with pytest.raises(SystemExit) as exit_info:
            main([*argv, "--split", "test", "--mode", mode, "--output", str(output)])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err  # after the progress bars
        message = err[err.index("error: ") :]
        assert message.startswith("error: the model's next-token scores are not finite (NaN")
        assert message.endswith("overflow in half precision)\n") and message.count("\n") == 1
        assert "Traceback" not in err
        assert not output.exists()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_evaluate_lp_records_the_dtype_of_the_weights(tiny_prixlm, tmp_path, capsys, dtype):
    """A release saved in bf16 loads, and is evaluated, in bf16: the report says so."""
    model, tokenizer = tiny_prixlm
    root, _ = save_model_and_dataset((copy.deepcopy(model).to(dtype), tokenizer), tmp_path)
    output = tmp_path / "results.json"
    argv = ["--model", str(root / "model"), "--dataset", str(root / "data"), "--languages", "en"]
    report = main([*argv, "--split", "test", "--num_beams", "3", "--output", str(output)])
    capsys.readouterr()
    expected = str(dtype).removeprefix("torch.")
    assert report["dtype"] == expected
    assert json.loads(output.read_text(encoding="utf-8"))["dtype"] == expected
