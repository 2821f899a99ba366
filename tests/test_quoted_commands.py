"""Every command line the repository quotes names options its command has.

The README's commands run (`test_readme.py`); the others (module docstrings, docs/*.md, the
cards and their templates, the Makefile, messages that tell the user what to run) are read
here: each `python -m prixlm...` and `python train.py` line, `\\`-continued lines joined,
must name only options of that command's parser (a renamed option's old spelling is none:
it still works, with a deprecation warning, until it is removed), and a command that a
message or a card gives to copy must hold every required option.
"""

from __future__ import annotations

import argparse
import importlib
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ["prixlm", "modeling_prixlm", "space", "evaluate_metrics", "dataset_builders", "docs",
           "bench", "results"]  # fmt: skip
TOP_FILES = ["train.py", "model_card.md", "Makefile", "README.md"]
COMMAND = re.compile(r"python3?\s+(?:-m\s+(prixlm(?:\.\w+)*)|(train\.py))\b(.*)")
#: (file, option): old spellings kept where a file records a finished run's command as it ran
#: (docs/results.md renders the Table 1 quick run's stored job records).
RECORDED_RUNS = {("docs/results.md", "--dataset_dir")}


class _Parsed(Exception):
    """Raised instead of running a command once its parser is built."""


def quoted_files() -> list[Path]:
    files = [ROOT / name for name in TOP_FILES]
    for folder in FOLDERS:
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".md", ".sh"}]
    return sorted(p for p in files if p.is_file())


def quoted_commands(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, command, arguments) of each command quoted in `path`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for number, line in enumerate(lines, 1):
        match = COMMAND.search(line)
        if not match:
            continue
        rest, following = match.group(3), number
        while rest.rstrip().endswith("\\") and following < len(lines):
            rest = rest.rstrip().rstrip("\\") + " " + lines[following].strip()
            following += 1
        rest = re.split(r"`|\s#\s|\s&&\s|\s;\s|\s>|\{\{|\{|<", rest)[0]
        if path.suffix == ".py":
            rest = rest.split('"')[0]
        try:
            words = shlex.split(rest.replace("[", " ").replace("]", " ").replace("|", " "))
        except ValueError:
            words = rest.split()
        found.append((number, match.group(1) or match.group(2), words))
    return found


def options_in(words: list[str]) -> list[str]:
    return [word.split("=")[0].rstrip(".,:)") for word in words if word.startswith("--")]


_PARSERS: dict[str, argparse.ArgumentParser] = {}


def parser_of(command: str) -> argparse.ArgumentParser:
    """The parser `command` (a module, or `train.py`) builds, the command stopped before it
    does any work."""
    if command in _PARSERS:
        return _PARSERS[command]
    if command == "train.py":
        from transformers import HfArgumentParser

        from prixlm.training.arguments import DataArguments, ModelArguments, PrixLMTrainingArguments

        parser = HfArgumentParser((ModelArguments, DataArguments, PrixLMTrainingArguments))
    else:
        module = importlib.import_module(command)
        if not hasattr(module, "main"):
            module = importlib.import_module(f"{command}.__main__")
        seen = {}
        original = argparse.ArgumentParser.parse_args

        def record(parser, args=None, namespace=None):
            seen["parser"] = parser
            raise _Parsed

        argparse.ArgumentParser.parse_args = record
        try:
            module.main(["--help"])
        except _Parsed:
            pass
        finally:
            argparse.ArgumentParser.parse_args = original
        parser = seen["parser"]
    _PARSERS[command] = parser
    return parser


def unknown_options(command: str, words: list[str]) -> list[str]:
    if not options_in(words):  # a command named in prose (`python -m prixlm.*`)
        return []
    known = {name for action in parser_of(command)._actions for name in action.option_strings}
    return [option for option in options_in(words) if option not in known]


def missing_required(command: str, words: list[str]) -> list[str]:
    given = set(options_in(words))
    return [
        action.option_strings[0]
        for action in parser_of(command)._actions
        if action.required and action.option_strings and not given & set(action.option_strings)
    ]


def test_quoted_commands_are_found():
    path = ROOT / "prixlm" / "data" / "cldr" / "export.py"
    commands = quoted_commands(path)
    assert (5, "prixlm.data.cldr.export", ["--languages", "en,de,fr", "--output_dir", "data/cldr_kb_3"]) in commands  # fmt: skip
    assert unknown_options("prixlm.data.cldr.export", ["--locales", "en"]) == ["--locales"]
    assert unknown_options("train.py", ["--dataset_dir", "d", "--dataset", "d"]) == [
        "--dataset_dir"
    ]
    assert missing_required("prixlm.link_prediction.evaluate_lp", ["--model", "m"]) == [
        "--dataset",
        "--languages",
    ]
    every = [c for p in quoted_files() for c in quoted_commands(p)]
    assert len(every) > 150 and {c[1] for c in every} >= {"train.py", "prixlm.publish"}


def test_every_quoted_command_names_options_it_has():
    wrong = []
    for path in quoted_files():
        name = path.relative_to(ROOT).as_posix()
        for line, command, words in quoted_commands(path):
            for option in unknown_options(command, words):
                if (name, option) not in RECORDED_RUNS:
                    wrong.append(f"{name}:{line}: {command} {option}")
    assert wrong == []


def test_publish_warning_command_holds_every_required_option():
    from huggingface_hub import ModelCard

    from prixlm.publish import card_warnings

    warning = card_warnings(ModelCard("---\nlicense: apache-2.0\n---\n# m\n"))[-1]
    words = shlex.split(
        warning.split("python -m prixlm.link_prediction.evaluate_lp")[1].split(",")[0]
    )
    assert unknown_options("prixlm.link_prediction.evaluate_lp", words) == []
    assert missing_required("prixlm.link_prediction.evaluate_lp", words) == []


@pytest.mark.parametrize(
    ("languages", "shown"), [(None, "de,en,ja"), (["et"], "et"), (["en", "ja"], "en,ja")]
)
def test_card_evaluation_command_names_the_model_s_languages(
    tiny_demo_output, tmp_path, languages, shown
):
    """The card's `evaluate_lp` line evaluates the languages the model was trained on (the
    folder's record, or the card's `languages`): it named `de` on every card, a language an
    `en,ja` or `et` model never read, which evaluate_lp ranks without a word."""
    from prixlm.release.model_card import evaluation_languages, render_model_card

    card = str(render_model_card(tiny_demo_output / "run" / "model", languages=languages))
    [(_, command, words)] = [
        c for c in quoted_commands(_text_file(tmp_path, card)) if c[1].endswith("evaluate_lp")
    ]
    assert words[words.index("--languages") + 1] == shown
    assert unknown_options(command, words) == [] and missing_required(command, words) == []
    assert evaluation_languages([f"l{i}" for i in range(87)]) == "l0"  # the paper's 87: one


def _text_file(folder: Path, text: str) -> Path:
    path = folder / "card.md"
    path.write_text(text, encoding="utf-8")
    return path
