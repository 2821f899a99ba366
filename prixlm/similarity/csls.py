"""Cross-domain similarity local scaling (CSLS) retrieval, blockwise for 100k+ targets.

CSLS (Conneau et al., 2018, "Word translation without parallel data") corrects cosine
similarity for hubs. With unit-length rows, for a source vector `x` and a target vector `y`::

    r_T(x) = mean of cos(x, y') over the k targets y' nearest to x
    r_S(y) = mean of cos(x', y) over the k sources x' nearest to y
    CSLS(x, y) = 2 cos(x, y) - r_T(x) - r_S(y)

k = 10 as in the paper. Every step runs over row blocks so that no more than
`max_block_floats` similarities exist at once: a `(sources, targets)` matrix is never built,
and 100k × 100k at d = 256 needs one block (256 MB by default) besides the inputs.
`bench/bench_csls.py` compares this with `faiss` (exact inner-product search).
"""

from __future__ import annotations

import torch

from prixlm.link_prediction.ranking import filtered_ranks_from_scores, ranking_metrics

CSLS_K = 10
#: Similarities held at once by default (2^26 float32 = 256 MiB).
DEFAULT_BLOCK_FLOATS = 1 << 26


def unit_rows(vectors: torch.Tensor) -> torch.Tensor:
    """`(n, d)` float32 rows scaled to unit length (zero rows stay zero)."""
    if vectors.dim() != 2:
        raise ValueError(f"expected a (n, d) matrix, got shape {tuple(vectors.shape)}")
    return torch.nn.functional.normalize(vectors.float(), dim=1)


def _block_rows(columns: int, max_block_floats: int) -> int:
    return max(1, max_block_floats // max(1, columns))


def knn_mean_similarity(
    queries: torch.Tensor,
    keys: torch.Tensor,
    k: int = CSLS_K,
    max_block_floats: int = DEFAULT_BLOCK_FLOATS,
) -> torch.Tensor:
    """`(n_queries,)` mean cosine of each query's `k` nearest keys (`r_T` / `r_S` above).

    Args:
        queries: `(n_queries, d)` unit rows.
        keys: `(n_keys, d)` unit rows; `k` is capped at `n_keys`.
    """
    if k < 1:
        raise ValueError(f"k={k}: expected k >= 1")
    k = min(k, keys.shape[0])
    out = torch.empty(queries.shape[0], dtype=torch.float32)
    step = _block_rows(keys.shape[0], max_block_floats)
    for start in range(0, queries.shape[0], step):
        similarities = queries[start : start + step] @ keys.T
        out[start : start + step] = similarities.topk(k, dim=1).values.mean(dim=1)
    return out


class CSLS:
    """CSLS between fixed sources and targets: `(n_s, d)` and `(n_t, d)` embeddings.

    The rows are normalised to unit length; `r_T` of every source and `r_S` of every target
    are computed once (blockwise), then `scores` gives any source rows' CSLS to all targets.
    """

    def __init__(
        self,
        sources: torch.Tensor,
        targets: torch.Tensor,
        k: int = CSLS_K,
        max_block_floats: int = DEFAULT_BLOCK_FLOATS,
    ):
        if sources.dim() != 2 or targets.dim() != 2 or sources.shape[1] != targets.shape[1]:
            raise ValueError(
                f"sources {tuple(sources.shape)} and targets {tuple(targets.shape)}: "
                "expected (n_s, d) and (n_t, d) with the same d"
            )
        if sources.shape[0] == 0 or targets.shape[0] == 0:
            raise ValueError("CSLS needs at least one source and one target")
        self.sources, self.targets = unit_rows(sources), unit_rows(targets)
        self.max_block_floats = max_block_floats
        self.source_hubness = knn_mean_similarity(self.sources, self.targets, k, max_block_floats)
        self.target_hubness = knn_mean_similarity(self.targets, self.sources, k, max_block_floats)

    def scores(self, rows: slice | torch.Tensor) -> torch.Tensor:
        """`(len(rows), n_t)` CSLS of the selected sources to every target."""
        cosine = self.sources[rows] @ self.targets.T
        return 2 * cosine - self.source_hubness[rows][:, None] - self.target_hubness[None, :]

    def _blocks(self) -> range:
        return range(
            0, self.sources.shape[0], _block_rows(self.targets.shape[0], self.max_block_floats)
        )

    def neighbours(self, top: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
        """`(n_s, top)` target indices, best first, and their `(n_s, top)` CSLS scores."""
        top = min(top, self.targets.shape[0])
        indices = torch.empty(self.sources.shape[0], top, dtype=torch.long)
        values = torch.empty(self.sources.shape[0], top, dtype=torch.float32)
        step = self._blocks().step
        for start in self._blocks():
            best = self.scores(slice(start, start + step)).topk(top, dim=1)
            indices[start : start + step] = best.indices
            values[start : start + step] = best.values
        return indices, values

    def ranks(self, gold: torch.Tensor) -> torch.Tensor:
        """`(n_s,)` realistic ranks (1-based, ties halved) of each source's gold target column."""
        if gold.shape != (self.sources.shape[0],):
            raise ValueError(f"gold {tuple(gold.shape)}: expected ({self.sources.shape[0]},)")
        ranks = torch.empty(self.sources.shape[0], dtype=torch.float64)
        step = self._blocks().step
        for start in self._blocks():
            block = slice(start, start + step)
            ranks[block] = filtered_ranks_from_scores(self.scores(block), gold[block])
        return ranks


def csls_retrieval_metrics(
    sources: torch.Tensor,
    targets: torch.Tensor,
    gold: torch.Tensor,
    k: int = CSLS_K,
    max_block_floats: int = DEFAULT_BLOCK_FLOATS,
) -> dict[str, float | int]:
    """hits@1/10 and MRR of retrieving `targets[gold[i]]` for `sources[i]` by CSLS.

    Args:
        sources: `(n_s, d)`; targets: `(n_t, d)`; gold: `(n_s,)` long target columns.
    Returns:
        `prixlm.link_prediction.ranking.ranking_metrics` of the realistic ranks.
    """
    ranks = CSLS(sources, targets, k, max_block_floats).ranks(gold)
    return ranking_metrics(ranks, ks=(1, 10))


__all__ = [
    "CSLS",
    "CSLS_K",
    "DEFAULT_BLOCK_FLOATS",
    "csls_retrieval_metrics",
    "knn_mean_similarity",
    "unit_rows",
]
