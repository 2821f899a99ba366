"""The half-precision warning of the package's ranking API.

Weights in bfloat16 or float16 (a model loaded with `dtype=torch.bfloat16`, cast with
`.half()`, or saved so and loaded with transformers' default `dtype="auto"`) round their
scores, so near-equal candidates change places: their rankings and metrics are not those of
the float32 weights a release is evaluated with. The Hub pipeline warns about it when it is
built (`modeling_prixlm.decoding_steps.half_precision_message`, the one check); the functions
`warns_half_precision` wraps (the evaluation API, `prixlm.predict_objects`) warn with the same
message, once per call at the caller's line: a call made inside another such call
(`evaluate_dataset` -> `evaluate_config` -> `evaluate_protocols`) does not warn again, nor
does each batch. The exact full ranking (`score_candidates`, `evaluate_scorer` of a
`PrixLMScorer`) and completion (`run_completion`, `propose_objects`) warn likewise. Float32
weights give no warning.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from modeling_prixlm import beam_search
from modeling_prixlm.decoding_steps import half_precision_message

P = ParamSpec("P")
R = TypeVar("R")

#: Whether a call of a wrapped function is under way in this context (it has warned).
_CHECKED: ContextVar[bool] = ContextVar("half_precision_checked", default=False)


def warns_half_precision(function: Callable[P, R]) -> Callable[P, R]:
    """`function` (whose first argument, or `model=`, is the model or a scorer holding it
    as `.model`) warning with
    `half_precision_message` (a `UserWarning` at its caller's line) when the model's weights
    are half precision, unless it is called inside another wrapped call."""

    @functools.wraps(function)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        if _CHECKED.get():
            return function(*args, **kwargs)
        model = args[0] if args else kwargs.get("model", kwargs.get("scorer"))
        model = getattr(model, "model", model)  # a scorer (`PrixLMScorer`): its model
        has_weights = hasattr(model, "parameters")  # a stand-in without weights: not checked
        if has_weights and (message := half_precision_message(model)) is not None:
            warnings.warn(message, UserWarning, stacklevel=2)
        token = _CHECKED.set(True)
        try:
            return function(*args, **kwargs)
        finally:
            _CHECKED.reset(token)

    return checked


#: Algorithm 1 (`modeling_prixlm.beam_search.predict_objects`, its one home) with the
#: half-precision warning, once per call: `prixlm.predict_objects`.
predict_objects = warns_half_precision(beam_search.predict_objects)

__all__ = ["predict_objects", "warns_half_precision"]
