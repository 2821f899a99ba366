"""Inference Endpoints handler of a Prix-LM release folder (`handler.py` at the folder's root).

Request: `{"inputs": <query or list of queries>, "parameters": {"top_k": 5, "num_beams": 50,
"language": "en"}}` (parameters optional); the queries are those of the
folder's pipeline (`pipeline_prixlm.py`): `"Germany | currency"`, `"Deutschland | currency | de"`,
`{"subject": ..., "relation": ...[, "language": ...]}` or a link query
`{"subject": ..., "language": ..., "target_language": ...}`. Response: the pipeline's answer,
`[{"object": label, "score": log-likelihood}, ...]` best first, or one such list per query.
A request beyond the pipeline's limits (at most 256 queries, 1,000 characters per query
field, `num_beams` <= 500; no control characters or zero-width spaces) gets a `ValueError`
naming the limit, before any decoding: memory stays bounded. The rows per forward
(`max_rows`, at most 4,096: memory per decoding step) are the operator's setting, not a
request's (a smaller value only makes a request cost more forwards): the environment
variable `PRIXLM_MAX_ROWS` (an Endpoint's environment variables) or
`EndpointHandler(path, max_rows=...)`; unset, the pipeline's default for the device. A
request naming `max_rows` is refused. Errors name the folder by its name, not its path on
the server, and a language without candidates is answered with the endpoint's languages,
not the pipeline's `candidates=` (a caller builds no pipeline).
Relation names are English in every language; the folder's `relations.json` lists them per
language (a query with another relation is answered, and a warning listing them is logged
for every such request, not only the process's first). The handler serves overlapping
requests from threads: it takes the warning text from the pipeline (`relation_warning`), per
request and thread, and changes no process-wide warning state (filters, `showwarning`).

Endpoints import this file alone (not as a package): it imports only transformers, and the
pipeline comes from the folder's `config.json` (`custom_pipelines`) with `trust_remote_code`.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

# OpenMP threads that wait sleep instead of spinning (a shared CPU otherwise slows every
# query several times over). libgomp reads this once, when torch loads: it works when this
# file is imported before torch; otherwise set OMP_WAIT_POLICY=PASSIVE in the environment
# (an Endpoint's environment variables). A value you set is kept.
if "GOMP_SPINCOUNT" not in os.environ:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from transformers import pipeline  # noqa: E402 - after the wait policy

LOGGER = logging.getLogger(__name__)

#: What `parameters` may hold (those of `pipeline_prixlm.PrixLMLinkPrediction` but `max_rows`).
PARAMETERS = ("top_k", "num_beams", "language")
#: The environment variable of the endpoint's rows per forward (the pipeline's `max_rows`).
MAX_ROWS_VARIABLE = "PRIXLM_MAX_ROWS"
#: The end of the error for a language without candidates (`candidates_advice`), for a caller.
ASK_STORED = "ask in one of the stored languages"

#: `.relation_warnings`: the list of the request this thread serves (None between requests).
_REQUEST = threading.local()


def _noting(relation_warning: Callable[[str, str], str | None]) -> Callable[[str, str], str | None]:
    """`relation_warning` that, while this thread serves a request, notes the warning in the
    request's list and returns None (the pipeline then warns of nothing: the handler logs it);
    outside a request it answers as `relation_warning`."""

    @functools.wraps(relation_warning)
    def noted(relation: str, language: str) -> str | None:
        message = relation_warning(relation, language)
        request = getattr(_REQUEST, "relation_warnings", None)
        if message is None or request is None:
            return message
        request.append(message)
        return None

    return noted


def _shown(value: Any, limit: int = 80) -> str:
    """`repr(value)`, cut to `limit` characters (an error never echoes a huge request)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _endpoint_advice(problem: str | None) -> str:
    """The pipeline's `candidates_advice` for an endpoint's caller, who builds no pipeline."""
    return ASK_STORED if problem is None else f"{problem}; {ASK_STORED}"


def _operator_max_rows(max_rows: int | None) -> tuple[int | None, str]:
    """(`max_rows`, where it comes from): the constructor's, else `PRIXLM_MAX_ROWS`'s (an
    integer), else None (the pipeline's default)."""
    if max_rows is not None:
        return max_rows, f"EndpointHandler(max_rows={max_rows!r})"
    text = os.environ.get(MAX_ROWS_VARIABLE, "").strip()
    if not text:
        return None, ""
    where = f"{MAX_ROWS_VARIABLE}={_shown(text)}"
    try:
        return int(text), where
    except ValueError:
        raise ValueError(f"{where}: expected an integer >= 1 (rows per forward)") from None


class EndpointHandler:
    """`EndpointHandler(path)({"inputs": ..., "parameters": {...}})` -> the pipeline's answer.

    Args:
        path: the release folder (default: the working directory, as Endpoints run it).
        max_rows: rows per forward (default: `PRIXLM_MAX_ROWS`, else the pipeline's).
    """

    def __init__(self, path: str = "", max_rows: int | None = None) -> None:
        self.pipeline = pipeline(model=path or ".", trust_remote_code=True)
        self.folder = os.path.abspath(path or ".")
        self.max_rows, where = _operator_max_rows(max_rows)
        if self.max_rows is not None:  # the pipeline's limits, checked at startup
            try:
                self.pipeline._sanitize_parameters(max_rows=self.max_rows)
            except ValueError as error:
                raise ValueError(f"{where}: {error}") from None
        if hasattr(self.pipeline, "candidates_advice"):
            self.pipeline.candidates_advice = _endpoint_advice
        # Python's warnings show a message once a process, and capturing them per request
        # (`warnings.catch_warnings`) swaps process-wide state that overlapping requests
        # corrupt: the handler takes each request's relation warnings from the pipeline.
        relation_warning = getattr(self.pipeline, "relation_warning", None)
        if callable(relation_warning):
            self.pipeline.relation_warning = _noting(relation_warning)

    def __call__(self, data: dict[str, Any]) -> list:
        if not isinstance(data, dict) or "inputs" not in data:
            raise ValueError(
                "request must be a JSON object with 'inputs' (and optional 'parameters'), "
                f"got {_shown(data)}"
            )
        parameters = data.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ValueError(f"'parameters' must be a JSON object, got {_shown(parameters)}")
        if "max_rows" in parameters:  # a smaller value only costs more forwards
            raise ValueError(
                "'max_rows' (rows per forward) is the endpoint's setting, not a request's: its "
                f"operator sets it ({MAX_ROWS_VARIABLE}); allowed: {list(PARAMETERS)}"
            )
        unknown = sorted(map(str, set(parameters) - set(PARAMETERS)))
        if unknown:
            raise ValueError(f"unknown parameters {_shown(unknown)}; allowed: {list(PARAMETERS)}")
        if self.max_rows is not None:
            parameters = {**parameters, "max_rows": self.max_rows}
        noted: list[str] = []
        outer = getattr(_REQUEST, "relation_warnings", None)
        _REQUEST.relation_warnings = noted
        try:
            answer = self.pipeline(data["inputs"], **parameters)
        except ValueError as error:  # named by the folder's name, not its path on the server
            text = str(error)
            if self.folder not in text:
                raise
            shown = text.replace(self.folder, os.path.basename(self.folder) or ".")
            raise ValueError(shown).with_traceback(error.__traceback__) from None
        finally:
            _REQUEST.relation_warnings = outer
        for message in noted:
            LOGGER.warning("%s", message)
        return answer


__all__ = ["EndpointHandler", "MAX_ROWS_VARIABLE", "PARAMETERS"]
