"""RotatE starts its entities as PyKEEN's RotatE replication configs do (uniform), and the
grids name it: the class default (xavier) put every distance far below the margin."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("pykeen")

from prixlm.baselines.kge import KGEConfig, build_graph, make_model  # noqa: E402
from prixlm.experiments.dbp5l_profiles import dbp5l_grid  # noqa: E402
from prixlm.experiments.profiles import kge_grid  # noqa: E402

ROWS = [{"kind": "triple", "language": "en", "subject": f"e{i}", "relation": "r",
         "object": f"e{(i + 1) % 50}"} for i in range(50)]  # fmt: skip


def test_rotate_entities_start_uniform_and_transe_as_pykeen_sets_it():
    graph = build_graph({"en": {"train": ROWS}})
    rotate = make_model(graph, KGEConfig("RotatE", embedding_dim=64), 0, "cpu")
    values = torch.view_as_real(rotate.entity_representations[0]().detach()).flatten()
    assert 0.0 <= float(values.min()) and float(values.max()) < 1.0  # uniform in [0, 1)
    assert float(values.mean()) == pytest.approx(0.5, abs=0.02)
    # the distance of a true triple starts near the margin (9), not near 1
    h, r, t = graph.triples[:8].T
    distance = -rotate.score_hrt(torch.stack([h, r, t], dim=1)).mean()
    assert float(distance) > 3.0
    transe = make_model(graph, KGEConfig("TransE", embedding_dim=64), 0, "cpu")
    xavier = transe.entity_representations[0]().detach()
    assert float(xavier.abs().max()) < 0.5 and float(xavier.min()) < 0.0


def test_every_rotate_grid_point_names_its_start():
    for points in (kge_grid("RotatE", "full"), kge_grid("RotatE", "toy"),
                   dbp5l_grid("RotatE", "gpu"), dbp5l_grid("RotatE", "toy")):  # fmt: skip
        assert {p["entity_initializer"] for p in points} == {"uniform"}
        assert KGEConfig(**points[0]).entity_initializer == "uniform"
    assert all("entity_initializer" not in p for p in kge_grid("TransE", "full"))
    assert KGEConfig("TransE").entity_initializer == "xavier_uniform"


def test_a_cpu_search_does_not_warn_of_pinned_memory():
    """PyKEEN pins its batches' memory by default: on the CPU torch warned "'pin_memory'
    argument is set as true but no accelerator is found" at every epoch point of a job."""
    import warnings

    from prixlm.baselines.kge import train_kge

    graph = build_graph({"en": {"train": ROWS}})
    points = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_kge(graph, KGEConfig("TransE", embedding_dim=8), [1, 2],
                  lambda epochs, model: points.append(epochs))  # fmt: skip
    assert points == [1, 2]
    assert [str(w.message) for w in caught if "pin_memory" in str(w.message)] == []
