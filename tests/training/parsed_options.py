"""Parsing `train.py` options in tests: the smallest valid command line and a refusal's line."""

from __future__ import annotations

import pytest

from prixlm.training.arguments import parse_training_arguments

#: The options every `train.py` command line needs.
BASE = ["--dataset", "d", "--output_dir", "o"]


def refused(capsys: pytest.CaptureFixture[str], *options: str) -> str:
    """The last stderr line of parsing `BASE` and `options`, after checking the exit
    status 2, that no traceback was printed and that the usage ahead of it is one line
    (the generated one listed the ~150 options: 125 lines before the `error:` line)."""
    with pytest.raises(SystemExit) as exit_info:
        parse_training_arguments([*BASE, *options])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0].endswith("[options]  (--help lists them)"), lines[:2]
    return lines[-1]
