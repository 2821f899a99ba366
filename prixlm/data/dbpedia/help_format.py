"""The `--help` format of the data CLIs: every option's default shown after its help line."""

from __future__ import annotations

import argparse


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """`ArgumentDefaultsHelpFormatter` that says `(required)` for required options and leaves
    out `(default: None)` (such options say in their help what their absence means)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.required:
            return f"{text} (required)"
        if action.default is None:
            return text
        return super()._get_help_string(action) or text


__all__ = ["DefaultsHelpFormatter"]
