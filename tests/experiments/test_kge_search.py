"""The PyKEEN search's early stopping (validation MRR, PyKEEN's rule) on a tiny graph."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("pykeen")
sys.path.insert(0, str(Path(__file__).parent))

from tiny_kb import write_tiny_dumps  # noqa: E402

from prixlm.baselines.kge import KGEConfig, build_graph, train_kge  # noqa: E402
from prixlm.experiments import kge_search  # noqa: E402
from prixlm.experiments.jobs import kge_job  # noqa: E402

GRID = [
    {"model": "RotatE", "embedding_dim": 8, "batch_size": 64},
    {"model": "RotatE", "embedding_dim": 16, "batch_size": 64},
]


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    from prixlm.data.dbpedia.build import main as build

    root = tmp_path_factory.mktemp("kge")
    dumps = write_tiny_dumps(root / "dumps")
    assert (
        build(["--dump_dir", str(dumps), "--output_dir", str(root / "data"), "--no_progress"]) == 0
    )
    return str(root / "data")


def _row(subject, relation, obj):
    return {"kind": "triple", "subject": subject, "relation": relation, "object": obj,
            "subject_language": "en", "object_language": "en", "all_objects": [obj]}  # fmt: skip


def test_train_kge_stops_where_on_point_says_so():
    graph = build_graph({"en": {"train": [_row("a", "r", "b"), _row("b", "r", "c")]}})
    seen = []

    def on_point(epochs, model):
        seen.append((epochs, model.training))
        return epochs >= 2

    train_kge(graph, KGEConfig("RotatE", embedding_dim=4), [1, 2, 3, 4], on_point)
    assert seen == [(1, False), (2, False)]  # evaluated in eval mode, never trained to 3


def test_search_stops_each_configuration_after_patience_points_without_gain(tiny_dataset):
    # relative_delta 10: only the first evaluation counts as a gain, so every configuration
    # stops after 1 + patience evaluations of its 8 epoch points
    record = kge_job(tiny_dataset, ["en"], GRID, [1, 2, 3, 4, 5, 6, 7, 8],
                     patience=2, relative_delta=10.0, eval_limit=8)  # fmt: skip
    epochs = [(p["embedding_dim"], p["epochs"]) for p in record["grid"]]
    assert epochs == [(8, 1), (8, 2), (8, 3), (16, 1), (16, 2), (16, 3)]
    assert [p.get("stopped_early", False) for p in record["grid"]] == [False, False, True] * 2
    assert record["early_stopping"] == {"patience": 2, "relative_delta": 10.0}
    assert record["grid_points"] == 2 and not record["grid_truncated"]
    best = max(record["grid"], key=lambda p: p["validation_mrr"])
    assert record["winner"]["epochs"] == best["epochs"]
    assert record["validation"]["en"]["mrr"] == best["validation_mrr"]
    seconds = [p["seconds"] for p in record["grid"]]
    assert seconds == sorted(seconds) and record["seconds"] > 0


def test_search_without_patience_runs_every_epoch_point(tiny_dataset):
    record = kge_job(tiny_dataset, ["en"], GRID[:1], [1, 2, 3], eval_limit=8)
    assert [p["epochs"] for p in record["grid"]] == [1, 2, 3]
    assert record["early_stopping"] is None
    assert not any(p.get("stopped_early") for p in record["grid"])


def test_kge_search_command_writes_the_record(tiny_dataset, tmp_path, capsys):
    output = tmp_path / "rotate.json"
    argv = ["--dataset", tiny_dataset, "--language", "de", "--profile", "toy",
            "--output", str(output)]  # fmt: skip
    kge_search.main(argv)
    record = json.loads(output.read_text("utf-8"))
    assert record["profile"] == "toy" and record["languages"] == ["de"]
    assert [p["epochs"] for p in record["grid"]] == [1, 2]  # the toy profile's points
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["winner"] == record["winner"]
    with pytest.raises(SystemExit) as exit_info:
        kge_search.main([*argv[:4], "--profile", "huge"])
    assert exit_info.value.code == 2
    assert "--profile 'huge'" in capsys.readouterr().err


def test_a_search_stopped_between_grid_points_goes_on_at_the_next(tiny_dataset, tmp_path):
    """Stopped while training its second grid point, the search started again trains only
    that point, and its record equals an uninterrupted search's (seconds aside)."""
    import prixlm.experiments.jobs as jobs

    arguments = {"dataset_dir": tiny_dataset, "languages": ["en"], "grid": GRID,
                 "epoch_points": [1, 2], "eval_limit": 8}  # fmt: skip
    whole = kge_job(**arguments, keep_dir=str(tmp_path / "whole"))
    trained = []

    def stopped_at_the_second(graph, config, *args, **kwargs):
        trained.append(config.embedding_dim)
        if len(trained) == 2:
            raise KeyboardInterrupt  # the machine went away
        return train_kge(graph, config, *args, **kwargs)

    jobs.train_kge, real = stopped_at_the_second, jobs.train_kge
    try:
        with pytest.raises(KeyboardInterrupt):
            kge_job(**arguments, keep_dir=str(tmp_path / "stopped"))
        kept = json.loads((tmp_path / "stopped" / "kge_search.json").read_text("utf-8"))
        assert kept["points_done"] == 1 and len(kept["search"]) == 2
        trained.clear()
        jobs.train_kge = lambda graph, config, *a, **k: (
            trained.append(config.embedding_dim) or train_kge(graph, config, *a, **k)
        )
        resumed = kge_job(**arguments, keep_dir=str(tmp_path / "stopped"))
    finally:
        jobs.train_kge = real
    assert trained == [16]  # only the second grid point
    for key in ("winner", "validation", "test", "by_protocol", "grid_truncated"):
        assert resumed[key] == whole[key], key
    without_seconds = [{k: v for k, v in p.items() if k != "seconds"} for p in resumed["grid"]]
    assert without_seconds == [
        {k: v for k, v in p.items() if k != "seconds"} for p in whole["grid"]
    ]
    assert resumed["grid"][2]["seconds"] >= kept["budget_seconds"]  # the clock went on
    assert resumed["seconds"] >= kept["wall_seconds"] > 0  # the job's seconds over both starts
    other = kge_job(**{**arguments, "epoch_points": [1]}, keep_dir=str(tmp_path / "stopped"))
    assert [p["epochs"] for p in other["grid"]] == [1, 1]  # other arguments: searched anew


