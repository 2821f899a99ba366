"""Table 1's, DBP-5L's and the validation curve's full rankings (a `PrixLMScorer`) leave out
the candidates the model's positions cannot hold after a prompt as `evaluate_lp` does
(`fitted_scoring`): before, they raised PositionBudgetError once the training was over."""

from __future__ import annotations

import pytest

from prixlm.experiments.curve import mrr_evaluator
from prixlm.experiments.dbp5l_jobs import evaluate_language
from prixlm.experiments.paired import query_values
from prixlm.link_prediction.candidate_fit import CandidatesLeftOutWarning
from prixlm.link_prediction.evaluation import evaluate_protocols
from prixlm.link_prediction.fitted_scoring import fitted_scorer_protocols
from prixlm.link_prediction.scorer import PrixLMScorer, evaluate_scorer_protocols

#: 55 tokens of the tiny tokenizer: more than the 50 its 60 positions hold after a prompt.
LONG = " ".join(["Japan"] * 55)
CANDIDATES = ["euro", "Germany", "Japan", "France", "French", LONG]
FACTS = [("Germany", "euro"), ("France", "French"), ("Japan", LONG)]
PROTOCOLS = ("ours", "kens")


def rows() -> list[dict]:
    return [
        {"kind": "triple", "subject": s, "relation": "currency", "object": o, "all_objects": [o],
         "subject_language": "en", "object_language": "en"}
        for s, o in FACTS
    ]  # fmt: skip


def reference(model, tokenizer) -> dict:
    """`evaluate_lp --mode full`'s metrics of the same rows and candidates."""
    with pytest.warns(CandidatesLeftOutWarning):
        return evaluate_protocols(model, tokenizer, rows(), CANDIDATES, "full",
                                  protocols=PROTOCOLS, train_rows=[])  # fmt: skip


def test_the_unfitted_scorer_path_still_refuses(tiny_prixlm):
    """What the jobs called before: the ranking stops on the long candidate."""
    from modeling_prixlm.position_checks import PositionBudgetError

    model, tokenizer = tiny_prixlm
    with pytest.raises(PositionBudgetError, match="55 tokens"):
        evaluate_scorer_protocols(PrixLMScorer(model, tokenizer), rows(), CANDIDATES)


def test_dbp5l_rankings_leave_the_long_candidate_out_as_evaluate_lp(tiny_prixlm):
    """DBP-5L's `evaluate_language` (Table 1's job ranks through the same function): the
    metrics of `evaluate_lp`, the query whose gold is left out a miss without a rank in
    the kept ranks."""
    model, tokenizer = tiny_prixlm
    expected = reference(model, tokenizer)
    with pytest.warns(CandidatesLeftOutWarning, match="1 of the 6 candidate labels"):
        got = evaluate_language(PrixLMScorer(model, tokenizer), {"test": rows(), "train": []},
                                CANDIDATES, "test", None, PROTOCOLS, 0)  # fmt: skip
    for protocol in PROTOCOLS:
        metrics = dict(got[protocol])
        ranks = metrics.pop("ranks")
        assert metrics == pytest.approx(_without(expected[protocol]))
        assert metrics["num_missing"] == 1 and metrics["candidates_too_long"] == 1
        assert metrics["queries_gold_too_long"] == 1
        assert ranks["filtered"][2] is None and ranks["raw"][2] is None  # a miss: no rank
        # the paired comparisons' per-query values of the kept ranks average to the cell's
        # metrics (a rank past every candidate counted 1/7 where the MRR counts 0)
        values = query_values({"ranks": ranks}, protocol)
        assert {m: float(v.mean()) for m, v in values.items()} == pytest.approx(
            {m: metrics[m] for m in values}
        )
        assert all(rank <= len(CANDIDATES) - 1 for rank in ranks["filtered"][:2])
        assert len(ranks["queries_sha256"]) == 64


def _without(metrics: dict) -> dict:
    """`evaluate_lp`'s metrics less `num_candidates` (the scorer path does not report it)."""
    return {key: value for key, value in metrics.items() if key != "num_candidates"}


def test_the_validation_curve_mrr_is_evaluate_lps(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    expected = reference(model, tokenizer)["ours"]["mrr"]
    with pytest.warns(CandidatesLeftOutWarning):
        values = mrr_evaluator({"en": rows()}, {"en": CANDIDATES}, 8, 512)(model, tokenizer)
    assert values == pytest.approx({"mean": expected, "en": expected})


def test_a_long_prompt_ranks_among_what_fits_after_it(tiny_prixlm):
    """A query whose own prompt leaves room for fewer candidates: ranked among those
    (`prompt_groups`), as `evaluate_lp` ranks it."""
    model, tokenizer = tiny_prixlm
    subject = " ".join(["Japan"] * 10)  # a 20-token prompt: room for 40 tokens, not 45
    medium = " ".join(["Japan"] * 45)
    candidates = ["euro", "Germany", "Japan", medium, subject]
    asked = [{**rows()[0], "subject": subject}, {**rows()[0], "object": medium,
                                                 "all_objects": [medium]}]  # fmt: skip
    with pytest.warns(CandidatesLeftOutWarning):
        expected = evaluate_protocols(model, tokenizer, asked, candidates, "full")["ours"]
    with pytest.warns(CandidatesLeftOutWarning):
        got = fitted_scorer_protocols(PrixLMScorer(model, tokenizer), asked, candidates,
                                      keep_ranks=True)["ours"]  # fmt: skip
    got.pop("ranks")
    assert got == pytest.approx(_without(expected))
    assert got["queries_with_candidates_too_long"] == 1


def test_candidates_that_all_fit_rank_as_before(tiny_prixlm):
    """No label left out: the scorer's own ranking, unchanged, and no warning."""
    import warnings

    model, tokenizer = tiny_prixlm
    short = CANDIDATES[:-1]
    asked = rows()[:2]
    scorer = PrixLMScorer(model, tokenizer)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CandidatesLeftOutWarning)
        got = fitted_scorer_protocols(scorer, asked, short, PROTOCOLS, train_rows=[],
                                      keep_ranks=True)  # fmt: skip
    assert got == evaluate_scorer_protocols(scorer, asked, short, PROTOCOLS, train_rows=[],
                                            keep_ranks=True)  # fmt: skip
