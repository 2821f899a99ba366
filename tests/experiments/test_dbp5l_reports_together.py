"""DBP-5L's chart, JSON and page are replaced together: a full disk on one leaves every
earlier file as it was, in one line naming it (exit status 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from full_disk import full_disk

FULL = "no space left on the device (or a file-size limit reached); free space there or choose another folder"  # fmt: skip


def _files(root: Path) -> dict[str, bytes]:
    return {name: (root / name).read_bytes() for name in ("dbp5l.json", "results.md", "search.png")}


@pytest.mark.parametrize(
    ("failing", "option"), [("results.md", "--docs"), ("search.png", "--chart")]
)
def test_a_full_disk_on_one_report_file_keeps_all_three(
    dbp5l_toy_run, failing, option, monkeypatch, capsys
):
    from prixlm.experiments import dbp5l

    root, argv, _ = dbp5l_toy_run
    before = _files(root)
    full_disk(monkeypatch, rf"/\.{failing.replace('.', '[.]')}\.[^/]*\.partial$")
    with pytest.raises(SystemExit) as exit_info:
        dbp5l.main([*argv, "--no_run", "--note", "another note"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == f"error: {option} {root / failing}: {FULL}"
    assert _files(root) == before
    assert not [p for p in root.iterdir() if p.name.endswith(".partial")]
