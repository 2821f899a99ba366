"""A KGE baseline's training in a job process: PyKEEN's per-epoch `gc.collect()` over the
whole heap (before) vs the heap alive before the training frozen (`prixlm.baselines.kge.
heap_frozen`, ours).

Run::

    .venv/bin/python bench/bench_kge_heap.py [--entities 2000] [--epochs 40] [--repeats 2]

The process imports what a Table 1 / DBP-5L job worker imports (`prixlm.experiments.jobs`,
PyKEEN's training loop and models) and prints how many objects the collector tracks. One
TransE (dimension 32, batch 256) is trained on a synthetic graph of `--entities` entities
(three relations, `--entities` x 3 triples) for `--epochs` epochs, `--repeats` times each way
(best kept), alternating:

- **whole heap**: `train_kge` with `heap_frozen` replaced by a no-op (the code before);
- **heap frozen**: `train_kge`.

Both must train the same weights (checked). The last line is the ratio of the seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
from pathlib import Path
from unittest import mock

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _prixlm_bench import interleaved_times, print_best  # noqa: E402

import prixlm.experiments.jobs  # noqa: E402, F401  (a job worker's imports)
from prixlm.baselines import kge  # noqa: E402
from prixlm.baselines.kge import KGEConfig, build_graph, train_kge  # noqa: E402


def graph_of(entities: int):
    """Three relations over `entities` entities: e_i -> e_{i+1}, e_{2i}, e_{i+7} (mod n)."""
    rows = [
        {"kind": "triple", "language": "en", "subject": f"e{i}", "relation": relation,
         "object": f"e{target % entities}"}
        for i in range(entities)
        for relation, target in (("next", i + 1), ("double", 2 * i), ("seventh", i + 7))
    ]  # fmt: skip
    return build_graph({"en": {"train": rows}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    import pykeen.models  # noqa: F401
    import pykeen.training  # noqa: F401

    graph = graph_of(args.entities)
    config = KGEConfig("TransE", embedding_dim=32, batch_size=256)
    print(f"objects tracked by the collector: {len(gc.get_objects()):,}; "
          f"{len(graph.triples):,} triples, {args.epochs} epochs, one thread")  # fmt: skip
    paths = {"whole heap": contextlib.nullcontext, "heap frozen": kge.heap_frozen}
    weights: dict[str, torch.Tensor] = {}

    def trained(name: str):
        def step() -> None:
            with mock.patch.object(kge, "heap_frozen", paths[name]):
                model = train_kge(graph, config, [args.epochs], lambda points, m: None)
            weights[name] = model.entity_representations[0]().detach().clone()

        return step

    times = interleaved_times({name: trained(name) for name in paths}, 0, args.repeats)
    best = {name: min(seconds) for name, seconds in times.items()}
    if not torch.equal(weights["whole heap"], weights["heap frozen"]):
        raise SystemExit("the two paths trained different weights")
    print("same weights: yes")
    print_best(best, args.epochs, "epoch")


if __name__ == "__main__":
    main()
