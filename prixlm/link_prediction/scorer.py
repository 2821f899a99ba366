"""One ranking path for every link predictor that scores candidates (full ranking).

A `CandidateScorer` maps queries and candidate labels to a score matrix
`(num_queries, num_candidates)`, higher is better. `evaluate_scorer` ranks each query's
gold object among every candidate, filtered and with realistic ties, and reports hits@k
and MRR (`prixlm.link_prediction.ranking`, PyKEEN's definitions). Prix-LM scores by the
exact log-likelihood of every candidate (`PrixLMScorer`, `score_candidates`); a KGE
baseline (PyKEEN's TransE, RotatE) needs only a `score` method to be ranked the same way.

Example::

    scorer = PrixLMScorer(model, tokenizer)
    metrics = evaluate_scorer(scorer, rows, candidate_labels(splits, "de"))
    # {"hits_at_1": ..., "hits_at_3": ..., "hits_at_10": ..., "mrr": ..., "num_queries": ..., ...}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from tqdm.auto import tqdm

from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.decoding_steps import Query, model_device
from prixlm.link_prediction.candidate_scoring import default_sizes, score_candidates
from prixlm.link_prediction.ranking import filtered_ranks_from_scores, ranking_metrics

KS = (1, 3, 10)


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
    built once and reused while the same candidate list comes back.

    Args:
        batch_size: queries per forward; `max_rows`: bound on queries x trie prefixes per
            forward (each row returns `(vocab,)` float32 logits). Default: `score_candidates`'
            for the model's device (`candidate_scoring.default_sizes`: small on the CPU,
            large on a GPU).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        batch_size: int | None = None,
        max_rows: int | None = None,
    ):
        default_batch, default_rows = default_sizes(model_device(model))
        batch_size, max_rows = batch_size or default_batch, max_rows or default_rows
        if batch_size < 1 or max_rows < batch_size:
            raise ValueError(f"need 1 <= batch_size ({batch_size}) <= max_rows ({max_rows})")
        self.model, self.tokenizer = model, tokenizer
        self.batch_size, self.max_rows = batch_size, max_rows
        self._trie_key: tuple[str, ...] | None = None
        self._trie: EntityTrie | None = None

    def trie(self, candidates: Sequence[str]) -> EntityTrie:
        """The trie of `candidates` (cached for the last candidate list)."""
        key = tuple(candidates)
        if self._trie is None or key != self._trie_key:
            self._trie_key, self._trie = key, EntityTrie.from_labels(self.tokenizer, list(key))
        return self._trie

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


def scorer_ranks(
    scorer: CandidateScorer,
    rows: Sequence[Mapping[str, Any]],
    candidates: Sequence[str],
    batch_size: int = 64,
    progress: bool = False,
) -> torch.Tensor:
    """Filtered realistic rank of each row's gold `object` among `candidates`.

    Args:
        rows: dataset rows; `object` is the gold (must be a candidate), `all_objects` the
            known true objects to filter (absent or non-candidate ones are ignored).
        candidates: distinct labels, one column each.
        batch_size: rows given to `scorer.score` at a time (memory: `batch x candidates`).
    Returns:
        `(len(rows),)` float64 ranks, 1-based, multiples of 0.5.
    Raises:
        ValueError: no rows, repeated candidates, a gold object that is not a candidate
            (names the row), or a score matrix of the wrong shape or with NaN.
    """
    rows = list(rows)
    if not rows:
        raise ValueError("no rows to rank")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be >= 1")
    column = {label: j for j, label in enumerate(candidates)}
    if len(column) != len(candidates):
        raise ValueError(f"{len(candidates) - len(column)} candidate labels are repeated")
    for index, row in enumerate(rows):
        if row["object"] not in column:
            raise ValueError(f"row {index}: gold object {row['object']!r} is not a candidate")
    ranks = []
    with tqdm(total=len(rows), desc="ranking", unit="query", disable=not progress) as bar:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            scores = scorer.score(batch, candidates)
            if tuple(scores.shape) != (len(batch), len(candidates)):
                raise ValueError(
                    f"the scorer returned {tuple(scores.shape)} scores for "
                    f"{len(batch)} queries x {len(candidates)} candidates"
                )
            gold = torch.tensor([column[row["object"]] for row in batch])
            mask = torch.zeros(scores.shape, dtype=torch.bool)
            for i, row in enumerate(batch):
                mask[i, [column[o] for o in row.get("all_objects") or () if o in column]] = True
            ranks.append(filtered_ranks_from_scores(scores.cpu(), gold, mask))
            bar.update(len(batch))
    return torch.cat(ranks)


def evaluate_scorer(
    scorer: CandidateScorer,
    rows: Sequence[Mapping[str, Any]],
    candidates: Sequence[str],
    ks: Sequence[int] = KS,
    batch_size: int = 64,
    progress: bool = False,
) -> dict[str, float | int]:
    """Filtered hits@k and MRR of `scorer` over `rows` (see `scorer_ranks`).

    Returns:
        `{"hits_at_1", "hits_at_3", "hits_at_10", "mrr", "num_queries", "num_missing"}`
        (`num_missing` is 0: every candidate is ranked).
    """
    return ranking_metrics(scorer_ranks(scorer, rows, candidates, batch_size, progress), ks)


__all__ = ["KS", "CandidateScorer", "PrixLMScorer", "evaluate_scorer", "scorer_ranks"]
