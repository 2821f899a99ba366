"""A results run's work folder goes on with the settings it was made with, or is refused."""

from __future__ import annotations

import json

import pytest

from prixlm.cli import UsageError
from prixlm.experiments.ablations import kept_runs
from prixlm.experiments.run_settings import RUN_SETTINGS_FILE, check_run_settings


def test_the_first_run_keeps_its_settings_and_a_later_one_must_match(tmp_path):
    check_run_settings(tmp_path, {"seed": 0, "languages": ["en", "de"]})
    assert json.loads((tmp_path / RUN_SETTINGS_FILE).read_text()) == {
        "seed": 0, "languages": ["en", "de"]
    }  # fmt: skip
    check_run_settings(tmp_path, {"languages": ["en", "de"], "seed": 0})
    with pytest.raises(UsageError) as raised:
        check_run_settings(tmp_path, {"seed": 1, "languages": ["en"]})
    assert str(raised.value) == (
        f"--work_dir {tmp_path} holds work made with other settings: languages ['en'] (the "
        "folder's: ['en', 'de']); seed 1 (the folder's: 0); go on with the folder's settings, "
        "or use another --work_dir"
    )


def test_a_folder_older_than_a_setting_is_named_so(tmp_path):
    """A setting the folder's run did not record (a newer version records more) was shown
    as a difference with "(the folder's: None)" and the remedy "go on with the folder's
    settings", which no option gives."""
    check_run_settings(tmp_path, {"seed": 0})
    with pytest.raises(UsageError) as raised:
        check_run_settings(tmp_path, {"seed": 0, "cldr": "Babel 2.18.0, CLDR 47"})
    assert str(raised.value) == (
        f"--work_dir {tmp_path} was made by an earlier version of this command, which did not "
        "record cldr: its work cannot be checked against them and would be done again; use "
        "another --work_dir, or remove this one"
    )


def test_ablation_runs_are_kept_for_their_languages_and_seed(tmp_path):
    output = tmp_path / "ablations.json"
    assert kept_runs(output, ["en"], 0) == {}
    output.write_text(json.dumps({"languages": ["en", "de"], "runs": {"pivot-300": {}}}))
    assert kept_runs(output, ["en", "de"], 0) == {"pivot-300": {}}  # no seed kept: seed 0
    with pytest.raises(UsageError, match=r"holds runs of languages \['en', 'de'\] and seed 0"):
        kept_runs(output, ["fi", "ja"], 0)
    with pytest.raises(UsageError, match=r"this run: \['en', 'de'\], seed 2"):
        kept_runs(output, ["en", "de"], 2)


def test_ablations_write_into_their_work_folder_by_default(tmp_path, monkeypatch):
    """The default --output was results/table1_ablations.json: a run from the repository
    reused (and added to) the committed runs instead of measuring them."""
    from prixlm.experiments import ablations

    class Stop(Exception):
        pass

    def stop(output, languages, seed):
        raise Stop(output)

    monkeypatch.setattr(ablations, "prepare_data", lambda *a, **k: {})
    monkeypatch.setattr(ablations, "kept_runs", stop)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Stop) as stopped:
        ablations.main(["--work_dir", "w"])
    assert str(stopped.value.args[0]) == "w/ablations.json"
