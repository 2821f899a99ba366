"""Model steps shared by the link-prediction decoders: they live in the Hub code folder.

`modeling_prixlm.decoding_steps` is their one home (the release folder's pipeline runs them
without this package); this module keeps the package's import path.
"""

from __future__ import annotations

from modeling_prixlm.decoding_steps import (
    DecodingRows,
    Query,
    as_trie,
    encode_query,
    eval_mode,
    extend_rows,
    left_pad,
    log_probs_at,
    model_device,
    prepare_inputs,
    run_rows,
    uses_cache,
)

__all__ = [
    "DecodingRows",
    "Query",
    "as_trie",
    "encode_query",
    "eval_mode",
    "extend_rows",
    "left_pad",
    "log_probs_at",
    "model_device",
    "prepare_inputs",
    "run_rows",
    "uses_cache",
]
