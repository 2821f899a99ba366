"""Paired bootstrap of the difference between two methods ranked on the same test queries.

A method's cell (one language, one protocol) keeps its per-query ranks (`ranks`:
`{"filtered": [...], "raw": [...]}`, as `protocol_ranks` gives them). Two methods that
ranked the same sampled queries are compared query by query: the difference of the
language-averaged metric (the tables' `avg` column), and a percentile interval from
resampling each language's queries with replacement, the same draw for both methods
(Efron & Tibshirani's paired bootstrap). With 100 queries a language, a hits@1 difference of
a few points is within the noise; the interval says how far.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from prixlm.link_prediction.protocols import get_protocol, query_metrics

#: Metrics compared, as in the tables.
METRICS = ("hits_at_1", "hits_at_10", "mrr")


def query_values(cell: Mapping[str, Any], protocol: str) -> dict[str, np.ndarray]:
    """Per-query hits@1, hits@10 and reciprocal rank of one cell under `protocol`, from its
    stored ranks (`query_metrics`: their means are the cell's metrics).

    Returns:
        `{metric: (queries,) float64}`.
    """
    ranks = cell["ranks"]
    values = query_metrics(ranks["filtered"], ranks["raw"], get_protocol(protocol), (1, 10))
    return {metric: np.asarray(values[metric], dtype=np.float64) for metric in METRICS}


def paired_difference(
    first: Mapping[str, Mapping[str, Any]],
    second: Mapping[str, Mapping[str, Any]],
    languages: Sequence[str],
    protocol: str,
    samples: int = 2000,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """`first` minus `second`, averaged over `languages`, with a 95% paired bootstrap interval.

    Args:
        first, second: `{lang: {protocol: cell with ranks}}` (records' `test` fields) over
            the same queries of each language (equal counts, in the same order; the same
            `queries_sha256` where the cells keep one).
    Returns:
        `{metric: {"difference", "low", "high", "share_above_zero"}}` (`share_above_zero`:
        the share of resamples where `first` is ahead).
    Raises:
        ValueError: a language whose query counts or queries differ, or without ranks.
    """
    generator = np.random.default_rng(seed)
    per_language = []
    for lang in languages:
        a, b = first[lang][protocol], second[lang][protocol]
        if "ranks" not in a or "ranks" not in b:
            raise ValueError(f"{lang}: no per-query ranks to pair")
        a_values, b_values = query_values(a, protocol), query_values(b, protocol)
        if len(a_values["mrr"]) != len(b_values["mrr"]):
            raise ValueError(
                f"{lang}: {len(a_values['mrr'])} and {len(b_values['mrr'])} queries: not paired"
            )
        digests = {cell["ranks"].get("queries_sha256") for cell in (a, b)}
        if None not in digests and len(digests) > 1:  # older cells keep no digest
            raise ValueError(f"{lang}: the two methods ranked other queries: not paired")
        n = len(a_values["mrr"])
        draws = generator.integers(0, n, size=(samples, n))  # (samples, n) query indices
        per_language.append({m: (a_values[m] - b_values[m], draws) for m in METRICS})
    result = {}
    for metric in METRICS:
        observed = float(np.mean([diff.mean() for diff, _ in (lp[metric] for lp in per_language)]))
        resampled = np.mean(
            [diff[draws].mean(axis=1) for diff, draws in (lp[metric] for lp in per_language)],
            axis=0,
        )  # (samples,)
        low, high = np.percentile(resampled, [2.5, 97.5])
        result[metric] = {
            "difference": observed,
            "low": float(low),
            "high": float(high),
            "share_above_zero": float(np.mean(resampled > 0)),
        }
    return result


def has_ranks(test: Mapping[str, Any], languages: Sequence[str], protocol: str) -> bool:
    """Whether a record's `test` holds per-query ranks for every language."""
    return all("ranks" in test.get(lang, {}).get(protocol, {}) for lang in languages)


def paired_comparisons(
    tests: Mapping[str, Mapping[str, Mapping[str, Any]]],
    pairs: Sequence[tuple[str, str]],
    languages: Sequence[str],
    protocols: Sequence[str],
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """`{"A - B": {protocol: paired_difference}}` for each pair of `pairs` and each protocol
    under which both methods have per-query test ranks in every language (records made
    before ranks, or a protocol, were kept have none: left out).

    Args:
        tests: `{method: {lang: {protocol: cell}}}`.
    """
    paired: dict[str, dict[str, Any]] = {}
    for first, second in pairs:
        both = [tests.get(first, {}), tests.get(second, {})]
        held = [p for p in protocols if all(has_ranks(t, languages, p) for t in both)]
        if held:
            paired[f"{first} - {second}"] = {
                protocol: paired_difference(*both, languages, protocol, seed=seed)
                for protocol in held
            }
    return paired


def signed_points(value: float) -> str:
    """A fraction difference in points with its sign: `+1.2`, `-3.0`."""
    return f"{100 * value:+.1f}"


def paired_section(paired: Mapping[str, Mapping[str, Any]], queries: str) -> str:
    """Markdown table of `paired_comparisons`: difference and 95% interval of hits@1 and MRR;
    `queries` names the test queries that were paired ("sampled test queries")."""
    shown = {"hits_at_1": "Hits@1", "mrr": "MRR"}
    lines = [
        f"**Paired differences** (the same {queries}; the difference of the "
        "language-averaged metric in points, with a 95% paired bootstrap interval from 2,000 "
        "resamples of each language's queries, and the share of resamples where the first "
        "method is ahead)",
        "",
        "| comparison | protocol | " + " | ".join(shown.values()) + " |",
        "|---|---|" + "---|" * len(shown),
    ]
    for name, by_protocol in paired.items():
        for protocol, metrics in by_protocol.items():
            cells = [
                f"{signed_points(c['difference'])} [{signed_points(c['low'])}, "
                f"{signed_points(c['high'])}] ({100 * c['share_above_zero']:.0f}%)"
                for c in (metrics[m] for m in shown)
            ]
            lines.append(f"| {name} | {protocol} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


__all__ = [
    "METRICS",
    "has_ranks",
    "paired_comparisons",
    "paired_difference",
    "paired_section",
    "query_values",
    "signed_points",
]
