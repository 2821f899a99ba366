"""What a kept run is reused for: an ablation run in `--output` for its variant's settings
and data (it was kept for the languages and seed only: an edited variant reported the old
numbers under its new settings), a KGE search for a time limit its seconds fit in (a
smaller limit reported grid points that ran past it, with that limit beside them)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tiny_kb import write_tiny_dumps  # noqa: E402

GRID = [
    {"model": "RotatE", "embedding_dim": 8, "batch_size": 64},
    {"model": "RotatE", "embedding_dim": 16, "batch_size": 64},
]


def test_ablation_runs_are_kept_for_their_settings_and_data(tmp_path, monkeypatch, capsys):
    from prixlm.experiments import ablations

    work = tmp_path / "w"
    datasets = {"main": work / "data", "pivot": work / "data_links_en"}
    for folder in datasets.values():
        folder.mkdir(parents=True)
        (folder / "README.md").write_text("card", "utf-8")
    tokenizer = work / "tokenizer"
    tokenizer.mkdir()
    (tokenizer / "tokenizer.json").write_text("{}", "utf-8")
    monkeypatch.setattr(ablations, "prepare_data", lambda *a, **k: datasets)
    monkeypatch.setattr(ablations, "prepare_tokenizer", lambda *a, **k: tokenizer)
    trained, digests = [], []

    def job(dataset_dir, run_dir, languages, variant, tokenizer_dir, settings, **kwargs):
        trained.append(Path(run_dir).name)
        digests.append((kwargs.get("data_sha256"), kwargs.get("tokenizer_sha256")))
        return {"validation": {"en": {"mrr": 0.5}}, "settings": dict(settings), "release": "r"}

    monkeypatch.setattr(ablations, "prixlm_job", job)
    argv = ["--languages", "en,de", "--work_dir", str(work),
            "--variants", "links-all-300,links-pivot-300"]  # fmt: skip

    def run() -> list[str]:
        trained.clear()
        ablations.main(argv)
        return sorted(trained)

    assert run() == ["links-all-300", "links-pivot-300"]
    assert run() == []  # the same settings and data: kept
    monkeypatch.setitem(ablations.VARIANTS, "links-pivot-300", ("pivot", {"max_steps": 301}))
    assert run() == ["links-pivot-300"]  # an edited variant
    assert "links-pivot-300: the run kept in --output" in capsys.readouterr().out
    monkeypatch.setitem(ablations.DEMO, "learning_rate", 5e-4)
    assert run() == ["links-all-300", "links-pivot-300"]  # a setting every variant shares
    (datasets["main"] / "README.md").write_text("another card", "utf-8")
    assert run() == ["links-all-300"]  # its dataset built again, otherwise
    (tokenizer / "tokenizer.json").write_text('{"a": 1}', "utf-8")
    assert run() == ["links-all-300", "links-pivot-300"]
    assert run() == []
    assert all(data and tokenizer for data, tokenizer in digests)  # the kept trainings' keys


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    pytest.importorskip("pykeen")
    from prixlm.data.dbpedia.build import main as build

    root = tmp_path_factory.mktemp("kge_limit")
    dumps = write_tiny_dumps(root / "dumps")
    assert build(["--dump_dir", str(dumps), "--output_dir", str(root / "data"),
                  "--no_progress"]) == 0  # fmt: skip
    return str(root / "data")


def test_a_kept_search_past_a_smaller_time_limit_is_searched_anew(
    tiny_dataset, tmp_path, monkeypatch
):
    """Finished without a limit (100 budget seconds a grid point), the search started again
    under a 150 s limit reports what a search under that limit finds, not the kept one."""
    import prixlm.experiments.jobs as jobs
    from prixlm.baselines.kge import train_kge
    from prixlm.experiments.time_budget import CLOCKS

    now, trained = [0.0], []

    def training(graph, config, *args, **kwargs):
        trained.append(config.embedding_dim)
        now[0] += 100.0
        return train_kge(graph, config, *args, **kwargs)

    monkeypatch.setitem(CLOCKS, "test", lambda: now[0])
    monkeypatch.setattr(jobs, "train_kge", training)
    arguments = {"dataset_dir": tiny_dataset, "languages": ["en"], "grid": GRID,
                 "epoch_points": [1, 2], "eval_limit": 8, "budget_clock": "test",
                 "keep_dir": str(tmp_path / "kept")}  # fmt: skip
    whole = jobs.kge_job(**arguments)
    assert trained == [8, 16] and not whole["grid_truncated"]
    assert max(point["seconds"] for point in whole["grid"]) == 200
    trained.clear()
    limited = jobs.kge_job(**arguments, time_limit=150)
    assert trained == [8, 16]  # searched anew: cut at 16's first epoch point
    assert limited["grid_truncated"] and limited["time_limit_s"] == 150
    assert [(p["embedding_dim"], p["epochs"]) for p in limited["grid"]] == [(8, 1), (8, 2), (16, 1)]
    trained.clear()  # a limit the kept seconds (100) fit in: it goes on at the next point
    longer = jobs.kge_job(**arguments, time_limit=1000)
    assert trained == [16] and not longer["grid_truncated"]
    assert longer["winner"] == whole["winner"]
