"""Command lines in a terminal or locale that is not UTF-8.

A Latin-1 terminal (`PYTHONIOENCODING=latin-1`, a Latin-1 locale) cannot show a Japanese
label: what cannot be encoded is written as a backslash escape, never a `UnicodeEncodeError`
after the work. A file system encoding that is not UTF-8 (a C locale with `PYTHONUTF8=0`)
cannot hand a non-ASCII path to tokenizers, pyarrow or DuckDB: the command says so before
any work, with exit status 2.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
LATIN1 = {"PYTHONIOENCODING": "latin-1"}
C_LOCALE = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
UNSET = ("PYTHONIOENCODING", "PYTHONUTF8", "PYTHONCOERCECLOCALE", "LC_ALL", "LC_CTYPE", "LANG")


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in UNSET}
    environment.update(HF_HUB_OFFLINE="1", **env)
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        encoding="latin-1",  # what a Latin-1 terminal shows; ASCII reads the same
        timeout=300,
    )


def test_a_latin1_terminal_shows_what_it_cannot_encode_as_escapes(tmp_path):
    """The export wrote its folder, then its last line (the folder's name) ended in a
    traceback, rc 1."""
    done = _run(
        ["-m", "prixlm.data.cldr.export", "--languages", "en", "--output_dir", "dumps 東京"],
        tmp_path,
        **LATIN1,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote dumps \\u6771\\u4eac (CLDR " in done.stdout
    assert (tmp_path / "dumps 東京").is_dir()


def test_help_in_a_latin1_terminal(tmp_path):
    done = _run(["-m", "prixlm.similarity.bli_cldr", "--help"], tmp_path, **LATIN1)
    assert done.returncode == 0, done.stderr
    assert "A\\u011fustos" in done.stdout and done.stderr == ""


def test_a_non_ascii_path_under_a_c_locale_is_refused_before_the_work(tmp_path):
    done = _run(
        ["-m", "prixlm.data.cldr.export", "--languages", "en", "--output_dir", "dumps ä"],
        tmp_path,
        **C_LOCALE,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: dumps \\xe4: a non-ASCII argument cannot be passed on to the libraries under "
        "this locale (file system encoding ascii); run the command with PYTHONUTF8=1 (or in "
        "a UTF-8 locale)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_train_refuses_a_non_ascii_output_dir_under_a_c_locale_before_training(tmp_path):
    """It trained fully and then crashed with a traceback at the first checkpoint."""
    argv = [str(REPOSITORY / "train.py"), "--dataset", "kb", "--languages", "en",
            "--output_dir", "runs ä/r", "--max_steps", "10"]  # fmt: skip
    done = _run(argv, tmp_path, **C_LOCALE)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: runs \\xe4/r: a non-ASCII argument")
    assert "PYTHONUTF8=1" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_under_utf8_nothing_changes(capsys):
    """This process's file system encoding is UTF-8: every argument passes."""
    from prixlm.cli import check_arguments_encoding, command_parser

    check_arguments_encoding(["runs ä/r", "東京"])
    args = command_parser("prixlm.test", "test").parse_args([])
    assert vars(args) == {} and capsys.readouterr() == ("", "")
