"""Parsing `train.py` options in tests: the smallest valid command line and a refusal's line."""

from __future__ import annotations

import pytest

from prixlm.training.arguments import parse_training_arguments

#: The options every `train.py` command line needs.
BASE = ["--dataset", "d", "--output_dir", "o"]


def refused(capsys: pytest.CaptureFixture[str], *options: str) -> str:
    """The last stderr line of parsing `BASE` and `options`, after checking the exit
    status 2 and that no traceback was printed."""
    with pytest.raises(SystemExit) as exit_info:
        parse_training_arguments([*BASE, *options])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]
