"""Inference Endpoints handler of a Prix-LM release folder (`handler.py` at the folder's root).

Request: `{"inputs": <query or list of queries>, "parameters": {"top_k": 5, "num_beams": 50,
"language": "en", "max_rows": 1024}}` (parameters optional); the queries are those of the
folder's pipeline (`pipeline_prixlm.py`): `"Germany | currency"`, `"Deutschland | Währung | de"`,
`{"subject": ..., "relation": ...[, "language": ...]}` or a link query
`{"subject": ..., "language": ..., "target_language": ...}`. Response: the pipeline's answer,
`[{"object": label, "score": log-likelihood}, ...]` best first, or one such list per query.

Endpoints import this file alone (not as a package): it imports only transformers, and the
pipeline comes from the folder's `config.json` (`custom_pipelines`) with `trust_remote_code`.
"""

from __future__ import annotations

from typing import Any

from transformers import pipeline

#: What `parameters` may hold (those of `pipeline_prixlm.PrixLMLinkPrediction`).
PARAMETERS = ("top_k", "num_beams", "language", "max_rows")


class EndpointHandler:
    """`EndpointHandler(path)({"inputs": ..., "parameters": {...}})` -> the pipeline's answer."""

    def __init__(self, path: str = "") -> None:
        self.pipeline = pipeline(model=path or ".", trust_remote_code=True)

    def __call__(self, data: dict[str, Any]) -> list:
        if not isinstance(data, dict) or "inputs" not in data:
            raise ValueError(
                f"request must be a JSON object with 'inputs' (and optional 'parameters'), got {data!r}"
            )
        parameters = data.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ValueError(f"'parameters' must be a JSON object, got {parameters!r}")
        unknown = sorted(set(parameters) - set(PARAMETERS))
        if unknown:
            raise ValueError(f"unknown parameters {unknown}; allowed: {list(PARAMETERS)}")
        return self.pipeline(data["inputs"], **parameters)


__all__ = ["EndpointHandler", "PARAMETERS"]
