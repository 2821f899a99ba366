"""`python -m prixlm.publish`: an option the chosen upload would not read is a usage error.

`--model_id` without `--space`, `--dataset_id` with `--keep_card` and `--keep_card` with
`--space` were accepted and dropped (a dry run exited 0), so the upload was not what the
command line said. Each is refused (exit 2, naming both options), before any work; the
combinations each upload reads still run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hub_recorder import record_hub_calls
from space_server import SPACE_DIR

from prixlm.publish import main
from prixlm.release.model_card import write_model_card

#: A card that is not a Prix-LM card (no `prix-lm` tag): uploaded as it is.
FOREIGN_CARD = "---\nlicense: mit\n---\n# my model\n"
DATASET_CARD = "---\nconfigs:\n- config_name: en\n  data_files: en/train.parquet\n---\n# kb\n"


@pytest.fixture
def hub(monkeypatch):
    return record_hub_calls(monkeypatch)


@pytest.fixture
def foreign_model(tmp_path) -> Path:
    """A model folder (config, weights) whose card is the user's own, not rendered again."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "README.md").write_text(FOREIGN_CARD, encoding="utf-8")
    return folder


@pytest.fixture
def dataset_folder(tmp_path) -> Path:
    folder = tmp_path / "kb"
    (folder / "en").mkdir(parents=True)
    (folder / "en" / "train.parquet").write_bytes(b"rows")
    (folder / "README.md").write_text(DATASET_CARD, encoding="utf-8")
    return folder


@pytest.fixture
def space_folder(tmp_path) -> Path:
    folder = tmp_path / "space"
    shutil.copytree(SPACE_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def _refused(argv: list[str], capsys) -> str:
    """The usage error `main(argv)` exits with (status 2): its stderr."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(("option", "value"), [("--model_id", "o/m"), ("--model_revision", "v1")])
def test_space_options_without_space_are_refused(foreign_model, hub, capsys, option, value):
    """`--model_id` without `--space` was dropped (a dry run exited 0), while
    `--model_revision` was refused: both name `--space` now."""
    err = _refused([str(foreign_model), "me/m", option, value, "--dry_run"], capsys)
    assert f"{option} goes with --space" in err
    assert "usage:" in err and hub.repos == hub.commits == []


def test_dataset_id_with_keep_card_is_refused(foreign_model, hub, capsys):
    """`--dataset_id` only goes into the card rendered for REPO_ID; `--keep_card` sent the
    folder's card without it and said nothing."""
    argv = [str(foreign_model), "me/m", "--keep_card", "--dataset_id", "org/ds", "--dry_run"]
    err = _refused(argv, capsys)
    assert "--dataset_id does not go with --keep_card" in err
    assert "uploads DIR's card as it is" in err


def test_keep_card_with_space_is_refused(space_folder, hub, capsys):
    """The Space card was rewritten for `--model_id` whatever `--keep_card` said."""
    argv = [str(space_folder), "me/sp", "--space", "--model_id", "me/m", "--keep_card"]
    err = _refused([*argv, "--dry_run"], capsys)
    assert "--keep_card does not go with --space" in err and "--model_id (models:)" in err
    assert main(argv[:-1] + ["--dry_run"]) == 0  # without it: the dry run
    assert "serves me/m" in capsys.readouterr().out


def test_dataset_id_where_no_prixlm_card_names_it_is_refused(
    foreign_model, dataset_folder, hub, capsys
):
    """A dataset folder's card and a model card that is not a Prix-LM card are uploaded
    without `--dataset_id` (only a Prix-LM model card is rendered with it): refused."""
    err = _refused([str(dataset_folder), "me/kb", "--dataset_id", "org/ds", "--dry_run"], capsys)
    assert f"--dataset_id goes on a Prix-LM model card: DIR {dataset_folder} is a dataset" in err
    err = _refused([str(foreign_model), "me/m", "--dataset_id", "org/ds", "--dry_run"], capsys)
    assert f"DIR {foreign_model} is a model folder whose card is not a Prix-LM card" in err
    assert hub.repos == hub.commits == []
    # without it, both dry runs
    assert main([str(dataset_folder), "me/kb", "--dry_run"]) == 0
    assert main([str(foreign_model), "me/m", "--keep_card", "--dry_run"]) == 0
    assert main([str(foreign_model), "me/m", "--dry_run"]) == 0


def test_the_combinations_each_upload_reads_still_run(
    released, tmp_path, space_folder, hub, capsys
):
    """A Prix-LM model card names `--dataset_id`; `--space` reads `--model_id`,
    `--model_revision` and `--dataset_id`: each dry run exits 0 and sends nothing."""
    folder = tmp_path / "prixlm-tiny"
    shutil.copytree(released[2], folder)
    write_model_card(folder, repo_id="me/prixlm-tiny")
    assert main([str(folder), "me/prixlm-tiny", "--dataset_id", "org/ds", "--dry_run"]) == 0
    assert "datasets: ['org/ds']" in capsys.readouterr().out
    space = [str(space_folder), "me/sp", "--space", "--model_id", "me/m"]
    assert main([*space, "--model_revision", "v1", "--dataset_id", "org/ds", "--dry_run"]) == 0
    assert "serves me/m at v1" in capsys.readouterr().out
    assert hub.repos == hub.commits == []
