"""Link prediction with Prix-LM: constrained beam search (Algorithm 1) and full candidate scoring.

Algorithm 1 has one home, the Hub code `modeling_prixlm.beam_search` (its docstring gives the
semantics: the official release's decoder), so that a release folder's pipeline runs exactly
what this package evaluates. `score_candidates` (in `candidate_scoring`) is the exact
log-likelihood of *every* candidate: the paper's "simple way", a full ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modeling_prixlm import beam_search
from modeling_prixlm.beam_search import (
    DEFAULT_MAX_ROWS,
    RankedObjects,
    default_batch_size,
)
from modeling_prixlm.beam_search import decode_batch as _decode_batch
from modeling_prixlm.constrained_decoding import EntityTrie
from prixlm.link_prediction.candidate_scoring import score_candidates
from prixlm.link_prediction.decoding_steps import Query, encode_query


def predict_objects(
    model: Any,
    tokenizer: Any,
    queries: Sequence[Query],
    candidates_or_trie: Sequence[str] | EntityTrie,
    num_beams: int = 50,
    batch_size: int | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> list[RankedObjects]:
    """Algorithm 1 for every query: `modeling_prixlm.beam_search.predict_objects` (arguments,
    results and errors documented there), one batch of queries at a time through this
    module's `_decode_batch`."""
    return beam_search.predict_objects(
        model,
        tokenizer,
        queries,
        candidates_or_trie,
        num_beams=num_beams,
        batch_size=batch_size,
        max_rows=max_rows,
        batch_decoder=_decode_batch,
    )


__all__ = [
    "DEFAULT_MAX_ROWS",
    "Query",
    "RankedObjects",
    "default_batch_size",
    "encode_query",
    "predict_objects",
    "score_candidates",
]
