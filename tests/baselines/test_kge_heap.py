"""PyKEEN's training loop runs a full `gc.collect()` after every epoch; in a job process
(torch, transformers and PyKEEN imported: ~480k objects) each one scanned the whole heap,
~0.25 s an epoch on one core. `train_kge` freezes the objects alive before it for its
training (`bench/bench_kge_heap.py` measures the time)."""

from __future__ import annotations

import gc

import pytest

pytest.importorskip("pykeen")

from prixlm.baselines.kge import KGEConfig, build_graph, heap_frozen, train_kge  # noqa: E402

ROWS = [{"kind": "triple", "language": "en", "subject": f"e{i}", "relation": "r",
         "object": f"e{(i + 1) % 20}"} for i in range(20)]  # fmt: skip


def _full_collections_while(call) -> list[int]:
    """The frozen-object count at the start of each full (generation 2) collection that
    `call()` runs."""
    seen: list[int] = []

    def watch(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            seen.append(gc.get_freeze_count())

    gc.callbacks.append(watch)
    try:
        call()
    finally:
        gc.callbacks.remove(watch)
    return seen


def test_each_epoch_s_collection_leaves_the_objects_alive_before_it_alone():
    graph = build_graph({"en": {"train": ROWS}})
    points: list[int] = []
    gc.collect()
    alive = len(gc.get_objects())
    seen = _full_collections_while(
        lambda: train_kge(
            graph,
            KGEConfig("TransE", embedding_dim=8),
            [2, 3],
            lambda epochs, model: points.append(epochs),
        )  # fmt: skip
    )
    assert points == [2, 3]
    assert seen[0] == 0  # the garbage of before collected, once, before the heap is frozen
    assert len(seen[1:]) >= 3  # one a trained epoch at least (PyKEEN's)
    assert min(seen[1:]) >= 0.9 * alive, (seen, alive)
    assert gc.get_freeze_count() == 0  # unfrozen after


def test_a_heap_the_caller_froze_stays_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with heap_frozen():
            [object() for _ in range(10)]
        # still frozen (unfrozen: 0); a frozen object that dies meanwhile (another thread's)
        # leaves the count, so it may be a little lower
        assert 0.99 * frozen <= gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()


class _Held:
    """An object kept alive only by a reference cycle (as a finished Trainer and its model)."""

    def __init__(self) -> None:
        self.me = self


def test_garbage_of_before_is_not_kept_through_the_training():
    """A finished job's Trainer and model (reference cycles) left for the collector: frozen
    with the heap, they stayed in memory for the whole KGE training after them."""
    import weakref

    held = _Held()
    ref = weakref.ref(held)
    del held
    alive: list[bool] = []
    train_kge(
        build_graph({"en": {"train": ROWS}}),
        KGEConfig("TransE", embedding_dim=8),
        [1, 2],
        lambda epochs, model: alive.append(ref() is not None),
    )
    assert alive == [False, False]
