"""One process at a time writes a folder's model card (`model_card FOLDER --evaluation X`):
two at once (the validation and the test report, added in parallel) each rendered the kept
reports as they were before the other's; the last card left out the other's report while
`evaluation_results.json` held both, rc 0 for both. The second is refused, naming the first."""

from __future__ import annotations

import json

import pytest
from card_folders import card_folder
from lock_holder import lock_held

from prixlm.release.model_card import main as card_main


def _report(split: str, hits: float) -> dict:
    metrics = {"hits_at_1": hits, "hits_at_3": hits, "hits_at_10": hits, "mrr": hits,
               "num_queries": 4, "num_missing": 0, "num_candidates": 50}  # fmt: skip
    return {"model": "me/prixlm", "dataset": "me/kb", "split": split, "mode": "full",
            "num_beams": None, "protocol": "ours", "limit": None, "candidates": None,
            "candidates_sha256": None, "results": {"en": metrics}}  # fmt: skip


def test_a_second_card_writer_of_a_folder_is_refused_and_changes_nothing(tmp_path, capsys):
    folder = card_folder(tmp_path / "model")
    first = tmp_path / "validation.json"
    first.write_text(json.dumps(_report("validation", 0.5)), encoding="utf-8")
    card_main([str(folder), "--evaluation", str(first)])
    kept = folder / "evaluation_results.json"
    before = {name: (folder / name).read_bytes() for name in ("README.md", kept.name)}
    second = tmp_path / "test.json"
    second.write_text(json.dumps(_report("test", 0.25)), encoding="utf-8")
    capsys.readouterr()

    with lock_held(folder) as pid:  # another card writer of the folder, between read and write
        with pytest.raises(SystemExit) as stopped:
            card_main([str(folder), "--evaluation", str(second)])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert f"error: FOLDER {folder}: process {pid} on " in error
    assert {name: (folder / name).read_bytes() for name in before} == before

    card_main([str(folder), "--evaluation", str(second)])  # once it ended: both kept and shown
    assert [r["split"] for r in json.loads(kept.read_text("utf-8"))] == ["validation", "test"]
    assert "test" in (folder / "README.md").read_text("utf-8")
