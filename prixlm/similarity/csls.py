"""Cross-domain similarity local scaling (CSLS) retrieval, blockwise for 100k+ targets.

CSLS (Conneau et al., 2018, "Word translation without parallel data") corrects cosine
similarity for hubs. With unit-length rows, for a source vector `x` and a target vector `y`::

    r_T(x) = mean of cos(x, y') over the k targets y' nearest to x
    r_S(y) = mean of cos(x', y) over the k sources x' nearest to y
    CSLS(x, y) = 2 cos(x, y) - r_T(x) - r_S(y)

k = 10 as in the paper. Every step runs over row blocks so that no more than
`max_block_floats` similarities exist at once: a `(sources, targets)` matrix is never built,
and 100k × 100k at d = 256 needs one block (16 MiB by default) besides the inputs.
`bench/bench_csls.py` compares this with `faiss` (exact inner-product search).
"""

from __future__ import annotations

import torch

from prixlm.link_prediction.ranking import filtered_ranks_from_scores, ranking_metrics

CSLS_K = 10
#: Similarities held at once by default (2^22 float32 = 16 MiB: a block stays in cache-friendly
#: sizes; larger blocks were slower, see `bench/bench_csls.py`).
DEFAULT_BLOCK_FLOATS = 1 << 22


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


def first_identical_rows(
    vectors: torch.Tensor, max_block_floats: int = DEFAULT_BLOCK_FLOATS
) -> torch.Tensor | None:
    """`(n,)` long: for each row of `(n, d)` `vectors`, the first row bit-identical to it;
    None when every row is distinct.

    A matrix product does not score two identical rows alike to the last bit (a product with
    one or a few query rows, or a column in the last partial tile of the BLAS kernel, is summed
    in another order): homonyms (one name under two entities, one vector from the embedder)
    then ranked 1 and 2 instead of tying at 1.5, by their columns' positions and the number of
    queries in a block. Scoring each column as its first identical row keeps exact ties exact.
    Rows are grouped by a hash of their bits (blockwise) and then compared exactly: a hash
    collision never merges different rows.
    """
    if vectors.dim() != 2:
        raise ValueError(f"expected a (n, d) matrix, got shape {tuple(vectors.shape)}")
    n, width = vectors.shape
    if n < 2:
        return None
    bits = vectors.float().contiguous().view(torch.int32)
    # small weights: no int64 overflow in the sums for widths up to 2^16
    generator = torch.Generator().manual_seed(0)
    weights = torch.randint(-(2**15), 2**15, (width,), dtype=torch.int64, generator=generator)
    keys = torch.empty(n, dtype=torch.int64)
    step = _block_rows(width, max_block_floats)
    for start in range(0, n, step):
        keys[start : start + step] = (bits[start : start + step].long() * weights).sum(dim=1)
    _, group = torch.unique(keys, return_inverse=True)
    rows = torch.arange(n)
    first = torch.full((int(group.max()) + 1,), n, dtype=torch.long)
    first.scatter_reduce_(0, group, rows, reduce="amin")
    canonical = first[group]
    for start in range(0, n, step):  # exact: a collision keeps its rows apart
        block = slice(start, start + step)
        same = (bits[block] == bits[canonical[block]]).all(dim=1)
        canonical[block] = torch.where(same, canonical[block], rows[block])
    return None if bool((canonical == rows).all()) else canonical


