"""`--help` shows every default and marks every required option, and the similarity docs
say what their command lines do.

`DefaultsHelpFormatter` (and HfArgumentParser's formatter) print `(default: X)` and
`(required)` only for an option that has help text, so an option without one hides them.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import re
import shlex

import pytest


class _Parsed(Exception):
    """Raised instead of running the command once its arguments are parsed."""


def command_parser_of(module: str, monkeypatch, argv: list[str] | None = None):
    """The `ArgumentParser` that `module.main` builds (and, with `argv`, its parsed
    namespace), stopping the command before it does any work."""
    seen = {}
    parse_args = argparse.ArgumentParser.parse_args

    def record(parser, args=None, namespace=None):
        seen["parser"] = parser
        if argv is not None:
            seen["args"] = parse_args(parser, args, namespace)
        raise _Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", record)
    with pytest.raises(_Parsed):
        importlib.import_module(module).main([] if argv is None else argv)
    return seen["parser"], seen.get("args")


def silent_options(parser: argparse.ArgumentParser) -> list[str]:
    """Options whose default (or required mark) `--help` would not show."""
    return [
        action.option_strings[0]
        for action in parser._actions
        if action.option_strings and action.help is not argparse.SUPPRESS and not action.help
    ]


@pytest.mark.parametrize(
    "module",
    [
        "prixlm.demo",
        "prixlm.complete",
        "prixlm.completion.measure",
        "prixlm.data.cldr.export",
        "prixlm.data.dbpedia.build",
        "prixlm.data.kg_layout.__main__",
        "prixlm.experiments.ablations",
        "prixlm.experiments.dbp5l",
        "prixlm.experiments.dbp5l_docs",
        "prixlm.experiments.kge_search",
        "prixlm.experiments.table1",
        "prixlm.experiments.table1_docs",
        "prixlm.link_prediction.evaluate_lp",
        "prixlm.publish",
        "prixlm.release.convert_official",
        "prixlm.release.model_card",
        "prixlm.similarity.xel",
        "prixlm.similarity.probing",
        "prixlm.similarity.probing_export",
        "prixlm.similarity.bli_cldr",
        "prixlm.similarity.mirror",
        "prixlm.similarity.plain_mlm",
        "prixlm.similarity.study",
    ],
)
def test_every_option_has_help_so_its_default_shows(monkeypatch, module):
    parser, _ = command_parser_of(module, monkeypatch)
    assert silent_options(parser) == [], module


def test_help_shows_the_defaults_and_the_required_options(monkeypatch, capsys):
    expected = {
        "prixlm.complete": ["(default: 50)"],
        "prixlm.completion.measure": ["(default: 3)", "the language to complete (required)"],
        "prixlm.similarity.xel": ["(default: cldr)", "(default: cosine)", "(default: 64)"],
        "prixlm.similarity.probing": ["(default: template)", "(default: 32)"],
        "prixlm.similarity.bli_cldr": ["(default: en-it,en-tr", "(required)"],
    }
    for module, shown in expected.items():
        with pytest.raises(SystemExit):
            importlib.import_module(module).main(["--help"])
        text = " ".join(capsys.readouterr().out.split())
        for part in shown:
            assert part in text, (module, part)


def test_train_help_shows_the_paper_defaults(capsys):
    """The options `PrixLMTrainingArguments` and `ModelArguments` override showed no default."""
    from prixlm.training.arguments import parse_training_arguments

    with pytest.raises(SystemExit) as exit_info:
        parse_training_arguments(["--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for option, default in [
        ("learning_rate", "5e-05"),
        ("per_device_train_batch_size", "32"),
        ("gradient_accumulation_steps", "32"),
        ("num_train_epochs", "5.0"),
        ("warmup_steps", "0.06"),
        ("output_dir", "runs/prixlm"),
        ("hidden_size", "256"),
        ("num_hidden_layers", "4"),
        ("num_attention_heads", "4"),
        ("intermediate_size", "1024"),
        ("adam_beta2", "0.98"),
    ]:
        found = re.search(
            rf"--{option} [A-Z0-9_]+, --[a-z0-9-]+ [A-Z0-9_]+ ([^-].*?)\(default: ([^)]*)\)", text
        )
        assert found and found.group(2) == default, (option, found and found.group(0))
    assert "(the paper's 6%)" in text and "1,024 facts per update" in text


def test_train_help_marks_dataset_required_and_says_what_no_options_do(capsys):
    """`--dataset` showed `(default: None)`; `--no_links` and `--no_packing` showed the help of
    `--links` and `--packing` ("add the links between the languages") with `(default: False)`."""
    from prixlm.training.arguments import parse_training_arguments

    with pytest.raises(SystemExit):
        parse_training_arguments(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "or a Hub id (old spelling: --dataset_dir) (required)" in text
    for name in ("links", "packing"):
        assert (
            f"--no_{name}, --no-{name} the same as --{name} false (default: --{name} true)"
        ) in text
    assert (
        "--resume_from_checkpoint RESUME_FROM_CHECKPOINT true: go on from the last"
        in text.replace(", --resume-from-checkpoint RESUME_FROM_CHECKPOINT", "")
    )


def test_every_training_argument_prixlm_sets_has_help():
    """A field redefined in a subclass loses the help of transformers' own field."""
    from prixlm.training.arguments import DataArguments, ModelArguments, PrixLMTrainingArguments

    silent = [
        f"{cls.__name__}.{field.name}"
        for cls in (ModelArguments, DataArguments, PrixLMTrainingArguments)
        for field in dataclasses.fields(cls)
        if field.name in vars(cls)["__annotations__"] and not field.metadata.get("help")
    ]
    assert "learning_rate" in vars(PrixLMTrainingArguments)["__annotations__"]
    assert silent == []