def test_a_search_cut_by_its_time_limit_goes_on_under_a_larger_one(tiny_dataset, tmp_path):
    """Cut by its time limit while training the second grid point, the search is done for
    the same limit, not for another one; started again with a larger limit it trains only
    the second point and its record equals an uninterrupted search's (seconds aside)."""
    import prixlm.experiments.jobs as jobs
    from prixlm.experiments.jobs import job_done, job_plan
    from prixlm.experiments.time_budget import CLOCKS

    now = [0.0]  # the budget's clock: 100 s pass when the second grid point starts
    trained = []

    def training(graph, config, *args, **kwargs):
        trained.append(config.embedding_dim)
        if config.embedding_dim == 16:
            now[0] += 100.0
        return train_kge(graph, config, *args, **kwargs)

    arguments = {"dataset_dir": tiny_dataset, "languages": ["en"], "grid": GRID,
                 "epoch_points": [1, 2], "eval_limit": 8, "budget_clock": "test"}  # fmt: skip
    whole = kge_job(**{**arguments, "budget_clock": "wall"})
    CLOCKS["test"], jobs.train_kge, real = (lambda: now[0]), training, jobs.train_kge
    try:
        cut = kge_job(**arguments, time_limit=50, keep_dir=str(tmp_path / "kept"))
        assert cut["grid_truncated"] and cut["time_limit_s"] == 50 and trained == [8, 16]
        assert [p["embedding_dim"] for p in cut["grid"]] == [8, 8, 16]  # cut at 16's first point
        record = tmp_path / "jobs" / "kge-RotatE-en.json"  # <work_dir>/jobs/<name>.json
        record.parent.mkdir()
        planned = {**arguments, "time_limit": 50, "keep_dir": str(tmp_path / "kept")}
        record.write_text(json.dumps({**cut, "plan": job_plan(planned, tmp_path)}), "utf-8")
        assert job_done(record, planned) and not job_done(record, {**planned, "time_limit": 500})
        assert not job_done(record.with_name("missing.json"), planned)
        assert job_plan(planned, tmp_path)["keep_dir"] == "<work_dir>/kept"
        trained.clear()
        longer = kge_job(**arguments, time_limit=500, keep_dir=str(tmp_path / "kept"))
        assert trained == [16] and not longer["grid_truncated"]
        trained.clear()  # finished: another limit runs the job again, which trains nothing
        again = kge_job(**arguments, time_limit=5000, keep_dir=str(tmp_path / "kept"))
        assert trained == [] and again["winner"] == longer["winner"]
    finally:
        jobs.train_kge = real
        del CLOCKS["test"]
    for key in ("winner", "validation", "test", "by_protocol"):
        assert longer[key] == whole[key], key
    from prixlm.experiments.paired import query_values

    per_query = query_values(whole["test"]["en"], "ours")  # test keeps its per-query ranks
    assert len(per_query["mrr"]) == whole["test"]["en"]["num_queries"] == 8
    for metric in ("hits_at_1", "hits_at_10", "mrr"):
        assert per_query[metric].mean() == pytest.approx(whole["test"]["en"][metric])
    assert "ranks" not in whole["validation"]["en"]
    assert [{k: v for k, v in p.items() if k != "seconds"} for p in longer["grid"]] == [
        {k: v for k, v in p.items() if k != "seconds"} for p in whole["grid"]
    ]


