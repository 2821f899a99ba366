"""Ranking protocols: ours, and the rules of the published DBP-5L papers' code.

A protocol fixes three things of a full ranking (the candidates are the caller's choice):

- which true objects are filtered out of a query's ranking (the gold always stays):
  `all` (every split: `all_objects`), `train` (the train split's objects of the query's
  subject and relation in the query's language only: `train_objects`), or `none` (a raw
  ranking);
- how a gold tied with other candidates is ranked (`prixlm.link_prediction.ranking.TIE_RULES`);
- whether hits@k is read off a truncated ranked list: KEnS ranks every entity, keeps the
  top `hits_list` (10) unfiltered, then removes the train objects from that list and looks
  for the gold in its first k entries. A gold is then a hit at k when its raw rank is at
  most `hits_list` and its filtered rank at most k.

Protocols (`PROTOCOLS`; docs/dbp5l_protocol.md quotes the code each one follows):

- `ours`: filter `all`, realistic ties, hits@k and MRR of the full filtered ranking
  (PyKEEN's rank-based evaluation; JMAC's code also filters every split).
- `kens`: KEnS' released evaluation (`src/validate.py` `filt_hits_at_n`, `hr2t_from_train_set`,
  `src/model.py` `find_kNN` with `param.k = 10`): filter `train`, ties by entity order,
  hits@k off the top-10 list. KEnS' code computes no MRR; `mrr` here is the mean reciprocal
  train-filtered rank over the full ranking, SS-AGA's "lifted" setting (`src/validate.py`).
- `raw`: no filter, ties by entity order: the metrics SS-AGA's released `run_model.py` logs
  (`Tester.test` with `is_lifted=False`).

With `index` ties, a tied candidate in an earlier column ranks first, so pass the candidates
in the KG's entity order (ids of `entity/<lang>.tsv`) to match the published code exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from prixlm.link_prediction.ranking import hits_key, mrr_key
from prixlm.link_prediction.ranking_rules import rank_values

FILTERS = ("all", "train", "none")


@dataclass(frozen=True)
class RankingProtocol:
    """`filter`: a `FILTERS` entry; `ties`: a `TIE_RULES` entry; `hits_list`: the length of
    the unfiltered list hits@k is read from (None: the full ranking)."""

    name: str
    filter: str
    ties: str
    hits_list: int | None = None


PROTOCOLS: dict[str, RankingProtocol] = {
    "ours": RankingProtocol("ours", filter="all", ties="realistic"),
    "kens": RankingProtocol("kens", filter="train", ties="index", hits_list=10),
    "raw": RankingProtocol("raw", filter="none", ties="index"),
}


def get_protocol(name: str) -> RankingProtocol:
    """The protocol called `name`; ValueError listing the choices otherwise."""
    if name not in PROTOCOLS:
        raise ValueError(f"protocol={name!r}: expected one of {sorted(PROTOCOLS)}")
    return PROTOCOLS[name]


def parse_protocols(text: str | Sequence[str]) -> tuple[str, ...]:
    """`"ours,kens"` (or a sequence of names) -> `("ours", "kens")`, checked, without repeats."""
    names = text.split(",") if isinstance(text, str) else list(text)
    names = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not names:
        raise ValueError("no protocol given: expected one or more of " + ", ".join(PROTOCOLS))
    for name in names:
        get_protocol(name)
    return tuple(names)


#: `(subject language, subject, relation)`: a label names an entity of one language only.
QueryKey = tuple[str | None, str, str]


def query_key(row: Mapping[str, Any]) -> QueryKey:
    """The `train_objects` key of a dataset row: its subject's language, subject and relation
    (None as the language of a row without `subject_language`, such as a hand-built one)."""
    return row.get("subject_language"), row["subject"], row["relation"]


def train_objects(train_rows: Iterable[Mapping[str, Any]]) -> dict[QueryKey, set[str]]:
    """`{(subject language, subject, relation): objects}` of the train split's triples (KEnS'
    `hr2t_from_train_set`, one KG at a time).

    Keyed by language as `all_objects` is: in a config of several languages (`all`) the same
    subject label and relation name in another language is another KG's query, whose train
    objects must not be filtered from this one's ranking.
    """
    index: dict[QueryKey, set[str]] = {}
    for row in train_rows:
        if row.get("kind", "triple") == "triple":
            index.setdefault(query_key(row), set()).add(row["object"])
    return index


def _all_objects(i: int, row: Mapping[str, Any]) -> list[str]:
    """Row `i`'s `all_objects` as a list (none: `[]`); a string is refused."""
    objects = row.get("all_objects")
    if isinstance(objects, (str, bytes)):
        raise TypeError(
            f"row {i} ({row.get('subject')!r}, {row.get('relation')!r}): all_objects is a "
            f"string ({objects!r}): expected a list of labels, e.g. [{objects!r}]"
        )
    return [] if objects is None else list(objects)  # a NumPy array too


