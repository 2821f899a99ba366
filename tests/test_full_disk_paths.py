"""A full disk on every output-writing path: one `error:` line naming the output (exit
status 2), nothing half-written under a final name, and no work folder left behind.

Weights, tokenizers and plain files fail as they do on a real full disk (`full_disk`):
safetensors and tokenizers raise errors that are no `OSError` and name no file; a plain
write raises `OSError(ENOSPC)` naming no file.
"""

from __future__ import annotations

import copy
import errno
import os

import pytest
from full_disk import full_disk, full_disk_for_tokenizers, full_disk_for_weights
from tiny_models import TINY_FACTS, official_checkpoint

from prixlm.outputs import lock as output_lock
from prixlm.outputs.atomic import atomic_folder, disk_errors

WORDS = sorted({part for fact in TINY_FACTS for part in fact})
FULL = "no space left on the device (or a file-size limit reached); free space there or choose another folder"  # fmt: skip
FAULTS = {"weights": full_disk_for_weights, "tokenizer": full_disk_for_tokenizers}


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The command's last stderr line, checked to follow no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.fixture
def kb_model(tiny_prixlm, tmp_path):
    """A tiny Prix-LM folder `kb` and a word list beside it."""
    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path / "kb")
    tokenizer.save_pretrained(tmp_path / "kb")
    (tmp_path / "words.txt").write_text("\n".join(WORDS) + "\n", encoding="utf-8")
    return tmp_path / "kb"


def test_disk_errors_name_the_folder_and_pass_other_errors():
    """torch, safetensors and tokenizers say "no space" in errors that are no OSError."""
    from safetensors import SafetensorError

    for error, code in (
        (SafetensorError("I/O error: No space left on device (os error 28)"), errno.ENOSPC),
        (RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 64"), errno.ENOSPC),
        (Exception("File too large (os error 27)"), errno.EFBIG),
    ):  # fmt: skip
        with pytest.raises(OSError) as raised, disk_errors("/out/model", "--output_dir"):
            raise error
        assert (raised.value.errno, raised.value.filename) == (code, "--output_dir /out/model")
        assert raised.value.__cause__ is error
    with pytest.raises(OSError) as raised, disk_errors("/out/model"):
        raise Exception("No space left on device")
    assert raised.value.filename == "/out/model"
    with pytest.raises(ValueError, match="other"), disk_errors("/out/model"):
        raise ValueError("other")


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_mirror_on_a_full_disk(fault, kb_model, tmp_path, monkeypatch, capsys):
    """safetensors' error was a traceback (exit 1) naming no file, and `.out.trainer` stayed."""
    from prixlm.similarity import mirror

    FAULTS[fault](monkeypatch)
    out = tmp_path / "out"
    argv = ["--model", str(kb_model), "--output_dir", str(out), "--words",
            str(tmp_path / "words.txt"), "--max_steps", "1", "--batch_size", "4"]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        mirror.main(argv)
    assert exit_info.value.code == 2
    assert _error_line(capsys) == f"error: --output_dir {out}: {FULL}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb", "words.txt"]


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_plain_mlm_on_a_full_disk(fault, kb_model, tmp_path, monkeypatch, capsys):
    """The training ran outside `user_errors`: a traceback, and `.out.trainer` stayed."""
    from prixlm.similarity import plain_mlm

    monkeypatch.setattr(plain_mlm, "kb_label_texts", lambda dataset, languages: WORDS)
    FAULTS[fault](monkeypatch)
    out = tmp_path / "out"
    argv = ["--reference", str(kb_model), "--dataset", str(tmp_path / "dataset"),
            "--languages", "en", "--output_dir", str(out), "--max_steps", "1",
            "--batch_size", "4"]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        plain_mlm.main(argv)
    assert exit_info.value.code == 2
    assert _error_line(capsys) == f"error: --output_dir {out}: {FULL}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb", "words.txt"]


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_convert_official_on_a_full_disk(fault, tiny_tokenizer, tmp_path, monkeypatch, capsys):
    from prixlm.release.convert_official import main

    source = official_checkpoint(copy.deepcopy(tiny_tokenizer), tmp_path / "official")
    FAULTS[fault](monkeypatch)
    with pytest.raises(SystemExit) as exit_info:
        main([str(source), str(tmp_path / "converted")])
    assert exit_info.value.code == 2
    assert _error_line(capsys) == f"error: DST {tmp_path / 'converted'}: {FULL}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["official"]


