"""The training facts against the model's positions, checked before any training step.

A model built here (from scratch) gets positions for `2 * --max_fact_length` tokens (a
link-prediction prompt and its candidate, each as long as a fact), or for
`SCRATCH_POSITIONS` with `--max_fact_length 0`; a `--base_model` brings its own. Training
keeps the facts shorter than `--max_fact_length` (`tokenize_rows`; 0 keeps all), and every
fact kept must fit the positions: a longer one failed the run at whichever step drew its
batch. `check_base_model_length` refuses a `--max_fact_length` that keeps facts longer
than a base model's positions, and `check_facts_fit` any kept fact that is still too long
(`--max_fact_length 0`), each as a usage error naming the length to pass.
"""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc

from modeling_prixlm.formatting import position_budget
from prixlm.cli import UsageError

#: The tokens a model built here holds with `--max_fact_length 0` (XLM-R's 512 positions).
SCRATCH_POSITIONS = 510


def scratch_positions(max_fact_length: int) -> int:
    """The tokens a model built here holds (`position_budget`): twice `max_fact_length`,
    or `SCRATCH_POSITIONS` for 0."""
    return 2 * max_fact_length if max_fact_length else SCRATCH_POSITIONS


def check_base_model_length(base_model: str | None, max_fact_length: int, config: Any) -> None:
    """`UsageError` where `--max_fact_length` keeps facts longer than the positions of
    `--base_model` (its `config`): facts of up to `max_fact_length - 1` tokens are kept."""
    budget = position_budget(config)
    if base_model and max_fact_length > budget + 1:
        raise UsageError(
            f"--max_fact_length {max_fact_length}: the positions of --base_model {base_model} "
            f"hold {budget} tokens, and facts of up to {max_fact_length - 1} tokens would be "
            f"kept; pass --max_fact_length {budget + 1} or less (facts that long or longer are dropped)"
        )


def longest_fact(train_set: Any) -> int:
    """The tokens of the longest fact of `tokenize_rows`' output (its `length` column, read
    as one Arrow column: no pass over the rows in Python); 0 for no facts."""
    return int(pc.max(train_set.data.column("length")).as_py() or 0)


def check_facts_fit(longest: int, config: Any, base_model: str | None) -> None:
    """`UsageError` naming the `longest` kept fact (tokens) where it is longer than the
    positions of the model (its `config`), and the `--max_fact_length` that drops it."""
    budget = position_budget(config)
    if longest <= budget:
        return
    if base_model:
        holds = f"the positions of --base_model {base_model} hold"
        advice = f"pass --max_fact_length {budget + 1} or less to drop the longer facts"
    else:
        holds = "a model built with --max_fact_length 0 holds"
        advice = (
            "pass --max_fact_length N to drop the facts of N tokens or more (the model then "
            f"holds 2N tokens; --max_fact_length {longest + 1} keeps every fact)"
        )
    raise UsageError(
        f"the longest training fact has {longest} tokens, more than the {budget} that "
        f"{holds}: {advice}"
    )


__all__ = [
    "SCRATCH_POSITIONS",
    "check_base_model_length",
    "check_facts_fit",
    "longest_fact",
    "scratch_positions",
]
