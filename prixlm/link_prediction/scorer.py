"""One ranking path for every link predictor that scores candidates (full ranking).

A `CandidateScorer` maps queries and candidate labels to a score matrix
`(num_queries, num_candidates)`, higher is better. `evaluate_scorer` ranks each query's
gold object among every candidate, filtered and with realistic ties, and reports hits@k
and MRR (`prixlm.link_prediction.ranking`, PyKEEN's definitions). Prix-LM scores by the
exact log-likelihood of every candidate (`PrixLMScorer`, `score_candidates`); a KGE
baseline (PyKEEN's TransE, RotatE) needs only a `score` method to be ranked the same way.

Candidate labels that tokenise identically are one entity to Prix-LM (as the official
`lp.py`): a scorer that says which labels are one (`canonical_labels(candidates)`, as
`PrixLMScorer` does from its trie) is ranked over the first label of each (in candidate
order), with golds and filters mapped to it, and its results count the labels merged
(`merged_candidates`). A scorer without that method (a KGE baseline: distinct entities,
distinct embeddings) merges nothing.

Example::

    scorer = PrixLMScorer(model, tokenizer)
    metrics = evaluate_scorer(scorer, rows, candidate_labels(splits, "de"))
    # {"hits_at_1": ..., "hits_at_3": ..., "hits_at_10": ..., "mrr": ..., "num_queries": ..., ...}
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import torch

from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.decoding_steps import Query, model_device
from prixlm.library_bars import progress_bar
from prixlm.link_prediction.candidate_scoring import default_sizes, score_candidates
from prixlm.link_prediction.precision import warns_half_precision
from prixlm.link_prediction.protocols import (
    filter_objects,
    get_protocol,
    protocol_metrics,
    train_objects,
)
from prixlm.link_prediction.ranking import filtered_ranks_from_scores

KS = (1, 3, 10)


def canonical_labels(trie: EntityTrie) -> dict[str, str]:
    """Every candidate label -> the first label with the same tokenisation."""
    first = trie.entity_of(trie.entity_nodes).tolist()
    return {label: trie.labels[index] for label, index in zip(trie.labels, first, strict=True)}


def warn_unknown_merges(tokenizer: Any, trie: EntityTrie, canonical: Mapping[str, str]) -> None:
    """Warn when candidates hold `<unk>` and some tokenise alike: they count as one entity,
    and a gold among them is ranked as that one (a language the tokenizer cannot write
    scored 100% hits@1: its 1,793 labels were a few `<unk>` sequences)."""
    unk = getattr(tokenizer, "unk_token_id", None)
    if unk is None or not bool(((trie.edge_keys % trie.stride) == unk).any()):
        return
    merged = [label for label, first in canonical.items() if first != label]
    if not merged:
        return
    index = {label: position for position, label in enumerate(trie.labels)}
    unknown = [label for label in merged if unk in trie.token_ids(index[label])]
    if unknown:
        warnings.warn(
            f"the candidates hold <unk> (characters the tokenizer does not know): "
            f"{len(unknown)} of {len(canonical)} labels tokenise like another through <unk> "
            f"and count as one (e.g. {unknown[0]!r}); scores on them overstate the model",
            stacklevel=3,
        )


@runtime_checkable
class CandidateScorer(Protocol):
    """Anything that scores every candidate for every query."""

    def score(self, queries: Sequence[Query], candidates: Sequence[str]) -> torch.Tensor:
        """`(len(queries), len(candidates))` float scores, higher is better, no NaN.

        `queries` are dataset rows (`subject`, `relation`, `kind`, languages; see
        docs/architecture.md) or the tuples of `modeling_prixlm.decoding_steps.Query`.
        """
        ...


class PrixLMScorer:
    """Prix-LM's exact log-likelihood `log p(o | s, p)` of every candidate (a full ranking).

    Wraps `score_candidates` (model in eval mode while scoring); the candidates' trie is
    built once and reused while the same candidate list comes back. Labels that tokenise
    identically get the same score and are one entity when ranked (`canonical_labels`).

    Args:
        batch_size: queries per forward; `max_rows`: bound on queries x trie prefixes per
            forward (each row returns `(vocab,)` float32 logits). Default: `score_candidates`'
            for the model's device (`candidate_scoring.default_sizes`: small on the CPU,
            large on a GPU).
        trie: the candidates' trie if already built (`EntityTrie.from_labels`), used for
            the candidate list `trie.labels`.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        batch_size: int | None = None,
        max_rows: int | None = None,
        trie: EntityTrie | None = None,
    ):
        default_batch, default_rows = default_sizes(model_device(model))
        batch_size = batch_size or default_batch
        # a batch above the device's default rows, no bound given: the rows follow the batch
        max_rows = max_rows or max(default_rows, batch_size)
        if batch_size < 1 or max_rows < batch_size:
            raise ValueError(f"need 1 <= batch_size ({batch_size}) <= max_rows ({max_rows})")
        self.model, self.tokenizer = model, tokenizer
        self.batch_size, self.max_rows = batch_size, max_rows
        self._trie_key: tuple[str, ...] | None = None
        self._trie: EntityTrie | None = None
        if trie is not None and trie.labels is not None:
            self._trie_key, self._trie = tuple(trie.labels), trie

    def trie(self, candidates: Sequence[str]) -> EntityTrie:
        """The trie of `candidates` (cached for the last candidate list)."""
        key = tuple(candidates)
        if self._trie is None or key != self._trie_key:
            self._trie_key, self._trie = key, EntityTrie.from_labels(self.tokenizer, list(key))
        return self._trie

    def canonical_labels(self, candidates: Sequence[str]) -> dict[str, str]:
        """Every candidate -> the first candidate with the same tokenisation (one entity,
        as the official `lp.py`); warns when `<unk>` makes labels alike
        (`warn_unknown_merges`)."""
        trie = self.trie(candidates)
        canonical = canonical_labels(trie)
        warn_unknown_merges(self.tokenizer, trie, canonical)
        return canonical

    def score(self, queries: Sequence[Query], candidates: Sequence[str]) -> torch.Tensor:
        """`(len(queries), len(candidates))` float64 log-likelihoods."""
        return score_candidates(
            self.model,
            self.tokenizer,
            queries,
            self.trie(candidates),
            batch_size=self.batch_size,
            max_rows=self.max_rows,
        )


