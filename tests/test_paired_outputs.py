"""Files that belong together (a results JSON and the page and charts rendered from it, a
model card and the reports it shows) are replaced together: a full disk while writing one
leaves every earlier file as it was, and the command says so in one line (exit status 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from full_disk import full_disk

from prixlm.outputs.atomic import atomic_file, published_together

ROOT = Path(__file__).resolve().parents[1]
FULL = "no space left on the device (or a file-size limit reached); free space there or choose another folder"  # fmt: skip


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, hidden ones (staging) included, by relative name."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def _staged(name: str) -> str:
    """The pattern of `name`'s staging file (`atomic_file`)."""
    return rf"/\.{name.replace('.', '[.]')}\.[^/]*\.partial$"


def test_files_written_together_replace_their_earlier_versions_together(tmp_path, monkeypatch):
    first, second = tmp_path / "a.json", tmp_path / "a.md"
    for path in (first, second):
        path.write_text("earlier")
    with published_together():
        with atomic_file(first) as staging:
            staging.write_text("new a")
        assert first.read_text() == "earlier"  # staged until the set is complete
        with published_together():  # a nested set joins the outer one
            with atomic_file(second) as staging:
                staging.write_text("new b")
        assert second.read_text() == "earlier"
    assert (first.read_text(), second.read_text()) == ("new a", "new b")
    full_disk(monkeypatch, _staged("a.md"))
    with pytest.raises(OSError, match=r"a\.md"), published_together():
        with atomic_file(first) as staging:
            staging.write_text("third a")
        with atomic_file(second) as staging:
            staging.write_text("third b")
    assert _files(tmp_path) == {"a.json": b"new a", "a.md": b"new b"}  # no staging left


def test_a_model_card_and_its_reports_are_replaced_together(tmp_path, monkeypatch, capsys):
    """`evaluation_results.json` was replaced before `README.md`: a full disk on the card
    left the new report kept beside a card that does not show it."""
    from prixlm.release.model_card import main, write_model_card

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "prixlm"}), encoding="utf-8")
    metrics = {"hits_at_1": 0.25, "hits_at_3": 0.5, "hits_at_10": 0.75, "mrr_at_50": 0.4}
    report = {"model": "me/prixlm", "dataset": "me/kb", "split": "test", "mode": "beam",
              "num_beams": 50, "limit": None, "candidates": None, "candidates_sha256": None,
              "results": {"en": {**metrics, "num_queries": 275}}}  # fmt: skip
    write_model_card(folder, evaluations=[report])
    before = _files(folder)
    validation = tmp_path / "validation.json"
    validation.write_text(json.dumps({**report, "split": "validation"}), encoding="utf-8")
    full_disk(monkeypatch, _staged("README.md"), limit=100)
    with pytest.raises(SystemExit) as exit_info:
        main([str(folder), "--evaluation", str(validation)])
    assert exit_info.value.code == 2
    assert _error_line(capsys) == f"error: FOLDER {folder / 'README.md'}: {FULL}"
    assert _files(folder) == before


@pytest.mark.parametrize("failing", ["similarity.md", "similarity_curve.png"])
def test_the_similarity_report_files_are_replaced_together(failing, tmp_path, monkeypatch, capsys):
    """The JSON was replaced before the page and chart were written, outside `user_errors`:
    a full disk on the page was a traceback (exit 1) beside a new JSON and chart."""
    from prixlm.similarity import study

    results = json.loads((ROOT / "results" / "similarity.json").read_text("utf-8"))
    monkeypatch.setattr(study, "run", lambda args: results)
    reports = tmp_path / "reports"
    argv = ["--profile", "toy", "--work_dir", str(tmp_path / "work"),
            "--results", str(reports / "similarity.json"), "--docs", str(reports / "similarity.md"),
            "--chart", str(reports / "similarity_curve.png")]  # fmt: skip
    study.main(argv)
    before = _files(reports)
    assert sorted(before) == ["similarity.json", "similarity.md", "similarity_curve.png"]
    results = {**results, "total_seconds": results["total_seconds"] + 1}
    full_disk(monkeypatch, _staged(failing))
    with pytest.raises(SystemExit) as exit_info:
        study.main(argv)
    assert exit_info.value.code == 2
    option = "--docs" if failing.endswith(".md") else "--chart"
    assert _error_line(capsys) == f"error: {option} {reports / failing}: {FULL}"
    assert _files(reports) == before


@pytest.mark.parametrize("failing", ["results.md", "table1.png", "table1_all_curve.png"])
def test_the_table1_report_files_are_replaced_together(failing, tmp_path, monkeypatch, capsys):
    """The JSON was replaced before the page and the charts, outside `user_errors`: a full
    disk on the page was a traceback (exit 1) beside a new JSON."""
    from prixlm.experiments.table1 import write_outputs

    table = json.loads((ROOT / "results" / "table1.json").read_text("utf-8"))
    paths = tmp_path / "table1.json", tmp_path / "results.md", tmp_path / "table1.png"
    write_outputs(table, *paths)
    before = _files(tmp_path)
    assert sorted(before) == ["results.md", "table1.json", "table1.png", "table1_all_curve.png"]
    table["wall_seconds"] += 1
    full_disk(monkeypatch, _staged(failing))
    with pytest.raises(SystemExit) as exit_info:
        write_outputs(table, *paths)
    assert exit_info.value.code == 2
    option = "--docs" if failing.endswith(".md") else "--chart"
    assert _error_line(capsys) == f"error: {option} {tmp_path / failing}: {FULL}"
    assert _files(tmp_path) == before
