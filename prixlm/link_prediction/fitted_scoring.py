"""Full rankings of a `PrixLMScorer` cut to the model's positions, as `evaluate_lp` cuts them.

Table 1's and DBP-5L's rankings and the validation curve's MRR rank every candidate with a
scorer (`evaluate_scorer_protocols`, per-query ranks kept for paired comparisons). A label
longer than the model's positions hold after a prompt would stop such a ranking after the
training (`PositionBudgetError`); here it is left out as `evaluate_protocols` leaves it out
(`candidate_fit.fit_trie`: a warning, `candidates_too_long`), a query after whose long prompt
some labels do not fit is ranked without them (`prompt_groups`), and a query whose gold was
left out is a miss (`num_missing`, `queries_gold_too_long`). Any other scorer (a KGE
baseline), and a ranking where every candidate fits after every prompt, is ranked as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prixlm.link_prediction.candidate_fit import fit_trie
from prixlm.link_prediction.prompt_groups import combined, prompt_groups
from prixlm.link_prediction.ranking import mrr_key
from prixlm.link_prediction.scorer import (
    KS,
    CandidateScorer,
    PrixLMScorer,
    evaluate_scorer_protocols,
    queries_digest,
)


def fitted_scorer_protocols(
    scorer: CandidateScorer,
    rows: Sequence[Mapping[str, Any]],
    candidates: Sequence[str],
    protocols: Sequence[str] = ("ours",),
    ks: Sequence[int] = KS,
    batch_size: int = 64,
    train_rows: Sequence[Mapping[str, Any]] | None = None,
    keep_ranks: bool = False,
) -> dict[str, dict[str, Any]]:
    """`evaluate_scorer_protocols` of `scorer` over `rows` and `candidates`, a `PrixLMScorer`'s
    candidates fitted to its model's positions (see the module). With `keep_ranks`, a query
    that could not be ranked (its gold left out) keeps no rank (None: a miss, reciprocal
    rank 0 and no hit, `ranking_rules.rank_values`), as the metrics count it: the means of
    the kept ranks' per-query values (`paired`) are the metrics."""
    rows = list(rows)
    if not isinstance(scorer, PrixLMScorer):
        return evaluate_scorer_protocols(scorer, rows, candidates, protocols, ks, batch_size,
                                         train_rows=train_rows, keep_ranks=keep_ranks)  # fmt: skip
    model, tokenizer = scorer.model, scorer.tokenizer
    config = getattr(model, "config", None)
    trie = scorer.trie(candidates)
    fitted = fit_trie(tokenizer, config, trie, rows)  # warns for what it leaves out
    groups, missed, cut = prompt_groups(tokenizer, config, fitted.trie, fitted.rows)
    if fitted.trie is trie and len(fitted.rows) == len(rows) and not cut:  # everything fits
        return evaluate_scorer_protocols(scorer, rows, candidates, protocols, ks, batch_size,
                                         train_rows=train_rows, keep_ranks=keep_ranks)  # fmt: skip
    parts = []
    ranked: dict[int, dict[str, tuple[float, float]]] = {}  # id(row) -> protocol -> ranks
    for group in groups:
        if not group.rows:
            continue
        one = PrixLMScorer(model, tokenizer, scorer.batch_size, scorer.max_rows, trie=group.trie)
        part = evaluate_scorer_protocols(
            one, group.rows, list(dict.fromkeys(group.trie.labels)), protocols, ks,
            batch_size, train_rows=train_rows, keep_ranks=keep_ranks,
        )  # fmt: skip
        if keep_ranks:
            for name, metrics in part.items():
                kept = metrics.pop("ranks")
                pairs = zip(kept["filtered"], kept["raw"], strict=True)
                for row, pair in zip(group.rows, pairs, strict=True):
                    ranked.setdefault(id(row), {})[name] = pair
        parts.append(part)
    base = fitted.no_ranks(mrr_key(None), ks)
    results = {}
    for name in protocols:
        if not parts:  # every query's gold was left out: all misses
            metrics = dict(base)
        elif cut:  # a long prompt: its query ranked among the candidates that fit after it
            metrics = combined([part[name] for part in parts], missed, cut, base)
        else:
            metrics = parts[0][name]
        results[name] = fitted.counted(metrics)
        if keep_ranks:
            missed = (None, None)  # no rank: a miss (reciprocal rank 0, as counted)
            pairs = [ranked.get(id(row), {}).get(name, missed) for row in rows]
            results[name]["ranks"] = {
                "filtered": [pair[0] for pair in pairs],
                "raw": [pair[1] for pair in pairs],
                "queries_sha256": queries_digest(rows),
            }
    return results


__all__ = ["fitted_scorer_protocols"]
