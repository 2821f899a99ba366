"""Two demos into one `--output_dir`: the second stops before it touches anything (it used
to export and build again and delete the first one's checkpoints before training refused)."""

from __future__ import annotations

import pytest
from lock_holder import lock_held

pytest.importorskip("babel")


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
    with lock_held(tmp_path) as pid, pytest.raises(SystemExit) as stopped:
        main(["--output_dir", str(tmp_path), "--languages", "en,de", "--max_steps", "2"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith(f"error: --output_dir {tmp_path.resolve()}: process {pid} ")
    assert (checkpoint / "model.safetensors").read_bytes() == b"the first demo's weights"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run"]  # nothing exported


def test_the_demo_holds_its_output_dir_and_training_its_run_folder(tmp_path, monkeypatch) -> None:
    """The demo's lock of `--output_dir` leaves training's own lock of `run/` to work."""
    import prixlm.data.cldr.export
    import prixlm.data.dbpedia.build
    import prixlm.training.pretrain
    from prixlm.demo import main
    from prixlm.outputs.lock import _held, writer_lock

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