def example_argv(module: str) -> list[str]:
    """The command line of `module`'s docstring example, optional `[...]` parts left out."""
    doc = importlib.import_module(module).__doc__
    start = doc.index(f"python -m {module} ")
    lines = doc[start:].splitlines()
    command = []
    for line in lines:
        command.append(line.rstrip("\\").strip())
        if not line.endswith("\\"):
            break
    text = re.sub(r"\[[^\]]*\]", "", " ".join(command))
    return shlex.split(text)[3:]


@pytest.mark.parametrize("module", ["prixlm.similarity.mirror", "prixlm.similarity.plain_mlm"])
def test_the_usage_example_uses_no_deprecated_option(monkeypatch, capsys, module):
    argv = example_argv(module)
    _, args = command_parser_of(module, monkeypatch, argv)
    assert args.output_dir is not None
    assert "deprecated" not in capsys.readouterr().err, argv


def test_mirror_help_says_dataset_and_words_exclude_each_other(monkeypatch, capsys):
    from prixlm.similarity.mirror import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--model", "m", "--output_dir", "o", "--words", "w.txt", "--dataset", "d"])
    assert exit_info.value.code == 2
    assert "not allowed with argument --words" in capsys.readouterr().err
    parser, _ = command_parser_of("prixlm.similarity.mirror", monkeypatch)
    dataset = next(a for a in parser._actions if "--dataset" in a.option_strings)
    assert "not allowed with --words" in dataset.help and "ignored" not in dataset.help


def test_plain_mlm_docs_say_warm_up_and_weight_decay_are_fixed(monkeypatch):
    """There are no such options: the values are the demo recipe's."""
    import inspect

    from prixlm.similarity import plain_mlm
    from prixlm.training.arguments import demo_training_argv

    parser, _ = command_parser_of("prixlm.similarity.plain_mlm", monkeypatch)
    options = {name for action in parser._actions for name in action.option_strings}
    assert not options & {"--warmup_steps", "--warmup_ratio", "--weight_decay"}
    defaults = inspect.signature(plain_mlm.train_plain_mlm).parameters
    recipe = demo_training_argv("d", "r", "en", 4)
    assert defaults["warmup_ratio"].default == float(recipe[recipe.index("--warmup_steps") + 1])
    assert defaults["weight_decay"].default == float(recipe[recipe.index("--weight_decay") + 1])
    doc = " ".join(plain_mlm.__doc__.split())
    assert "(pass them)" not in doc
    assert "warm-up (6% of the steps) and weight decay (0.01) are fixed" in doc


def test_train_help_says_each_default_once(capsys):
    """`--pad_rows_to`, `--pad_labels_to` and `--dataset_id` say their default in words, and
    the formatter added `(default: None)` after it: "(default: from the data) (default:
    None)"."""
    from prixlm.training.arguments import parse_training_arguments

    with pytest.raises(SystemExit):
        parse_training_arguments(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    options = re.split(r"(?= --[a-z_0-9]+[ ,])", text.partition("options:")[2])
    twice = [option.split()[0] for option in options if option.count("(default:") > 1]
    assert twice == []
    assert "labelled positions per batch (default: from the data) --" in text
