"""Link prediction with Prix-LM: constrained beam search (Algorithm 1) and full candidate scoring.

Algorithm 1 has one home, the Hub code `modeling_prixlm.beam_search` (its docstring gives the
semantics: the official release's decoder), so that a release folder's pipeline runs exactly
what this package evaluates. `score_candidates` (in `candidate_scoring`) is the exact
log-likelihood of *every* candidate: the paper's "simple way", a full ranking.
"""

from __future__ import annotations

from modeling_prixlm.beam_search import (
    DEFAULT_MAX_ROWS,
    RankedObjects,
    default_batch_size,
    predict_objects,
)
from prixlm.link_prediction.candidate_scoring import score_candidates
from prixlm.link_prediction.decoding_steps import Query, encode_query

__all__ = [
    "DEFAULT_MAX_ROWS",
    "Query",
    "RankedObjects",
    "default_batch_size",
    "encode_query",
    "predict_objects",
    "score_candidates",
]