def test_table1_tokenizer_on_a_full_disk(tmp_path, monkeypatch, capsys):
    """tokenizers' bare `Exception('No space left on device')` was a traceback (exit 1).
    Only the tokenizer's texts are stubbed: it is trained before any split is read."""
    pytest.importorskip("pykeen")
    from prixlm.experiments import table1
    from prixlm.training import data

    rows = [{"subject": s, "relation": r, "object": o} for s, r, o in TINY_FACTS]
    monkeypatch.setattr(table1, "prepare_data", lambda *args: {"main": tmp_path / "data"})
    monkeypatch.setattr(table1, "input_digests", lambda datasets: {"main": "0" * 64})
    texts = [name for row in rows for name in row.values()]  # the tokenizer's texts
    monkeypatch.setattr(data, "tokenizer_training_texts", lambda dataset, languages: texts)
    full_disk_for_tokenizers(monkeypatch)
    work = tmp_path / "work"
    with pytest.raises(SystemExit) as exit_info:
        table1.main(["--profile", "toy", "--languages", "en,de", "--work_dir", str(work)])
    assert exit_info.value.code == 2
    assert _error_line(capsys) == f"error: tokenizer folder {work / 'tokenizer'}: {FULL}"
    assert not any("tokenizer" in p.name for p in work.iterdir())  # nor its staging


def test_a_staged_folder_names_its_output_on_a_full_disk(tmp_path, monkeypatch):
    """`atomic_folder` said only "no space left" (the staging's writes name no file)."""
    final = tmp_path / "out"
    full_disk(monkeypatch, r"/\.out\.[^/]*\.partial/")
    with pytest.raises(OSError) as raised:
        with atomic_folder(final, argument="--output_dir") as staging:
            (staging / "a.txt").write_text("x")
    assert (raised.value.errno, raised.value.filename) == (errno.ENOSPC, f"--output_dir {final}")
    assert list(tmp_path.iterdir()) == []


def test_the_cldr_export_names_its_folder_on_a_full_disk(tmp_path, monkeypatch, capsys):
    from prixlm.data.cldr.export import main

    out = tmp_path / "dumps"
    full_disk(monkeypatch, r"/\.dumps\.[^/]*\.partial/", limit=100)
    with pytest.raises(SystemExit) as exit_info:
        main(["--languages", "en,fi", "--output_dir", str(out)])
    assert exit_info.value.code == 2
    assert _error_line(capsys) == f"error: --output_dir {out}: {FULL}"
    assert list(tmp_path.iterdir()) == []


def test_the_cldr_export_s_statistics_on_a_full_stdout(tmp_path, monkeypatch, capsys):
    """The statistics were printed outside `user_errors`: a full stdout was a traceback."""
    import sys

    from prixlm.data.cldr.export import main

    class FullStdout:
        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def flush(self) -> None:
            pass

    monkeypatch.setattr(sys, "stdout", FullStdout())
    with pytest.raises(SystemExit) as exit_info:
        main(["--languages", "en", "--output_dir", str(tmp_path / "dumps")])
    assert exit_info.value.code == 2
    assert _error_line(capsys) == f"error: the statistics on stdout: {FULL}"
    assert (tmp_path / "dumps" / "labels_en.ttl").is_file()  # written before the report


def test_a_full_tmp_stops_no_writer(tmp_path, monkeypatch):
    """The file naming the lock's holder (in /tmp) only feeds another writer's message; a
    full /tmp failed every folder writer with an error naming nothing."""
    final = tmp_path / "out"
    _, holder = output_lock._lock_files(final.resolve())
    written = output_lock._write_private

    def half_written(path, text):  # a part written, then the disk is full
        written(path, text[:5])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(output_lock, "_write_private", half_written)
    with atomic_folder(final) as staging:
        (staging / "a.txt").write_text("x")
        assert not holder.exists()  # no partial file: another writer hears "another process"
    assert (final / "a.txt").read_text() == "x"


def test_a_marker_that_could_not_be_written_is_removed(tmp_path, monkeypatch):
    """The `.writing` marker beside the output, created but not written (a full disk), was
    left behind empty: the writer went on with the file lock alone and never removed it."""
    final = tmp_path / "out"
    full_disk(monkeypatch, r"/\.out\.[^/]*\.writing$")
    with atomic_folder(final) as staging:
        (staging / "a.txt").write_text("x")
        assert not any(p.name.endswith(".writing") for p in tmp_path.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
