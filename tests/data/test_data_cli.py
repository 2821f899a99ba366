"""The data command lines: documented options, and errors that name the argument at fault."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from prixlm.data.cldr import export
from prixlm.data.dbpedia import build, build_arguments
from prixlm.data.kg_layout import __main__ as kg_layout

PARSERS = {
    "build": build_arguments.build_parser,
    "export": export.build_parser,
    "kg_layout": kg_layout.build_parser,
}


def _option_blocks(parser: argparse.ArgumentParser) -> dict[str, str]:
    """`{--option: its help text}` as `--help` prints it (one block per option)."""
    text = parser.format_help().split("options:\n", 1)[1]
    blocks = re.split(r"\n(?=  -)", text)
    return {block.split()[0].rstrip(","): " ".join(block.split()) for block in blocks}


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_option_has_help_and_shows_its_default(name: str) -> None:
    parser = PARSERS[name]()
    blocks = _option_blocks(parser)
    actions = [action for action in parser._actions if action.dest != "help"]
    assert len(actions) >= 2 and len(blocks) == len(actions) + 1
    for action in actions:
        option = action.option_strings[0]
        block = blocks[option]  # "--option METAVAR help words (default: x)"
        assert action.help and len(action.help.split()) >= 2, option
        assert " ".join(action.help.split()) in block, block  # printed in full
        if action.required:
            assert block.endswith("(required)"), block
        elif action.default is None:  # the help says what leaving the option out means
            assert "none:" in action.help, block
        else:
            assert block.endswith(f"(default: {action.default})"), block


def test_build_help_shows_the_split_defaults(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build.main(["--help"])
    assert exit_info.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    for option, default in [
        ("--split_protocol", "fact"),
        ("--test_fraction", "0.1"),
        ("--validation_fraction", "0.05"),
        ("--inverse_threshold", "0.1"),
        ("--max_length", "30"),
        ("--seed", "0"),
    ]:
        assert re.search(rf"{option} \S+ .*?\(default: {re.escape(default)}\)", help_text)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--max_length", "20"], "error: --max_length 20: only with --tokenizer"),
        (["--max_len=20"], "error: --max_length 20: only with --tokenizer"),
        (["--tokenizer", "tok", "--max_length", "0"], "argument --max_length: must be >= 1, got 0"),
    ],
)
def test_a_length_filter_that_drops_nothing_or_everything_is_refused(
    tmp_path: Path, dumps: Path, capsys, options, message
) -> None:
    """`--max_length` without `--tokenizer` built every row, unfiltered, without a word; `0`
    (train.py's "keep all") dropped every row, an error after the whole build."""
    output = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        build.main(["--dump_dir", str(dumps), "--output_dir", str(output), *options])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not output.exists()


def test_missing_tokenizer_is_named_as_such(tmp_path: Path, dumps: Path, capsys) -> None:
    arguments = ["--dump_dir", str(dumps), "--output_dir", str(tmp_path / "out")]
    missing = tmp_path / "no_tokenizer"
    assert build.main([*arguments, "--tokenizer", str(missing)]) == 2
    error = capsys.readouterr().err
    assert f"--tokenizer {missing}: no such folder" in error and "Repo id" not in error
    assert build.main([*arguments, "--tokenizer", "not_a_cached_tokenizer"]) == 2
    error = capsys.readouterr().err
    assert "--tokenizer not_a_cached_tokenizer: no such folder, and not a cached Hub id" in error
    (tmp_path / "empty").mkdir()
    assert build.main([*arguments, "--tokenizer", str(tmp_path / "empty")]) == 2
    assert (
        f"--tokenizer {tmp_path / 'empty'}: folder; no tokenizer loaded" in capsys.readouterr().err
    )
    assert not (tmp_path / "out").exists()


def test_output_dir_under_a_file_names_the_argument(tmp_path: Path, dumps: Path, capsys) -> None:
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "out"
    assert build.main(["--dump_dir", str(dumps), "--output_dir", str(out), "--no_progress"]) == 2
    error = capsys.readouterr().err
    assert f"--output_dir {out}: {tmp_path / 'file'} is a file, not a folder" in error
    with pytest.raises(SystemExit) as exit_info:
        export.main(["--languages", "en", "--output_dir", str(out)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert f"--output_dir {out}: {tmp_path / 'file'} is a file, not a folder" in error
    assert (tmp_path / "file").read_text() == "x"


def test_max_line_bytes_reaches_the_reader(tmp_path: Path, dumps: Path, capsys) -> None:
    output = tmp_path / "out"
    arguments = ["--dump_dir", str(dumps), "--output_dir", str(output), "--no_progress"]
    assert build.main([*arguments, "--max_line_bytes", "40"]) == 2
    error = capsys.readouterr().err
    assert re.search(r"\.ttl:\d+: line longer than 40 bytes", error), error
    assert not output.exists()
    assert build.main(arguments) == 0  # the default limit reads the same dumps