class CSLS:
    """CSLS between fixed sources and targets: `(n_s, d)` and `(n_t, d)` embeddings.

    The rows are normalised to unit length; `r_S` of every target is computed once
    (blockwise). `neighbours` computes `r_T` of each source block from the same similarity
    block it ranks (two passes over the `(n_s, n_t)` similarities in all); `ranks` needs no
    `r_T` at all (a constant per source does not change its ranking).
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
        if k < 1:
            raise ValueError(f"k={k}: expected k >= 1")
        self.sources, self.targets = unit_rows(sources), unit_rows(targets)
        self.k, self.max_block_floats = k, max_block_floats
        self.target_hubness = knn_mean_similarity(self.targets, self.sources, k, max_block_floats)
        self._source_hubness: torch.Tensor | None = None
        #: each target's first bit-identical target (None: all distinct), so ties stay exact
        self.identical_targets = first_identical_rows(self.targets, max_block_floats)

    @property
    def source_hubness(self) -> torch.Tensor:
        """`(n_s,)` `r_T` of every source (computed on first use)."""
        if self._source_hubness is None:
            self._source_hubness = knn_mean_similarity(
                self.sources, self.targets, self.k, self.max_block_floats
            )
        return self._source_hubness

    def scores(self, rows: slice | torch.Tensor) -> torch.Tensor:
        """`(len(rows), n_t)` CSLS of the selected sources to every target."""
        return self._ranking_scores(self.sources[rows] @ self.targets.T).sub_(
            self.source_hubness[rows][:, None]
        )

    def _ranking_scores(self, cosine: torch.Tensor) -> torch.Tensor:
        """`2 cos(x, y) - r_S(y)` in place: CSLS without `r_T(x)`, a constant per source."""
        return cosine.mul_(2.0).sub_(self.target_hubness[None, :])

    def _blocks(self) -> range:
        return range(
            0, self.sources.shape[0], _block_rows(self.targets.shape[0], self.max_block_floats)
        )

    def neighbours(
        self, top: int = 10, backend: str = "torch"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`(n_s, top)` target indices, best first, and their `(n_s, top)` CSLS scores.

        `backend="faiss"` searches with `faiss.IndexFlatIP` (exact; the optional `faiss-cpu`
        package, `pip install prixlm[similarity]`): ~1.25x faster at 20k x 20k, d = 256 on one
        CPU thread (`bench/bench_csls.py`), same neighbours up to ties.
        """
        if backend == "faiss":
            return self._faiss_neighbours(min(top, self.targets.shape[0]))
        if backend != "torch":
            raise ValueError(f"backend={backend!r}: expected 'torch' or 'faiss'")
        top = min(top, self.targets.shape[0])
        k = min(self.k, self.targets.shape[0])
        indices = torch.empty(self.sources.shape[0], top, dtype=torch.long)
        values = torch.empty(self.sources.shape[0], top, dtype=torch.float32)
        source_hubness = torch.empty(self.sources.shape[0], dtype=torch.float32)
        step = self._blocks().step
        for start in self._blocks():
            block = slice(start, start + step)
            cosine = self.sources[block] @ self.targets.T
            source_hubness[block] = cosine.topk(k, dim=1).values.mean(dim=1)
            best = self._ranking_scores(cosine).topk(top, dim=1)
            indices[block] = best.indices
            values[block] = best.values - source_hubness[block][:, None]
        self._source_hubness = source_hubness
        return indices, values

    def _faiss_neighbours(self, top: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact inner-product search of `[x, 1]` among `[2y, -r_S(y)]` (= CSLS + r_T(x))."""
        import faiss
        import numpy as np

        targets = np.hstack([2 * self.targets.numpy(), -self.target_hubness.numpy()[:, None]])
        index = faiss.IndexFlatIP(targets.shape[1])
        index.add(np.ascontiguousarray(targets, dtype=np.float32))
        ones = np.ones((self.sources.shape[0], 1), dtype=np.float32)
        queries = np.ascontiguousarray(np.hstack([self.sources.numpy(), ones]))
        values, indices = index.search(queries, top)
        values = torch.from_numpy(values) - self.source_hubness[:, None]
        return torch.from_numpy(indices).long(), values

    def ranks(self, gold: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """`(n,)` realistic ranks (1-based, ties halved) of target column `gold[i]` among the
        targets of source `rows[i]` (`rows`: `(n,)` long; None: every source, in order)."""
        if rows is None:
            if gold.shape != (self.sources.shape[0],):
                raise ValueError(f"gold {tuple(gold.shape)}: expected ({self.sources.shape[0]},)")
            rows = torch.arange(self.sources.shape[0])
        elif gold.shape != rows.shape or gold.dim() != 1:
            raise ValueError(f"gold {tuple(gold.shape)} and rows {tuple(rows.shape)} differ")
        ranks = torch.empty(gold.shape[0], dtype=torch.float64)
        step = _block_rows(self.targets.shape[0], self.max_block_floats)
        for start in range(0, gold.shape[0], step):
            block = slice(start, start + step)
            scores = self._ranking_scores(self.sources[rows[block]] @ self.targets.T)
            if self.identical_targets is not None:  # identical targets tie exactly
                scores = scores[:, self.identical_targets]
            ranks[block] = filtered_ranks_from_scores(scores, gold[block])
        return ranks


def csls_retrieval_metrics(
    sources: torch.Tensor,
    targets: torch.Tensor,
    gold: torch.Tensor,
    k: int = CSLS_K,
    max_block_floats: int = DEFAULT_BLOCK_FLOATS,
) -> dict[str, float | int]:
    """hits_at_1/10 and MRR of retrieving `targets[gold[i]]` for `sources[i]` by CSLS.

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
    "first_identical_rows",
    "knn_mean_similarity",
    "unit_rows",
]
