"""Build inputs that used to fail after all the work, or to succeed silently wrong, are
named before the work starts: `--link_languages` outside the build, a bad `*_info.json`
beside the dumps, a `--profile` path that cannot be written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from prixlm.cli import UsageError
from prixlm.data.dbpedia.build import link_pivots, main


def _argv(dumps: Path, output: Path, *extra: str) -> list[str]:
    return ["--dump_dir", str(dumps), "--output_dir", str(output), "--num_proc", "1",
            "--no_progress", *extra]  # fmt: skip


def test_link_languages_must_be_built_languages(tmp_path, dumps, capsys) -> None:
    assert link_pivots(("EN", "de"), ["de", "en", "fr"]) == ["de", "en"]
    assert link_pivots(None, ["de"]) is None
    with pytest.raises(UsageError, match=r"expected a list of codes, e\.g\. \('en',\)"):
        link_pivots("en", ["en", "de"])  # read letter by letter: e, n
    output = tmp_path / "kb"
    assert main(_argv(dumps, output, "--languages", "de,fr", "--link_languages", "en")) == 2
    assert capsys.readouterr().err == (
        "error: --link_languages en: not a language of this build (de, fr): the links "
        "through it would all be dropped\n"
    )
    assert not output.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [('{"name": "x",\n', "download_info.json:2: not JSON"),
     ("[1, 2]", "download_info.json: expected a JSON object")],
)  # fmt: skip
def test_a_bad_info_file_is_named_before_the_work(tmp_path, dumps, capsys, text, message) -> None:
    copy = tmp_path / "dumps"
    shutil.copytree(dumps, copy)
    (copy / "download_info.json").write_text(text, encoding="utf-8")
    output = tmp_path / "kb"
    assert main(_argv(copy, output)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {copy / 'download_info.json'}") and message in err
    assert not output.exists()


def test_a_profile_path_that_cannot_be_written_is_named_before_the_work(
    tmp_path, dumps, capsys
) -> None:
    (tmp_path / "file").write_text("x")
    output = tmp_path / "kb"
    assert main(_argv(dumps, output, "--profile", str(tmp_path / "file" / "p.json"))) == 2
    assert "--profile" in capsys.readouterr().err
    assert not output.exists()
    profile = tmp_path / "new" / "p.json"  # a missing folder is created
    assert main(_argv(dumps, output, "--profile", str(profile))) == 0
    assert profile.read_text(encoding="utf-8").startswith("{")


def test_upper_case_compressed_names_are_decompressed(tmp_path, capsys) -> None:
    """`labels_de.ttl.BZ2` was found (names match in any case) but read as plain text."""
    from dbpedia_dumps import write_dumps

    lower = write_dumps(tmp_path / "lower", ".bz2")
    upper = tmp_path / "upper"
    shutil.copytree(lower, upper)
    for path in upper.glob("*.bz2"):
        path.rename(path.with_suffix(".BZ2"))
    assert main(_argv(lower, tmp_path / "kb_lower")) == 0
    expected = capsys.readouterr().out.splitlines()[1:]
    assert main(_argv(upper, tmp_path / "kb_upper")) == 0
    assert capsys.readouterr().out.splitlines()[1:] == expected
    assert "triples" in expected[0]