def filter_objects(
    rows: Sequence[Mapping[str, Any]],
    protocol: RankingProtocol,
    train_index: Mapping[QueryKey, set[str]] | None = None,
) -> list[list[str]]:
    """Each row's objects to filter under `protocol` (the gold is kept later, whatever this
    says); a `train` filter reads each row's `query_key` in `train_index` (`train_objects`).

    Raises:
        TypeError: a row's `all_objects` is a string, not a list of labels (it would be read
            as its characters: nothing filtered).
        ValueError: a `train` filter without `train_index` (the train split's rows).
    """
    if protocol.filter == "all":
        return [_all_objects(i, row) for i, row in enumerate(rows)]
    if protocol.filter == "none":
        return [[] for _ in rows]
    if train_index is None:
        raise ValueError(f"protocol {protocol.name!r} filters the train split: pass train_rows")
    return [sorted(train_index.get(query_key(row), ())) for row in rows]


def query_metrics(
    filtered: torch.Tensor | Sequence[float],
    raw: torch.Tensor | Sequence[float],
    protocol: RankingProtocol,
    ks: Sequence[int] = (1, 3, 10),
) -> dict[str, list[float]]:
    """Per-query hits_at_k (1.0 or 0.0) and reciprocal rank of one protocol: a hit at k is
    a filtered rank <= k with the gold inside the protocol's unfiltered list (`hits_list`).

    Args:
        filtered: `(queries,)` ranks with the protocol's filter and ties.
        raw: `(queries,)` unfiltered ranks with the protocol's ties (read only with `hits_list`).
    Returns:
        `{"hits_at_<k>": [...], "mrr": [...]}`, one value per query in order.
    """
    filtered_values, raw_values = rank_values(filtered), rank_values(raw)
    if len(filtered_values) != len(raw_values):
        raise ValueError(f"{len(filtered_values)} filtered ranks but {len(raw_values)} raw ranks")
    listed = [
        protocol.hits_list is None or r <= protocol.hits_list for r in raw_values
    ]  # the gold is in the list hits are read from
    values = {
        hits_key(k): [
            float(f <= k and inside) for f, inside in zip(filtered_values, listed, strict=True)
        ]
        for k in ks
    }
    values[mrr_key(None)] = [0.0 if math.isinf(f) else 1.0 / f for f in filtered_values]
    return values


def protocol_metrics(
    filtered: torch.Tensor | Sequence[float],
    raw: torch.Tensor | Sequence[float],
    protocol: RankingProtocol,
    ks: Sequence[int] = (1, 3, 10),
) -> dict[str, float | int]:
    """hits_at_k and MRR of one protocol from full-ranking ranks: the means of
    `query_metrics`.

    Returns:
        `{"hits_at_<k>": ..., "mrr": ..., "num_queries": n, "num_missing": 0}`.
    """
    values = query_metrics(filtered, raw, protocol, ks)
    n = len(values[mrr_key(None)])
    metrics: dict[str, float | int] = {key: sum(column) / n for key, column in values.items()}
    metrics["num_queries"] = n
    metrics["num_missing"] = 0
    return metrics


__all__ = [
    "FILTERS",
    "PROTOCOLS",
    "RankingProtocol",
    "filter_objects",
    "get_protocol",
    "parse_protocols",
    "protocol_metrics",
    "query_key",
    "query_metrics",
    "train_objects",
]
