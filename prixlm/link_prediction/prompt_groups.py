"""Queries whose own prompts leave room for fewer candidates than the model's positions
allow (`candidate_fit` fits candidates after the shortest prompt): each query is ranked among
the candidates that fit after its prompt, grouped by the set of candidates kept (one trie per
set, cut from the full trie's ids), and the groups' metrics are combined into one result.
"""

from __future__ import annotations

import bisect
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modeling_prixlm.candidate_checks import trie_within
from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.decoding_steps import encode_query
from modeling_prixlm.formatting import control_token_ids
from modeling_prixlm.position_checks import positions_of
from prixlm.link_prediction.candidate_fit import (
    CandidatesLeftOutWarning,
    encoded_names,
    query_names,
)


@dataclass
class PromptGroup:
    """Queries whose prompts leave room for the same candidates, and the trie of those
    (`cut`: fewer than every candidate)."""

    trie: EntityTrie
    rows: list[Mapping[str, Any]]
    cut: bool = False


def prompt_groups(
    tokenizer: Any, config: Any, trie: EntityTrie, rows: Sequence[Mapping[str, Any]]
) -> tuple[list[PromptGroup], int, int]:
    """`rows` grouped by the candidates of `trie` that fit the model's positions after
    their prompt: `(groups, unreachable, cut)`. A query with room for every candidate is
    in the group of `trie` itself; a longer one is ranked among the candidates that fit
    after it (one trie per set of candidates kept, cut from `trie`), and a query whose gold does not fit after its prompt is
    `unreachable` (a miss, in no group). `cut` counts the queries ranked without some
    candidates or unreachable; a `CandidatesLeftOutWarning` says how many."""
    rows = list(rows)
    positions = positions_of(config)
    longest = trie.max_length - 1
    if positions is None or trie.labels is None or not rows:
        return [PromptGroup(trie, rows)], 0, 0
    rooms = [positions - length for length in prompt_lengths(tokenizer, rows)]
    if min(rooms) >= longest:
        return [PromptGroup(trie, rows)], 0, 0
    tokens = (trie.entity_lengths() - 1).tolist()
    sizes = sorted(set(tokens))
    by_size: dict[int, list[Mapping[str, Any]]] = {}  # by the longest label kept: one trie
    for row, room in zip(rows, rooms, strict=True):
        size = sizes[bisect.bisect_right(sizes, room) - 1] if room >= sizes[0] else 0
        by_size.setdefault(size, []).append(row)
    groups, unreachable, cut = [], 0, 0
    for size, selected in sorted(by_size.items(), reverse=True):
        if size >= longest:
            groups.append(PromptGroup(trie, selected))
            continue
        cut += len(selected)
        dropped = {label for label, count in zip(trie.labels, tokens, strict=True) if count > size}
        reachable = [row for row in selected if row["object"] not in dropped]
        unreachable += len(selected) - len(reachable)
        if reachable:  # the trie of the labels kept, from `trie`'s own ids
            groups.append(PromptGroup(trie_within(trie, size + 1), reachable, True))
    warnings.warn(
        f"link prediction: {cut} of {len(rows)} queries have prompts after which some of the "
        f"{len(trie.labels)} candidates do not fit the model's {positions} positions: each is "
        f"ranked without those, and {unreachable} whose gold is one of them count as misses",
        CandidatesLeftOutWarning,
        stacklevel=2,
    )
    return groups, unreachable, cut


def prompt_lengths(tokenizer: Any, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """The tokens of each row's prompt (`decoding_steps.encode_query`), its names tokenised
    in one call, each distinct text once; the tokens around the names are those of the
    first row of its kind and languages. A row `encode_query` refuses (a name that is not
    text, tokenises to nothing or holds a control token; an unknown language) is encoded
    whole, so that its error is raised, as it was when every row was encoded."""
    names = query_names(rows)
    if not all(isinstance(n, str) for one in names for n in one):  # `encode_query` says why
        return [len(encode_query(tokenizer, row)) for row in rows]
    controls = control_token_ids(tokenizer)
    encoded = encoded_names(tokenizer, (n for one in names for n in one))
    counts = {text: len(ids) if ids and controls.isdisjoint(ids) else None
              for text, ids in encoded.items()}  # fmt: skip
    around: dict[str, int] = {}  # per kind and languages: `<s>`, `[S]`, `[P]`, separators
    lengths = []
    for row, one in zip(rows, names, strict=True):
        kind = row.get("kind", "triple")
        key = repr((kind, row.get("subject_language"), row.get("object_language")))
        key = key if kind == "link" else repr(kind)
        sizes = [counts[n] for n in one]
        if None in sizes or key not in around:  # refused (raises), or the first of its key
            length = len(encode_query(tokenizer, row))
            around[key] = length - sum(size or 0 for size in sizes)
        lengths.append(sum(size or 0 for size in sizes) + around[key])
    return lengths


def combined(
    parts: Sequence[Mapping[str, Any]], unreachable: int, cut: int, base: Mapping[str, Any]
) -> dict[str, Any]:
    """The metrics of every query of `parts` (each group's metrics) and of `unreachable`
    queries (misses): rates weighted by each part's queries, counts summed; `base` (the
    metrics of no query over all the candidates: `FittedCandidates.no_ranks`) gives the
    keys and the candidate counts; `queries_with_candidates_too_long` is `cut`, and
    `queries_gold_too_long` (only where some) is `unreachable`."""
    metrics = dict(parts[0]) if parts else dict(base)
    ranked = sum(part["num_queries"] for part in parts)
    total = ranked + unreachable
    for key in metrics:
        if key.startswith(("hits_at_", "mrr")):
            metrics[key] = sum(part[key] * part["num_queries"] for part in parts) / total
    metrics["num_queries"] = total
    metrics["num_missing"] = sum(part["num_missing"] for part in parts) + unreachable
    metrics["merged_candidates"] = base["merged_candidates"]
    metrics["queries_with_candidates_too_long"] = cut
    if unreachable:  # golds that do not fit after their prompts: misses, counted apart
        metrics["queries_gold_too_long"] = unreachable
    return metrics


__all__ = ["PromptGroup", "combined", "prompt_groups", "prompt_lengths"]
