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
            "--num_beams", "2", "--device", "cpu", "--output", str(output)]),
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
    monkeypatch.setattr(prixlm.complete, "load_prixlm", counted_load)
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
