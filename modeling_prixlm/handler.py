"""Inference Endpoints handler of a Prix-LM release folder (`handler.py` at the folder's root).

Request: `{"inputs": <query or list of queries>, "parameters": {"top_k": 5, "num_beams": 50,
"language": "en", "max_rows": 1024}}` (parameters optional); the queries are those of the
folder's pipeline (`pipeline_prixlm.py`): `"Germany | currency"`, `"Deutschland | currency | de"`,
`{"subject": ..., "relation": ...[, "language": ...]}` or a link query
`{"subject": ..., "language": ..., "target_language": ...}`. Response: the pipeline's answer,
`[{"object": label, "score": log-likelihood}, ...]` best first, or one such list per query.
A request beyond the pipeline's limits (at most 256 queries, 1,000 characters per query
field, `num_beams` <= 500, `max_rows` <= 4,096; no control characters or zero-width spaces)
gets a `ValueError` naming the limit, before any decoding: memory stays bounded.
Relation names are English in every language; the folder's `relations.json` lists them per
language (a query with another relation is answered, and a warning listing them is logged
for every such request, not only the process's first).

Endpoints import this file alone (not as a package): it imports only transformers, and the
pipeline comes from the folder's `config.json` (`custom_pipelines`) with `trust_remote_code`.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

# OpenMP threads that wait sleep instead of spinning (a shared CPU otherwise slows every
# query several times over). libgomp reads this once, when torch loads: it works when this
# file is imported before torch; otherwise set OMP_WAIT_POLICY=PASSIVE in the environment
# (an Endpoint's environment variables). A value you set is kept.
if "GOMP_SPINCOUNT" not in os.environ:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from transformers import pipeline  # noqa: E402 - after the wait policy

LOGGER = logging.getLogger(__name__)

#: What `parameters` may hold (those of `pipeline_prixlm.PrixLMLinkPrediction`).
PARAMETERS = ("top_k", "num_beams", "language", "max_rows")


def _shown(value: Any, limit: int = 80) -> str:
    """`repr(value)`, cut to `limit` characters (an error never echoes a huge request)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class EndpointHandler:
    """`EndpointHandler(path)({"inputs": ..., "parameters": {...}})` -> the pipeline's answer."""

    def __init__(self, path: str = "") -> None:
        self.pipeline = pipeline(model=path or ".", trust_remote_code=True)

    def __call__(self, data: dict[str, Any]) -> list:
        if not isinstance(data, dict) or "inputs" not in data:
            raise ValueError(
                "request must be a JSON object with 'inputs' (and optional 'parameters'), "
                f"got {_shown(data)}"
            )
        parameters = data.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ValueError(f"'parameters' must be a JSON object, got {_shown(parameters)}")
        unknown = sorted(map(str, set(parameters) - set(PARAMETERS)))
        if unknown:
            raise ValueError(f"unknown parameters {_shown(unknown)}; allowed: {list(PARAMETERS)}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # Python's default shows a warning once a process
            answer = self.pipeline(data["inputs"], **parameters)
        for warning in caught:
            LOGGER.warning("%s", warning.message)
        return answer


__all__ = ["EndpointHandler", "PARAMETERS"]