def test_a_search_kept_past_a_smaller_limit_is_searched_anew(tiny_dataset, tmp_path):
    """Its kept seconds already past the new limit, the kept search is not reused (it would
    report points the limit did not allow): searched anew, it stops at the first epoch
    point past the limit, as a search under that limit from the start does."""
    import prixlm.experiments.jobs as jobs
    from prixlm.experiments.time_budget import CLOCKS

    now, trained = [0.0], []

    def training(graph, config, *args, **kwargs):
        trained.append(config.embedding_dim)
        if len(trained) == 2:
            raise KeyboardInterrupt  # the machine went away in the second point
        now[0] += 100.0
        return train_kge(graph, config, *args, **kwargs)

    arguments = {"dataset_dir": tiny_dataset, "languages": ["en"], "grid": GRID,
                 "epoch_points": [1, 2], "eval_limit": 8, "budget_clock": "test",
                 "keep_dir": str(tmp_path / "kept")}  # fmt: skip
    CLOCKS["test"], jobs.train_kge, real = (lambda: now[0]), training, jobs.train_kge
    try:
        with pytest.raises(KeyboardInterrupt):
            kge_job(**arguments, time_limit=1000)
        trained.clear()
        resumed = kge_job(**arguments, time_limit=50)
    finally:
        jobs.train_kge = real
        del CLOCKS["test"]
    assert trained == [8] and resumed["grid_truncated"]
    assert [(p["embedding_dim"], p["epochs"]) for p in resumed["grid"]] == [(8, 1)]
    assert resumed["winner"]["embedding_dim"] == 8


def test_a_grid_point_trained_alone_equals_the_same_point_in_the_whole_search(tiny_dataset):
    """Each point is seeded afresh, so `--points` runs of disjoint points can split a search."""
    arguments = {"dataset_dir": tiny_dataset, "languages": ["en"], "epoch_points": [1, 2],
                 "eval_limit": 8}  # fmt: skip
    whole = kge_job(grid=GRID, **arguments)
    alone = kge_job(grid=GRID[1:], **arguments)

    def without_seconds(points):
        return [{k: v for k, v in p.items() if k != "seconds"} for p in points]

    assert without_seconds(alone["grid"]) == without_seconds(whole["grid"][2:])
    assert len({p["validation_mrr"] for p in whole["grid"]}) > 1  # the points differ


def test_kge_search_points_selects_grid_positions(tiny_dataset, tmp_path, capsys):
    argv = ["--dataset", tiny_dataset, "--language", "en", "--profile", "toy", "--points", "1"]
    record = kge_search.main(argv)
    assert record["points"] == [1] and record["grid_points"] == 1
    assert record["winner"]["embedding_dim"] == 16  # the toy grid's only point
    capsys.readouterr()
    for bad, message in (("2", "--points [2]: the RotatE grid has points 1 to 1"),
                         ("a,1", "argument --points: 'a,1': expected grid positions like 3,4")):  # fmt: skip
        with pytest.raises(SystemExit) as exit_info:
            kge_search.main([*argv[:-1], bad])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


def test_a_search_whose_clock_passes_its_limit_at_the_last_point_is_complete(tiny_dataset):
    """Past the last grid point's last epoch point nothing is cut: the record said
    grid_truncated, the docs "cut by its time limit", and a larger limit trained it again."""
    import prixlm.experiments.jobs as jobs
    from prixlm.experiments.time_budget import CLOCKS

    now = [0.0]

    def training(*args, **kwargs):
        now[0] += 100.0  # every point takes longer than the limit
        return train_kge(*args, **kwargs)

    CLOCKS["test"], jobs.train_kge, real = (lambda: now[0]), training, jobs.train_kge
    try:
        record = kge_job(dataset_dir=tiny_dataset, languages=["en"], grid=GRID[:1],
                         epoch_points=[1], eval_limit=8, budget_clock="test", time_limit=50)  # fmt: skip
    finally:
        jobs.train_kge = real
        del CLOCKS["test"]
    assert not record["grid_truncated"] and len(record["grid"]) == 1


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--grid_points", "0"),
        ("--grid_points", "-1"),
        ("--time_limit", "0"),
        ("--time_limit", "-5"),
    ],
)
def test_kge_search_refuses_a_count_or_limit_below_one(tmp_path, capsys, option, value):
    """`--grid_points -1` searched every point but the last (a slice), `0` none (an
    IndexError traceback); `--time_limit 0` ran the profile's limit: refused before any work."""
    argv = ["--dataset", str(tmp_path), "--language", "de", "--profile", "toy", option, value]
    with pytest.raises(SystemExit) as exit_info:
        kge_search.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and "must be" in err and "Traceback" not in err
