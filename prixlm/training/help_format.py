"""`train.py --help`'s format: HfArgumentParser's, with the required and `--no_*` options said.

HfArgumentParser prints `(default: None)` for the required `--dataset`, and gives each
`--no_X` option that it adds for a boolean field whose default is true (`--no_packing`,
`--no_links`) the help of `--X` and `(default: False)`: `--no_links` read "add the links
between the languages (default: False)". An option whose help says its default in words
(`--pad_rows_to`: "(default: sized from the data)") read "... (default: None)" after it.
"""

from __future__ import annotations

import argparse


class TrainingHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """`ArgumentDefaultsHelpFormatter` that says `(required)` for a required option,
    describes a `--no_X` option as `--X false` and adds no `(default: ...)` to a help that
    says its default already."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.required:
            return f"{action.help or ''} (required)"
        negated = [name for name in action.option_strings if name.startswith("--no_")]
        if negated and isinstance(action, argparse._StoreFalseAction):
            positive = "--" + negated[0].removeprefix("--no_")
            return f"the same as {positive} false (default: {positive} true)"
        if "(default:" in (action.help or ""):  # said in words: not `(default: None)` too
            return action.help or ""
        return super()._get_help_string(action) or ""


__all__ = ["TrainingHelpFormatter"]
