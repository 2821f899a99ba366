"""Outputs never replace what the command reads, and are refused before any work: on a tiny
`make demo` output (`tests/demo_output.py`), one `error:` line, exit status 2, nothing
printed or written."""

from __future__ import annotations

import errno
import hashlib
import importlib

import pytest

#: (module, argv with {root} for the demo output, what the one error line must contain)
CASES = [
    # each exited 0 having replaced the dataset's shard, the model's config or weights
    ("prixlm.complete",
     "--model {root}/run/model --dataset {root}/dataset --target_language ja --output {root}/dataset/en/train.parquet",
     "--output {root}/dataset/en/train.parquet: inside --dataset {root}/dataset"),
    ("prixlm.complete",
     "--model {root}/run/model --dataset {root}/dataset --target_language ja --output {root}/new.nt --tsv {root}/run/model/model.safetensors",
     "--tsv {root}/run/model/model.safetensors: inside --model {root}/run/model"),
    ("prixlm.link_prediction.evaluate_lp",
     "--model {root}/run/model --dataset {root}/dataset --languages en --output {root}/run/model/config.json",
     "--output {root}/run/model/config.json: inside --model {root}/run/model"),
    # refused only after the whole evaluation (its table printed first)
    ("prixlm.link_prediction.evaluate_lp",
     "--model {root}/run/model --dataset {root}/dataset --languages en --limit 2 --output {root}/run",
     "a folder is there; a file is written"),
    # evaluated nothing, rc 0, or took "," as every split
    ("prixlm.link_prediction.evaluate_lp",
     "--model {root}/run/model --dataset {root}/dataset --languages , --output {root}/e.json",
     "--languages ',': no language given"),
    ("prixlm.complete",
     "--model {root}/run/model --dataset {root}/dataset --target_language ja --target_splits , --output {root}/n.nt",
     "--target_splits ',': names none"),
    # refused only when the finished release was to be uploaded, after the training
    ("train", "--dataset {root}/dataset --languages en --output_dir {root}/run3 --push_to_hub true --hub_model_id bad//id",
     "--hub_model_id 'bad//id': not a Hub repo id"),
]  # fmt: skip


def _digests(root) -> dict[str, str]:
    return {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in ("dataset", "run/model")
        for path in sorted((root / folder).rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize(("module", "argv", "message"), CASES)
def test_an_output_on_an_input_is_refused_before_any_work(
    tiny_demo_output, capsys, module, argv, message, hub_online
):
    root = tiny_demo_output
    before = _digests(root)
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(importlib.import_module(module).main(argv.format(root=root).split()))
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and message.format(root=root) in lines[0], err
    assert out == "" and _digests(root) == before


def test_completion_writes_its_two_files_as_a_pair(tiny_demo_output, tmp_path, monkeypatch):
    """A full disk while writing the TSV left the new `.nt` beside the earlier run's TSV,
    and the error named no file."""
    from prixlm.completion import output
    from prixlm.completion.output import write_proposals

    nt, tsv = tmp_path / "new.nt", tmp_path / "new.tsv"
    nt.write_text("earlier run\n", encoding="utf-8")
    tsv.write_text("earlier run\n", encoding="utf-8")

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output, "ntriples_line", lambda proposal: "new run\n")
    monkeypatch.setattr(output, "tsv_row", full_disk)
    with pytest.raises(OSError) as error_info:
        write_proposals([object()], nt, tsv)
    assert str(tsv) in str(error_info.value)  # the file is named
    assert nt.read_text(encoding="utf-8") == tsv.read_text(encoding="utf-8") == "earlier run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.nt", "new.tsv"]  # no staging
    monkeypatch.setattr(output, "ntriples_line", full_disk)  # the .nt's error names the .nt
    with pytest.raises(OSError, match=r"--output .*new\.nt") as error_info:
        write_proposals([object()], nt, tsv)
    assert "new.tsv" not in str(error_info.value)
