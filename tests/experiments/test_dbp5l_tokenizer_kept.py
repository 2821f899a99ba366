"""`make dbp5l` started again after the profile's `tokenizer_vocab_size` changed: the shared
tokenizer is trained again, and the Prix-LM jobs with it (their finished releases, trained
with the first tokenizer, were kept and the results stated the new size). It starts from a
copy of the session's finished toy run (`dbp5l_toy_run`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pykeen")

from prixlm.experiments import dbp5l, dbp5l_profiles  # noqa: E402


def _vocabulary(folder: Path) -> int:
    return len(json.loads((folder / "tokenizer.json").read_text("utf-8"))["model"]["vocab"])


def test_new_vocabulary_size_trains_tokenizer_and_prixlm_jobs_again(
    dbp5l_toy_run, tmp_path, monkeypatch, capsys
):
    root, _, _ = dbp5l_toy_run  # a finished toy run with the profile's size: its copy
    work = tmp_path / "work"
    shutil.copytree(root / "work", work)
    docs = tmp_path / "results.md"
    docs.write_text("# Results\n", "utf-8")
    argv = ["--profile", "toy", "--data", str(root / "layout"),
            "--work_dir", str(work), "--results", str(tmp_path / "dbp5l.json"),
            "--docs", str(docs), "--workers", "1"]  # fmt: skip
    dbp5l.main(argv)  # the copy resumed as it is: every job kept, nothing trained
    assert "8 of 8 jobs already done" in capsys.readouterr().out
    first = _vocabulary(work / "tokenizer")
    assert first > 80  # the toy texts give more pieces than the size set below

    monkeypatch.setitem(dbp5l_profiles.PROFILES["toy"], "tokenizer_vocab_size", 80)
    capsys.readouterr()
    dbp5l.main(argv)
    printed = capsys.readouterr().out
    assert "4 of 8 jobs already done" in printed  # the KGE searches only
    assert (  # said: each Prix-LM job's plan names the tokenizer
        "  run again, their records having other settings: single-en, single-ja, all-links, "
        "all-nolinks\n" in printed
    )
    assert _vocabulary(work / "tokenizer") == 80
    for name in ("single-en", "single-ja", "all-links", "all-nolinks"):
        assert _vocabulary(work / "runs" / name / "model") == 80, name
    saved = json.loads((tmp_path / "dbp5l.json").read_text("utf-8"))
    assert saved["profile"]["tokenizer_vocab_size"] == 80

    dbp5l.main(argv)  # nothing changed since: nothing trained again
    assert "8 of 8 jobs already done" in capsys.readouterr().out
