"""The warning of the metrics for prediction lists shorter than the cut-off they are ranked at.

A gold object missing from its list counts as a miss at every k. When the list is shorter
than k (or the MRR cutoff K), the miss may only mean the list was cut short: the Prix-LM
pipeline returns its `top_k` best answers (5 by default), so hits_at_10 over its default
lists counts every gold ranked 6th to 10th as a miss. `warn_short_lists` says so, once per
call, when some list shorter than the cut-off lacks its gold.

Each metric folder links this file beside its script (as it links `ranking_rules.py`), so
an uploaded folder carries it. Standard library only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any


def short_list_warning(
    predictions: Sequence[Sequence[Any]], ranks: Sequence[float | None], name: str, bound: int
) -> str | None:
    """The warning for the lists shorter than `bound` (the largest cut-off) when some of
    them lack their gold (rank None); None if none does (a short list holding its gold
    ranks it exactly).

    Args:
        predictions: the prediction lists, one per query, as given.
        ranks: the filtered rank of each query's gold, None where the gold is missing.
        name: the argument the cut-off was given as (`k`, `cutoff`).
        bound: the largest cut-off asked.
    """
    short = [
        (len(ranked), rank is None)
        for ranked, rank in zip(predictions, ranks, strict=True)
        if len(ranked) < bound
    ]
    missing = sum(lacks for _, lacks in short)
    if not missing:
        return None
    return (
        f"{len(short)} of the {len(ranks)} prediction lists have fewer than {name}={bound} "
        f"entries (the shortest {min(length for length, _ in short)}) and {missing} of these "
        f"lack their gold object, each counted as a miss though a longer list might rank it "
        f"within {bound}: with the Prix-LM pipeline, produce the lists with top_k=num_beams "
        "(e.g. top_k=50, num_beams=50)"
    )


def warn_short_lists(
    predictions: Sequence[Sequence[Any]], ranks: Sequence[float | None], name: str, bound: int
) -> None:
    """`warnings.warn` the `short_list_warning` (a `UserWarning`), if there is one."""
    message = short_list_warning(predictions, ranks, name, bound)
    if message is not None:
        warnings.warn(message, UserWarning, stacklevel=2)


__all__ = ["short_list_warning", "warn_short_lists"]
