"""prixlm: Prix-LM on the Hugging Face Hub — the library beside the Hub-code folder.

The public API (imported lazily, so that `python -m prixlm.data...` does not load torch):

- `PrixLMConfig`, `PrixLMForCausalKB`, `PrixLMModel`: the model (code in `modeling_prixlm/`).
- `EntityTrie`: the candidate entities of a language, for constrained decoding.
- `predict_objects`, `score_candidates`: link prediction (beam search / exact full ranking);
  `predict_objects` and the evaluation API warn on half-precision weights, as the pipeline does.
- `filtered_rank`, `hits_at_k`, `mean_reciprocal_rank`, `ranking_metrics`: the metrics.

Subpackages, one task each: `data` (dump reader, DBpedia build, CLDR export),
`link_prediction`, `training`, `release`; `demo` runs them end to end.
"""

from __future__ import annotations

import importlib
from typing import Any

from prixlm.threads import configure_process

# Before anything loads torch: OpenMP reads its wait policy once (prixlm/threads.py).
configure_process()

_PUBLIC = {
    "PrixLMConfig": "modeling_prixlm.configuration_prixlm",
    "PrixLMModel": "modeling_prixlm.encoder_prixlm",
    "PrixLMForCausalKB": "modeling_prixlm.modeling_prixlm",
    "EntityTrie": "modeling_prixlm.constrained_decoding",
    "RankedObjects": "modeling_prixlm.beam_search",
    "predict_objects": "prixlm.link_prediction.precision",
    "score_candidates": "prixlm.link_prediction.candidate_scoring",
    "filtered_rank": "prixlm.link_prediction.ranking",
    "hits_at_k": "prixlm.link_prediction.ranking",
    "mean_reciprocal_rank": "prixlm.link_prediction.ranking",
    "ranking_metrics": "prixlm.link_prediction.ranking",
    "CandidateScorer": "prixlm.link_prediction.scorer",
    "PrixLMScorer": "prixlm.link_prediction.scorer",
    "evaluate_scorer": "prixlm.link_prediction.scorer",
    "TextEmbedder": "prixlm.similarity.embedder",
    "PrixLMEmbedder": "prixlm.similarity.embedder",
}


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'prixlm' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)


def __dir__() -> list[str]:
    return sorted(_PUBLIC)


__all__ = sorted(_PUBLIC)
