"""What every command line of the package shares: the `--help` format and one `error:` line.

A user's mistake (a wrong path, an unknown config, a full disk) ends in one line on stderr
that names the argument or the file, and exit status 2, never a traceback::

    def main(argv=None) -> int:
        args = build_parser().parse_args(argv)
        with user_errors():
            ...
        return 0
"""

from __future__ import annotations

import argparse
import codecs
import errno
import json
import os
import signal
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prixlm.outputs.open_files import open_files_message
from prixlm.signals import (
    Terminated,
    close_progress_bars,
    end_by_signal,
    forget_answered,
    received_signal,
    signals_raise,
)

# errno values that mean "the disk (or a quota, or a file-size limit) is full"
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class UsageError(ValueError):
    """A mistake in the arguments or inputs; the message names the argument or file."""


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """`ArgumentDefaultsHelpFormatter` that says `(required)` for required options and leaves
    out `(default: None)` (such options say in their help what their absence means); the
    description and epilog keep their line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.required:
            return f"{text} (required)"
        if action.default is None or action.default is argparse.SUPPRESS:
            return text
        return super()._get_help_string(action) or text

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "".join(indent + line for line in text.splitlines(keepends=True))


def _is_utf8(encoding: str | None) -> bool:
    try:
        return encoding is not None and codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def prepare_terminal() -> None:
    """Make stdout and stderr write what their encoding cannot (a Latin-1 or ASCII terminal,
    `PYTHONIOENCODING=latin-1`) as backslash escapes: a Japanese label printed after the work
    ended in a `UnicodeEncodeError`. Called where every command line starts
    (`command_parser`, `renamed_options`, `user_errors`); UTF-8 streams are left as they are."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None or _is_utf8(getattr(stream, "encoding", None)):
            continue
        try:
            reconfigure(errors="backslashreplace")
        except (OSError, ValueError):  # a closed or detached stream
            pass


def check_arguments_encoding(argv: Sequence[str]) -> None:
    """Before any work: when the file system encoding is not UTF-8 (a C or Latin-1 locale
    with `PYTHONUTF8=0`), a non-ASCII argument ends the command with exit status 2 and one
    line: tokenizers, pyarrow and DuckDB take paths as UTF-8, so such a path failed at the
    first checkpoint, after the training."""
    encoding = sys.getfilesystemencoding()
    if _is_utf8(encoding):
        return
    for argument in argv:
        if argument.isascii():
            continue
        try:  # the bytes as typed, shown as UTF-8 where they are
            shown = os.fsencode(argument).decode("utf-8", "backslashreplace")
        except UnicodeError:
            shown = argument
        prepare_terminal()
        print(
            f"error: {shown}: a non-ASCII argument cannot be passed on to the libraries under "
            f"this locale (file system encoding {encoding}); run the command with PYTHONUTF8=1 "
            "(or in a UTF-8 locale)",
            file=sys.stderr,
        )
        raise SystemExit(2)


