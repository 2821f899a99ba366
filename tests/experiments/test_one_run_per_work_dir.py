"""One run of an experiment's `--work_dir` at a time: a second start (the same command in
another terminal, a cron job beside a manual run) is refused at once, naming the process
that runs there. It used to go on: each run ran again the jobs the other had not yet
recorded, beside them, and both ended `jobs failed` with the other's training refused."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from lock_holder import lock_held

#: (module, the first step of its run, replaced here: reached means the run went on)
RUNNERS = [
    ("prixlm.experiments.table1", "prepare_data"),
    ("prixlm.experiments.dbp5l", "prepare_dataset"),
    ("prixlm.experiments.ablations", "prepare_data"),
    ("prixlm.similarity.study", "check_run_settings"),
]


@pytest.mark.parametrize(("module_name", "first_step"), RUNNERS)
def test_a_second_run_of_a_work_dir_is_refused_before_any_work(
    module_name: str, first_step: str, tmp_path: Path, monkeypatch, capsys
) -> None:
    module = importlib.import_module(module_name)

    def started(*args, **kwargs):
        raise AssertionError(f"{module_name}: the second run started its work")

    monkeypatch.setattr(module, first_step, started)
    monkeypatch.setattr(module, "require_pykeen", lambda: None, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    (work / "kept.txt").write_text("the first run's file", encoding="utf-8")
    data = ["--data", str(tmp_path)] if module_name.endswith("dbp5l") else []
    reports = ["--results", str(tmp_path / "r.json"), "--docs", str(tmp_path / "r.md"),
               "--chart", str(tmp_path / "r.png")]  # fmt: skip
    if module_name.endswith("ablations"):
        reports = ["--output", str(tmp_path / "r.json")]
    with lock_held(work) as pid:
        with pytest.raises(SystemExit) as stopped:
            module.main(["--work_dir", str(work), *data, *reports])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert f"error: --work_dir {work}: process {pid} on " in error
    assert "wait until it ends" in error
    assert sorted(p.name for p in work.iterdir()) == ["kept.txt"]
    assert not (tmp_path / "r.json").exists()
