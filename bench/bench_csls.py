"""CSLS retrieval (k = 10, top-10 neighbours): faiss exact search vs our blockwise torch.

Run::

    .venv/bin/python bench/bench_csls.py [--sources 20000] [--targets 20000] [--dim 256]

Random unit vectors (a Gaussian cloud: no structure to exploit, so exact search is the only
fair setting for both). Both compute the same thing:

- ours (`prixlm.similarity.csls.CSLS`): `r_T` of the sources and `r_S` of the targets by
  blockwise matmul + top-k, then the top-10 CSLS neighbours of every source, block by block
  (16 MiB of similarities at a time);
- baseline (`faiss-cpu`, `IndexFlatIP`, exact): two k-NN searches for `r_T` and `r_S`, then
  one inner-product search over the targets augmented with one dimension, `[2y, -r_S(y)]`
  against `[x, 1]`, whose ranking is that of CSLS for a fixed source (`-r_T(x)` is a
  constant per source).

Both run with the same torch/faiss thread count (`--threads`, default 1). The results are
checked equal (the neighbour sets of 99.9%+ of the sources: ties and float order aside); the
last line is the ratio of the times, faiss / ours (> 1: ours faster).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prixlm.similarity.csls import CSLS  # noqa: E402

K, TOP = 10, 10


def ours(sources: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return CSLS(sources, targets, k=K).neighbours(top=TOP)[0]


def with_faiss(sources: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    import faiss
    import numpy as np

    x = np.ascontiguousarray(torch.nn.functional.normalize(sources, dim=1).numpy())
    y = np.ascontiguousarray(torch.nn.functional.normalize(targets, dim=1).numpy())
    target_index, source_index = faiss.IndexFlatIP(y.shape[1]), faiss.IndexFlatIP(x.shape[1])
    target_index.add(y)
    source_index.add(x)
    r_source = source_index.search(y, K)[0].mean(axis=1)  # r_S of every target
    augmented = faiss.IndexFlatIP(y.shape[1] + 1)
    augmented.add(np.ascontiguousarray(np.hstack([2 * y, -r_source[:, None]]), dtype=np.float32))
    target_index.search(x, K)  # r_T: a constant per source, computed for the same work
    queries = np.ascontiguousarray(np.hstack([x, np.ones((x.shape[0], 1), np.float32)]))
    return torch.from_numpy(augmented.search(queries, TOP)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=20_000)
    parser.add_argument("--targets", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    sources = torch.randn(args.sources, args.dim, generator=generator)
    targets = torch.randn(args.targets, args.dim, generator=generator)
    print(
        f"{args.sources:,} sources x {args.targets:,} targets, d={args.dim}, k={K}, "
        f"top {TOP}, {torch.get_num_threads()} thread(s), torch {torch.__version__}"
    )
    started = time.perf_counter()
    ours_indices = ours(sources, targets)
    ours_seconds = time.perf_counter() - started
    print(f"ours  (torch, blockwise): {ours_seconds:7.2f} s")
    try:
        import faiss
    except ImportError:
        print("faiss-cpu is not installed: `pip install faiss-cpu` to compare")
        return
    faiss.omp_set_num_threads(args.threads)
    started = time.perf_counter()
    faiss_indices = with_faiss(sources, targets)
    faiss_seconds = time.perf_counter() - started
    print(f"faiss (IndexFlatIP {faiss.__version__}): {faiss_seconds:7.2f} s")
    same_top1 = (ours_indices[:, 0] == faiss_indices[:, 0]).float().mean().item()
    same_sets = (
        ((ours_indices.sort(dim=1).values == faiss_indices.sort(dim=1).values).all(dim=1))
        .float()
        .mean()
        .item()
    )
    print(
        f"same top-1 neighbour: {100 * same_top1:.2f}% of the sources; "
        f"same top-{TOP} set: {100 * same_sets:.2f}%"
    )
    if same_sets < 0.999:
        raise SystemExit(f"the top-{TOP} neighbour sets differ for {100 * (1 - same_sets):.2f}%")
    print(f"ratio faiss / ours: {faiss_seconds / ours_seconds:.2f}")


if __name__ == "__main__":
    main()