def renamed_options(argv: Sequence[str] | None, renames: Mapping[str, str]) -> list[str]:
    """`argv` (default `sys.argv[1:]`) with each old option spelling replaced by its new one.

    Each old spelling used prints `warning: --old is deprecated: use --new` on stderr; old
    spellings are accepted for one release (the vocabulary is the README's table).
    `--old value` and `--old=value` are both renamed. A command line starts here
    (`prepare_terminal`, `check_arguments_encoding`).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    prepare_terminal()
    check_arguments_encoding(argv)
    renamed = []
    for item in argv:
        name, equals, value = item.partition("=")
        if name in renames:
            print(
                f"warning: {name} is deprecated: use {renames[name]} (the old spelling is "
                "accepted until the next release)",
                file=sys.stderr,
            )
            item = renames[name] + equals + value
        renamed.append(item)
    return renamed


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """`--device` as every command line has it (None: cuda if a GPU is visible, else cpu;
    `prixlm.model_loading.default_device`)."""
    parser.add_argument(
        "--device",
        default=None,
        type=device_name,
        help="torch device: cpu, cuda, cuda:1, ... (default: cuda if a GPU is visible, else cpu)",
    )


#: `--dtype` values: `auto` loads the weights as saved (transformers' default), the others
#: cast them on load
DTYPE_CHOICES = ("auto", "float32", "bfloat16", "float16")


def add_dtype_argument(parser: argparse.ArgumentParser) -> None:
    """`--dtype` as every command line that ranks with a Prix-LM has it
    (`prixlm.model_loading.load_prixlm`'s `dtype`)."""
    parser.add_argument(
        "--dtype",
        default="auto",
        choices=DTYPE_CHOICES,
        help="precision of the model's weights: auto loads them as saved (float32 for a model "
        "trained here; a model saved in bf16 loads in bf16, and its rankings differ slightly "
        "from float32's); float32 ranks as the release's own evaluation does",
    )


def device_name(value: str) -> str:
    """`value` if torch can run on that device here; else argparse's usage error naming it
    (a typo like `cdua` and a GPU this machine lacks were tracebacks after loading)."""
    import torch

    try:
        device = torch.device(value)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"{value!r}: not a torch device (cpu, cuda, cuda:1, ...)"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(f"{value!r}: no CUDA GPU is visible here")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise argparse.ArgumentTypeError(
                f"{value!r}: {torch.cuda.device_count()} CUDA GPU(s) visible"
            )
    elif device.type not in ("cpu", "mps", "xpu", "meta"):
        raise argparse.ArgumentTypeError(f"{value!r}: expected cpu or cuda[:N]")
    return value


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (a count of workers, threads, rows)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a number > 0 (seconds of a time limit or deadline)."""
    value = float(text)
    if not value > 0:  # NaN too
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


class CommandParser(argparse.ArgumentParser):
    """An `ArgumentParser` that first checks its arguments (`check_arguments_encoding`)."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        check_arguments_encoding(sys.argv[1:] if args is None else list(args))
        parsed, rest = super().parse_known_args(args, namespace)
        for name, value in vars(parsed).items():
            setattr(parsed, name, home_expanded(value))
        return parsed, rest


def home_expanded(value: Any) -> Any:
    """`value` with a leading `~/` (or a bare `~`) read as the home folder, as a shell reads
    it, in a path, a string or a list of them; anything else unchanged. The shell leaves
    `--output_dir=~/runs` as it is: the command wrote `./~/runs` and said "wrote ~/runs"."""
    if isinstance(value, list):
        return [home_expanded(item) for item in value]
    if isinstance(value, str | os.PathLike) and (
        (text := os.fspath(value)) == "~" or text.startswith("~/")
    ):
        return type(value)(os.path.expanduser(text))
    return value


def command_parser(module: str, description: str) -> argparse.ArgumentParser:
    """The parser of `python -m <module>`: its usage line, `description` (line breaks kept)
    and every option's default in `--help` (`DefaultsHelpFormatter`); the command line
    starts here (`prepare_terminal`; `check_arguments_encoding` when it parses)."""
    prepare_terminal()
    return CommandParser(
        prog=f"python -m {module}", description=description, formatter_class=DefaultsHelpFormatter
    )


def add_report_options(
    parser: argparse.ArgumentParser, committed_profile: str, files: Mapping[str, str]
) -> None:
    """`--<option> PATH` for each report file (`files`: option -> the repository's file, e.g.
    `{"results": "results/table1.json"}`), unset by default: `report_paths` fills them."""
    for option, path in files.items():
        parser.add_argument(
            f"--{option}",
            type=Path,
            default=None,
            help=f"default: {path} with --profile {committed_profile}, else the file of that "
            "name in --work_dir",
        )


def report_paths(
    args: argparse.Namespace, committed_profile: str, files: Mapping[str, str], work_dir: Path
) -> None:
    """Fill the unset report options of `args` (`add_report_options`): the repository's file
    for the profile the committed figures come from, else a file of the same name in
    `work_dir`, so that a toy or quick run never overwrites the committed figures unless
    told to."""
    for option, repository_file in files.items():
        if getattr(args, option) is None:
            name = Path(repository_file).name
            chosen = repository_file if args.profile == committed_profile else work_dir / name
            setattr(args, option, Path(chosen))


def print_json(value: object, output: str | None = None) -> None:
    """Print `value` as indented JSON and, given `output` (a command's `--output`), write the
    same text there atomically."""
    import json

    from prixlm.outputs.atomic import write_json

    if output:
        write_json(value, output, "--output")
    print(json.dumps(value, indent=2, ensure_ascii=False))


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its class name when it has none (a
    library's multi-line message in a one-line `error:`)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def describe_os_error(error: OSError) -> str:
    """One line for an I/O error: the path, what happened, and for a full disk what to do.

    A full disk, quota or file-size limit (`ENOSPC`, `EDQUOT`, `EFBIG`) says so whatever
    the library's wording; a message of the raiser's own (not the system's text for the
    errno) is kept after it. Too many open files (`EMFILE`, `ENFILE`) says which limit is
    reached and what to do, the path after it (the file is not at fault).
    """
    path = error.filename or ""
    if error.filename2:
        path = f"{path} -> {error.filename2}"
    if (too_many := open_files_message(error, path)) is not None:
        return too_many
    reason = error.strerror or str(error)
    if error.errno in _DISK_FULL:
        what = "no space left on the device (or a file-size limit reached)"
        if error.strerror and error.strerror != os.strerror(error.errno):
            what += f": {error.strerror}"
        else:
            what += "; free space there or choose another folder"
    else:
        what = reason
    return f"{path}: {what}" if path else what


def read_json(path: Path, argument: str) -> Any:
    """The JSON value of the file `path` given as `argument`; `UsageError` naming both when
    it cannot be read or is not JSON."""
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except OSError as error:
        raise UsageError(f"{argument} {describe_os_error(error)}") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{argument} {path}: not valid JSON ({error})") from error


@contextmanager
def user_errors(*extra: type[BaseException]) -> Iterator[None]:
    """Turn a user's mistake into `error: <message>` on stderr and `SystemExit(2)`.

    Caught: `UsageError`, `OSError` (missing files, permissions, a full disk) and the
    exception types in `extra`. Anything else is a bug and keeps its traceback. Two ends
    that are no mistake end quietly, with the status a shell gives them: stdout closed by
    its reader (`| head`) exits 141, Ctrl-C prints `interrupted` and exits 130, and SIGTERM
    (`timeout`, `kill`, a scheduler's time limit) prints `terminated` and exits 143: each
    raised where the main thread is, so that the writers remove their staging (by default
    SIGTERM ended the process at once, its hidden staging, GBs at scale, left behind).
    """
    prepare_terminal()
    try:
        with signals_raise():
            yield
    except KeyboardInterrupt as error:
        end_by_signal(signal.SIGINT, error)
    except Terminated as error:
        end_by_signal(signal.SIGTERM, error)
    except BrokenPipeError as error:
        _stdout_to_devnull()  # else the interpreter's own flush at exit fails again
        raise SystemExit(141) from error  # 128 + SIGPIPE
    except UsageError as error:
        _fail(str(error), error)
    except OSError as error:
        _fail(describe_os_error(error), error)
    except extra as error:  # type: ignore[misc]
        _fail(str(error), error)
    except Exception as error:  # e.g. DuckDB's "Query interrupted" over the signal's
        if (received := received_signal()) is None:
            raise  # a bug: its traceback
        end_by_signal(received, error)
    finally:
        forget_answered()  # a later output outside a command is not refused


def _stdout_to_devnull() -> None:
    """Point fd 1 at the null device: what is left in stdout's buffer goes nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (a test's, a closed one)
        pass


def _fail(message: str, cause: BaseException) -> None:
    if len(message) > 2000:  # an input echoed whole (a 1 MB line) helps nobody
        message = message[:2000] + f"… ({len(message) - 2000} more characters)"
    # a bar drawn when the error came ends its line first: else the error is written after
    # it, on its line, and the bar is drawn again below the error when it is collected
    close_progress_bars()
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2) from cause


__all__ = [
    "CommandParser",
    "check_arguments_encoding",
    "first_line",
    "prepare_terminal",
    "print_json",
    "command_parser",
    "DefaultsHelpFormatter",
    "UsageError",
    "add_device_argument",
    "add_dtype_argument",
    "describe_os_error",
    "renamed_options",
    "user_errors",
]
