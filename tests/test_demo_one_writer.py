"""Two demos into one `--output_dir`: the second stops before it touches anything (it used
to export and build again and delete the first one's checkpoints before training refused)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("babel")

ROOT = Path(__file__).resolve().parents[1]
HOLD = """
import sys
from prixlm.atomic_output import writer_lock

with writer_lock(sys.argv[1], argument="--output_dir"):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes it
"""


def test_a_second_demo_into_one_output_dir_stops_before_any_work(
    tmp_path, capsys, monkeypatch
) -> None:
    import prixlm.data.cldr.export
    from prixlm.demo import main

    def export_cldr_kb(*args, **kwargs):  # the demo's first write (minutes of work follow)
        raise AssertionError("the second demo went on: it exported the CLDR dumps")

    monkeypatch.setattr(prixlm.data.cldr.export, "export_cldr_kb", export_cldr_kb)

    checkpoint = tmp_path / "run" / "checkpoint-5"
    checkpoint.mkdir(parents=True)  # the first demo's
    (checkpoint / "model.safetensors").write_bytes(b"the first demo's weights")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SystemExit) as stopped:
            main(["--output_dir", str(tmp_path), "--languages", "en,de", "--max_steps", "2"])
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith(f"error: --output_dir {tmp_path.resolve()}: process {holder.pid} ")
    assert (checkpoint / "model.safetensors").read_bytes() == b"the first demo's weights"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run"]  # nothing exported


def test_the_demo_holds_its_output_dir_and_training_its_run_folder(tmp_path, monkeypatch) -> None:
    """The demo's lock of `--output_dir` leaves training's own lock of `run/` to work."""
    import prixlm.data.cldr.export
    import prixlm.data.dbpedia.build
    import prixlm.training.pretrain
    from prixlm.demo import main
    from prixlm.output_lock import _held, writer_lock

    held = []

    def pretrain(run, *args, **kwargs):
        with writer_lock(run.training.output_dir, argument="--output_dir"):
            held.append(sorted(str(path) for path in _held))
        raise KeyboardInterrupt  # stop the demo here: the locks are what is checked

    monkeypatch.setattr(prixlm.data.cldr.export, "export_cldr_kb", lambda *a, **k: {})
    monkeypatch.setattr(prixlm.data.dbpedia.build, "build_dataset", lambda *a, **k: None)
    monkeypatch.setattr(prixlm.training.pretrain, "pretrain", pretrain)
    with pytest.raises(SystemExit, match="130"):  # Ctrl-C: "interrupted", exit 130
        main(["--output_dir", str(tmp_path), "--languages", "en,de", "--max_steps", "2"])
    assert held == [sorted([str(tmp_path.resolve()), str((tmp_path / "run").resolve())])]
    assert not _held  # both released
