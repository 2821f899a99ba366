"""Without PyKEEN (the `[baselines]` extra), the commands that train KGE baselines stop
before any work with how to install it (table1 used to train Prix-LM for minutes first)."""

from __future__ import annotations

import importlib.util

import pytest

from prixlm.experiments import dbp5l, kge_search, table1


@pytest.fixture
def no_pykeen(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pykeen" else real(name, *a)
    )


@pytest.mark.parametrize(
    "main, argv",
    [
        (table1.main, ["--profile", "toy", "--work_dir", "{tmp}/t1"]),
        (dbp5l.main, ["--profile", "toy", "--data", "{tmp}", "--work_dir", "{tmp}/d5"]),
        (kge_search.main, ["--dataset", "{tmp}", "--language", "en", "--profile", "toy"]),
    ],
    ids=["table1", "dbp5l", "kge_search"],
)
def test_a_missing_pykeen_is_one_line_before_any_work(no_pykeen, main, argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main([a.format(tmp=tmp_path) for a in argv])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the KGE baselines need PyKEEN") and "prixlm[baselines]" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written


def test_dbp5l_no_run_needs_no_pykeen(no_pykeen, tmp_path, capsys):
    """Rendering finished jobs (`--no_run`) trains nothing: the layout check comes first."""
    with pytest.raises(SystemExit):
        dbp5l.main(["--profile", "toy", "--data", str(tmp_path), "--no_run"])
    assert "PyKEEN" not in capsys.readouterr().err
