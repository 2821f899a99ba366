"""A path option given as `--option=~/folder` names a folder of the home folder, as the shell
reads `--option ~/folder`: the shell leaves `~` after `=` as it is, and the commands wrote
the CLDR export and the dataset to `./~/...` in the working directory, saying "wrote ~/kb"."""

from __future__ import annotations

from pathlib import Path

import pytest

from prixlm.data.cldr.export import main as export_main
from prixlm.data.dbpedia.build import main as build_main
from prixlm.data.loading import load_kb


def test_export_and_build_read_and_write_under_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    assert export_main(["--languages", "en,de", "--output_dir=~/dumps"]) == 0
    assert f"wrote {home / 'dumps'} (" in capsys.readouterr().out
    assert (home / "dumps" / "labels_de.ttl").is_file()
    argv = ["--dump_dir=~/dumps", "--output_dir=~/kb", "--no_progress"]
    assert build_main(argv) == 0
    assert list(work.iterdir()) == []  # no `./~` folder
    rows = load_kb(home / "kb", "de", split="train")
    assert len(rows) > 1000 and set(rows["subject_language"]) == {"de"}
