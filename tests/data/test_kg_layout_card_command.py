"""The command a converted dataset's card quotes runs as shown, from the input folder's
parent, whatever the folder is named: the card wrote `--input_dir my KG [v1] #2/` unquoted,
which a shell splits into three words (and `#2/` starts a comment)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_kg_layout import write_layout

from prixlm.data.kg_layout import __main__ as cli


def test_the_cards_command_runs_as_quoted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_layout(tmp_path / "my KG [v1] #2")
    monkeypatch.chdir(tmp_path)
    argv = ["--input_dir", "my KG [v1] #2", "--output_dir", "first", "--languages", "en,ja"]
    assert cli.main([*argv, "--no_progress"]) == 0
    card = (tmp_path / "first" / "README.md").read_text(encoding="utf-8")
    quoted = re.search(r"Converted with `(python -m prixlm\.data\.kg_layout [^`]*)`", card)
    assert quoted is not None, card
    words = shlex.split(quoted.group(1))
    assert words[:3] == ["python", "-m", "prixlm.data.kg_layout"]
    assert words[3:] == ["--input_dir", "my KG [v1] #2/", "--languages", "en,ja"]
    assert cli.main([*words[3:], "--output_dir", "again", "--no_progress"]) == 0
    for part in ("en/train.parquet", "ja/test.parquet", "links/train.parquet"):
        again = pq.read_table(tmp_path / "again" / part)
        assert again.num_rows > 0 and again.equals(pq.read_table(tmp_path / "first" / part))
