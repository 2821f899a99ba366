"""Table 1's work folder is reused for the same inputs only: the dumps (or the CLDR release)
it was made from, the dataset built from them and the tokenizer trained on it. The dumps
were known by their path: rewritten in place, every job was "already done" and the table
showed the first dumps' numbers beside the second's KB statistics; a dataset built again
reused every kept training, ranking and KGE search."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("pykeen")
sys.path.insert(0, str(Path(__file__).parent))

from prixlm.cli import UsageError  # noqa: E402
from prixlm.experiments import table1  # noqa: E402
from prixlm.experiments.run_settings import check_run_settings  # noqa: E402
from prixlm.experiments.table1_data import (  # noqa: E402
    TOKENIZER_SOURCE,
    prepare_tokenizer,
    source_settings,
)
from prixlm.training.data import TOKENIZER_TEXTS_RULE  # noqa: E402
from prixlm.training.resume import dataset_fingerprint  # noqa: E402


def _renamed(text: str) -> str:
    """The tiny KB's labels, other names (the same counts and structure)."""
    return text.replace("thing ", "item ").replace("Ding ", "Sache ")


def test_dumps_rewritten_at_the_same_path_are_refused(table1_toy_run, capsys):
    root, argv, _ = table1_toy_run
    labels = root / "dumps" / "labels_en.ttl"
    text = labels.read_text("utf-8")
    records = {p: p.stat().st_mtime_ns for p in (root / "work" / "jobs").glob("*.json")}
    try:
        labels.write_text(_renamed(text), "utf-8")
        with pytest.raises(SystemExit) as exit_info:
            table1.main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert "error: --work_dir" in err and "dumps_sha256 '" in err
        assert "use another --work_dir" in err and "Traceback" not in err
    finally:
        labels.write_text(text, "utf-8")
    assert {p: p.stat().st_mtime_ns for p in records} == records


def test_the_cldr_release_is_one_of_the_run_settings(tmp_path, monkeypatch):
    import babel

    settings = source_settings(None)
    assert settings == {"cldr": settings["cldr"]} and babel.__version__ in settings["cldr"]
    check_run_settings(tmp_path, {"languages": ["en"], **settings})
    monkeypatch.setattr(babel, "__version__", "0.0")
    with pytest.raises(UsageError, match=r"cldr 'Babel 0\.0, CLDR .*use another --work_dir"):
        check_run_settings(tmp_path, {"languages": ["en"], **source_settings(None)})


def test_nothing_kept_is_reused_over_a_dataset_built_again_from_other_data(
    table1_toy_run, tmp_path, capsys, monkeypatch
):
    """The same dumps, a dataset built again that differs (a builder that changed, say):
    the job records, kept trainings, rankings and KGE searches are not reused, and the
    tokenizer is trained again on the new names."""
    import prixlm.data.dbpedia.build as build

    root, argv, _ = table1_toy_run
    work = tmp_path / "work"
    shutil.copytree(root / "work", work)
    for name in ("data", "data_links_en", "jobs"):
        shutil.rmtree(work / name)
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    for dump in (root / "dumps").iterdir():
        (renamed / dump.name).write_text(_renamed(dump.read_text("utf-8")), "utf-8")
    real = build.build_dataset
    monkeypatch.setattr(build, "build_dataset", lambda dumps, *a, **k: real(renamed, *a, **k))
    given = dict(zip(argv[::2], argv[1::2], strict=True))
    given.update({"--work_dir": str(work), "--results": str(tmp_path / "t.json"),
                  "--docs": str(tmp_path / "r.md"), "--chart": str(tmp_path / "t.png")})  # fmt: skip
    capsys.readouterr()
    table = table1.main([item for pair in given.items() for item in pair])
    printed = capsys.readouterr()
    out = printed.out
    assert "0 of 9 jobs already done" in out
    assert "grid points kept" not in out + printed.err  # the KGE searches ran again
    records = table1.load_records(work / "jobs")
    fingerprint = dataset_fingerprint(work / "data")
    for name, record in records.items():
        if name.startswith(("single-", "all-")):  # trained and ranked again
            assert "evaluated_again" not in record and "resumed_from_step" not in record, name
        if name.startswith(("single-", "kge-")):
            assert record["plan"]["data_sha256"] == fingerprint, name
    source = json.loads((work / "tokenizer" / TOKENIZER_SOURCE).read_text("utf-8"))
    assert source["data_sha256"] == fingerprint
    vocabulary = (work / "tokenizer" / "tokenizer.json").read_text("utf-8")
    assert vocabulary != (root / "work" / "tokenizer" / "tokenizer.json").read_text("utf-8")
    assert table["kb"]["en"]["entities"] == 30


def test_a_tokenizer_is_trained_again_for_other_data_or_another_size(table1_toy_run, tmp_path):
    root, _, _ = table1_toy_run
    data, languages = root / "work" / "data", ["en", "de"]
    folder = prepare_tokenizer(tmp_path, data, languages, 400, "first")
    (folder / "marker").touch()  # gone when the folder is made again
    assert prepare_tokenizer(tmp_path, data, languages, 400, "first") == folder
    assert (folder / "marker").is_file()  # the same source: kept
    for vocab, digest in ((400, "second"), (300, "second")):
        prepare_tokenizer(tmp_path, data, languages, vocab, digest)
        source = json.loads((folder / TOKENIZER_SOURCE).read_text("utf-8"))
        assert source == {"data_sha256": digest, "languages": languages, "vocab_size": vocab,
                          "texts": TOKENIZER_TEXTS_RULE}  # fmt: skip
        assert not (folder / "marker").exists()
        (folder / "marker").touch()