def protocol_ranks(
    scorer: CandidateScorer,
    rows: Sequence[Mapping[str, Any]],
    candidates: Sequence[str],
    protocols: Sequence[str] = ("ours",),
    train_rows: Sequence[Mapping[str, Any]] | None = None,
    batch_size: int = 64,
    progress: bool = False,
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Ranks of each row's gold `object` among `candidates` under each protocol, from one
    scoring pass (`prixlm.link_prediction.protocols`).

    A scorer with `canonical_labels(candidates)` (`PrixLMScorer`: labels that tokenise
    identically) ranks each group of such labels as one entity, the group's first label in
    candidate order (its column for `index` ties); golds, `all_objects` and train objects
    are mapped to it. Other scorers rank every label as its own entity.

    Args:
        rows: dataset rows; `object` is the gold (must be a candidate), `all_objects` the
            known true objects over every split (absent or non-candidate ones are ignored).
        candidates: distinct labels, one column each (in entity order for `index` ties).
        protocols: names in `PROTOCOLS`.
        train_rows: the train split's rows, needed by a protocol that filters `train`.
        batch_size: rows given to `scorer.score` at a time (memory: `batch x candidates`).
    Returns:
        `{protocol: (filtered, raw)}`, each `(len(rows),)` float64, 1-based, one per row
        of `rows` in order; `raw` (no filter, the protocol's ties) is computed only for a
        protocol with `hits_list`.
    Raises:
        ValueError: no rows, repeated candidates, a gold object that is not a candidate
            (names the row), a score matrix of the wrong shape or with NaN, an unknown
            protocol, or a `train` filter without `train_rows`.
    """
    return _protocol_ranks(scorer, rows, candidates, protocols, train_rows, batch_size, progress)[0]


def _merged_columns(
    scorer: CandidateScorer, candidates: Sequence[str]
) -> tuple[dict[str, int], torch.Tensor | None, int | None]:
    """`(column of each label, the score columns kept, labels merged)`: with a scorer that
    merges (`canonical_labels`), every label's column is its entity's first label's among
    the kept ones, in candidate order; else one column per label, all kept (None, None)."""
    merge = getattr(scorer, "canonical_labels", None)
    if not callable(merge):
        return {label: j for j, label in enumerate(candidates)}, None, None
    canonical = merge(candidates)
    kept = [j for j, label in enumerate(candidates) if canonical[label] == label]
    position = {candidates[j]: k for k, j in enumerate(kept)}
    column = {label: position[canonical[label]] for label in candidates}
    return column, torch.tensor(kept, dtype=torch.long), len(candidates) - len(kept)


def _protocol_ranks(
    scorer: CandidateScorer,
    rows: Sequence[Mapping[str, Any]],
    candidates: Sequence[str],
    protocols: Sequence[str],
    train_rows: Sequence[Mapping[str, Any]] | None,
    batch_size: int,
    progress: bool,
) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], int | None]:
    """`protocol_ranks` and how many labels were merged (None: the scorer merges none)."""
    rows = list(rows)
    if not rows:
        raise ValueError("no rows to rank")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be >= 1")
    rules = [get_protocol(name) for name in protocols]
    candidates = list(candidates)
    labels = set(candidates)
    if len(labels) != len(candidates):
        raise ValueError(f"{len(candidates) - len(labels)} candidate labels are repeated")
    for index, row in enumerate(rows):
        if row["object"] not in labels:
            raise ValueError(f"row {index}: gold object {row['object']!r} is not a candidate")
    column, kept, merged = _merged_columns(scorer, candidates)
    needs_train = any(rule.filter == "train" for rule in rules)
    train_index = train_objects(train_rows) if needs_train and train_rows is not None else None
    filters = {rule.name: filter_objects(rows, rule, train_index) for rule in rules}
    parts: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {rule.name: [] for rule in rules}
    with progress_bar(total=len(rows), desc="ranking", unit="query", disable=not progress) as bar:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            scores = scorer.score(batch, candidates)
            if tuple(scores.shape) != (len(batch), len(candidates)):
                raise ValueError(
                    f"the scorer returned {tuple(scores.shape)} scores for "
                    f"{len(batch)} queries x {len(candidates)} candidates"
                )
            scores = scores.cpu()
            if kept is not None:  # one column per entity (twins score the same)
                scores = scores[:, kept]
            gold = torch.tensor([column[row["object"]] for row in batch])
            for rule in rules:
                mask = torch.zeros(scores.shape, dtype=torch.bool)
                for i, objects in enumerate(filters[rule.name][start : start + len(batch)]):
                    mask[i, [column[o] for o in objects if o in column]] = True
                filtered = filtered_ranks_from_scores(scores, gold, mask, rule.ties)
                raw = (
                    filtered_ranks_from_scores(scores, gold, None, rule.ties)
                    if rule.hits_list is not None
                    else filtered
                )
                parts[rule.name].append((filtered, raw))
            bar.update(len(batch))
    ranks = {
        name: (torch.cat([f for f, _ in chunks]), torch.cat([r for _, r in chunks]))
        for name, chunks in parts.items()
    }
    return ranks, merged


def scorer_ranks(
    scorer: CandidateScorer,
    rows: Sequence[Mapping[str, Any]],
    candidates: Sequence[str],
    batch_size: int = 64,
    progress: bool = False,
) -> torch.Tensor:
    """Filtered realistic rank (protocol `ours`) of each row's gold `object` among
    `candidates`: `(len(rows),)` float64, 1-based, multiples of 0.5 (see `protocol_ranks`)."""
    return protocol_ranks(scorer, rows, candidates, ("ours",), None, batch_size, progress)["ours"][
        0
    ]


@warns_half_precision
def evaluate_scorer_protocols(
    scorer: CandidateScorer,
    rows: Sequence[Mapping[str, Any]],
    candidates: Sequence[str],
    protocols: Sequence[str] = ("ours",),
    ks: Sequence[int] = KS,
    batch_size: int = 64,
    progress: bool = False,
    train_rows: Sequence[Mapping[str, Any]] | None = None,
    keep_ranks: bool = False,
) -> dict[str, dict[str, Any]]:
    """hits@k and MRR of `scorer` over `rows` under each protocol, scoring once.

    Returns:
        `{protocol: {"hits_at_1", "hits_at_3", "hits_at_10", "mrr", "num_queries",
        "num_missing"}}` (`num_missing` is 0: every candidate is ranked); with `keep_ranks`
        also `"ranks": {"filtered": [...], "raw": [...], "queries_sha256": ...}`, one rank per
        row in order (what a paired comparison of two scorers on the same rows needs; the
        digest is of `rows` as given, whatever golds were merged). A scorer that merges
        identical tokenisations (`PrixLMScorer`, see `protocol_ranks`) adds
        `"merged_candidates"`: how many labels ranked as an earlier one.
    """
    rows = list(rows)
    ranks, merged = _protocol_ranks(
        scorer, rows, candidates, protocols, train_rows, batch_size, progress
    )
    digest = queries_digest(rows) if keep_ranks else None
    metrics: dict[str, dict[str, Any]] = {}
    for name, (filtered, raw) in ranks.items():
        metrics[name] = protocol_metrics(filtered, raw, get_protocol(name), ks)
        if merged is not None:
            metrics[name]["merged_candidates"] = merged
        if keep_ranks:
            metrics[name]["ranks"] = {"filtered": filtered.tolist(), "raw": raw.tolist(),
                                      "queries_sha256": digest}  # fmt: skip
    return metrics


def queries_digest(rows: Sequence[Mapping[str, Any]]) -> str:
    """sha256 of the rows' (subject, relation, object), in order: two rankings pair query by
    query only over the same rows (`prixlm.experiments.paired`)."""
    triples = [[row["subject"], row["relation"], row["object"]] for row in rows]
    return hashlib.sha256(json.dumps(triples, ensure_ascii=False).encode("utf-8")).hexdigest()


@warns_half_precision
def evaluate_scorer(
    scorer: CandidateScorer,
    rows: Sequence[Mapping[str, Any]],
    candidates: Sequence[str],
    ks: Sequence[int] = KS,
    batch_size: int = 64,
    progress: bool = False,
    protocol: str = "ours",
    train_rows: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, float | int]:
    """hits@k and MRR of `scorer` over `rows` under one protocol (default `ours`: filtered
    over every split, realistic ties); see `protocol_ranks`.

    Returns:
        `{"hits_at_1", "hits_at_3", "hits_at_10", "mrr", "num_queries", "num_missing"}`,
        plus `"merged_candidates"` for a scorer that merges identical tokenisations.
    """
    return evaluate_scorer_protocols(
        scorer, rows, candidates, (protocol,), ks, batch_size, progress, train_rows
    )[protocol]


__all__ = [
    "KS",
    "CandidateScorer",
    "PrixLMScorer",
    "canonical_labels",
    "evaluate_scorer",
    "evaluate_scorer_protocols",
    "protocol_ranks",
    "scorer_ranks",
    "warn_unknown_merges",
]
