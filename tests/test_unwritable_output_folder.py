"""An output file in a folder that cannot be written (read-only, another user's) is refused
before the work, naming the option and the path: evaluate_lp, complete and measure wrote
their report only after the evaluation (minutes to hours), then failed naming the hidden
staging file, and the results were lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from full_disk import unwritable


def _commands(demo: Path, output: Path) -> dict[str, tuple[str, list[str]]]:
    model, dataset = str(demo / "run" / "model"), str(demo / "dataset")
    return {
        "evaluate_lp": ("prixlm.link_prediction.evaluate_lp", [
            "--model", model, "--dataset", dataset, "--languages", "en", "--limit", "2",
            "--num_beams", "2", "--device", "cpu", "--output", str(output)]),
        "complete": ("prixlm.complete", [
            "--model", model, "--dataset", dataset, "--target_language", "de", "--limit", "2",
            "--num_beams", "2", "--device", "cpu", "--no_progress", "--output",
            str(output.with_suffix(".nt"))]),
        "measure": ("prixlm.completion.measure", [
            "--model", model, "--dataset", dataset, "--target_language", "de",
            "--num_beams", "2", "--max_per_pair", "2", "--device", "cpu", "--output",
            str(output)]),
    }  # fmt: skip


@pytest.mark.parametrize("command", ["evaluate_lp", "complete", "measure"])
def test_an_output_folder_that_cannot_be_written_is_refused_before_the_work(
    command, tiny_demo_output, tmp_path, monkeypatch, capsys
) -> None:
    import importlib

    import prixlm.complete
    import prixlm.model_loading

    folder = tmp_path / "reports"
    folder.mkdir()
    module, argv = _commands(tiny_demo_output, folder / "report.json")[command]
    loads = []
    real_load = prixlm.model_loading.load_prixlm

    def counted_load(*args, **kwargs):
        loads.append(args[0])
        return real_load(*args, **kwargs)

    monkeypatch.setattr(prixlm.model_loading, "load_prixlm", counted_load)
    unwritable(monkeypatch, folder)
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"error: --output {folder}/report."), error
    assert f"Permission denied (no file can be written in {folder})" in error
    assert loads == []  # refused before the model loaded, not after the evaluation
    assert list(folder.iterdir()) == []  # no probe left behind


def test_a_writable_folder_keeps_no_probe_and_a_stale_staging_is_no_refusal(tmp_path) -> None:
    """The probe is removed; a file of its name (the staging a killed run of the same PID
    left, as a container's processes often have one) is no refusal, and is replaced when
    the output is written."""
    from prixlm.outputs.atomic import (
        check_output_file,
        check_writable_folder,
        partial_path,
        write_json,
    )

    folder, run = tmp_path / "reports", tmp_path / "run"
    folder.mkdir()
    run.mkdir()
    assert check_output_file(folder / "report.json", "--output") == folder / "report.json"
    assert check_writable_folder(run, "--output_dir") == run
    assert check_writable_folder(tmp_path / "new", "--output_dir") == tmp_path / "new"
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["reports", "run"]
    stale = partial_path(folder / "report.json")
    stale.write_text("cut short", encoding="utf-8")
    assert check_output_file(folder / "report.json", "--output") == folder / "report.json"
    write_json({"hits_at_1": 0.5}, folder / "report.json", "--output")
    assert [path.name for path in folder.iterdir()] == ["report.json"]


def test_a_device_or_a_pipe_is_refused_not_replaced(tmp_path) -> None:
    """`--output /dev/null` (root may write `/dev`) or a FIFO: the output was renamed over
    it, leaving a regular file where the device or pipe was; `/dev/stdout` (a link to a
    pipe) failed naming `/proc/<pid>/fd`. Refused, naming the path, and left as it is."""
    import os
    import stat

    from prixlm.cli import UsageError
    from prixlm.outputs.atomic import check_output_file, write_json

    fifo, link = tmp_path / "out.json", tmp_path / "stdout"
    os.mkfifo(fifo)
    link.symlink_to(fifo)
    for path in (fifo, link):
        with pytest.raises(UsageError) as refused:
            check_output_file(path, "--output")
        assert str(refused.value) == (
            f"--output {path}: not a regular file (a device, a pipe or a socket); the output "
            "is written to a file, then renamed over this path: give a file path"
        )
    with pytest.raises(UsageError, match="not a regular file"):
        write_json({"hits_at_1": 0.5}, fifo, "--output")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.json", "stdout"]


def test_a_training_folder_is_checked_by_its_own_limits(tmp_path) -> None:
    """`--output_dir` where a file is: refused naming the option (it passed, and the Trainer's
    `makedirs` failed with `[Errno 17] File exists` after the model was built and the data
    tokenised). A folder whose name is long but valid (the probe's name added the host and
    PID to it: past NAME_MAX) is writable, new or made: it was refused as unwritable."""
    import os

    from prixlm.outputs.atomic import _writer, check_writable_folder

    taken = tmp_path / "run"
    taken.write_text("not a folder", encoding="utf-8")
    with pytest.raises(NotADirectoryError) as refused:
        check_writable_folder(taken, "--output_dir")
    assert str(refused.value) == f"--output_dir {taken}: a file is there; a folder is written"
    name_max = os.pathconf(tmp_path, "PC_NAME_MAX")
    name = "r" * (name_max - len(_writer()) - 4)  # fits; `.{name}.{writer}.probe` does not
    assert check_writable_folder(tmp_path / name, "--output_dir") == tmp_path / name
    (tmp_path / name).mkdir()
    assert check_writable_folder(tmp_path / name, "--output_dir") == tmp_path / name
    assert sorted(path.name for path in tmp_path.rglob("*")) == [name, "run"]
