"""The command line of `python -m prixlm.data.dbpedia.build`: its options and `--tokenizer`.

`build_parser` declares every option (`--help` shows each default); `add_output_arguments`
the shard-size and progress options that every command writing a dataset folder shares
(the DBpedia build, `prixlm.data.kg_layout`); `load_tokenizer` turns `--tokenizer` into a
tokenizer or an error naming the argument; `recorded_command` is the command line that the
dataset card records.
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prixlm.cli import command_parser, positive_int
from prixlm.data.dbpedia.output import DEFAULT_MAX_SHARD_BYTES, DEFAULT_MAX_SHARD_ROWS
from prixlm.data.dbpedia.schema import PROTOCOLS, SplitSettings
from prixlm.data.ntriples import DEFAULT_MAX_LINE_BYTES
from prixlm.hub.licenses import license_argument


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """The output folder, shard-size and progress options of every command that writes a
    dataset folder."""
    parser.add_argument(
        "--output_dir",
        required=True,
        type=Path,
        help="dataset folder to write (Parquet + README.md); an earlier build there is "
        "replaced, other files in it are kept",
    )
    parser.add_argument(
        "--max_shard_bytes",
        type=int,
        default=DEFAULT_MAX_SHARD_BYTES,
        help="most Arrow bytes of rows in one Parquet shard (the files are smaller)",
    )
    parser.add_argument(
        "--max_shard_rows",
        type=int,
        default=DEFAULT_MAX_SHARD_ROWS,
        help="most rows in one Parquet shard",
    )
    parser.add_argument("--no_progress", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m prixlm.data.dbpedia.build`."""
    defaults = SplitSettings()
    parser = command_parser(
        "prixlm.data.dbpedia.build",
        "Build Prix-LM triples and links (Parquet + dataset card) from DBpedia dumps.",
    )
    parser.add_argument(
        "--dump_dir",
        required=True,
        type=Path,
        help="folder with DBpedia 2016-10 or Databus dump files (plain, .bz2 or .gz), searched "
        "recursively",
    )
    parser.add_argument(
        "--languages",
        help="comma-separated language codes to build; none: every language with a labels "
        "file and an object-facts file",
    )
    parser.add_argument(
        "--link_languages",
        help="keep only links with one end in these comma-separated languages (e.g. en); "
        "none: links between every pair of built languages. The fact split keys an entity "
        "on the English IRI that its links name, read from every link to English, kept or "
        "not, so this option changes only the split of entities whose links name none: "
        "their copies are joined through the kept links only",
    )
    parser.add_argument(
        "--split_protocol",
        choices=PROTOCOLS,
        default=defaults.protocol,
        help="fact: a fact is held out in every language at once where its entities are "
        "joined by links (a fact between entities without links is drawn per language, so "
        "the same text row can be train in one language and test in another); language: "
        "the paper's independent sample per language",
    )
    parser.add_argument(
        "--test_fraction",
        type=float,
        default=defaults.test_fraction,
        help="share of the triples (facts, for --split_protocol fact) held out as test",
    )
    parser.add_argument(
        "--validation_fraction",
        type=float,
        default=defaults.validation_fraction,
        help="share held out as validation",
    )
    parser.add_argument(
        "--inverse_threshold",
        type=float,
        default=defaults.inverse_threshold,
        help="r2 is an inverse of r1 when it mirrors at least this share of r1's training "
        "pairs; test/validation triples (s, r1, o) with (o, r2, s) in training are removed; "
        "0: for any r2, the paper's rule (footnote 6)",
    )
    parser.add_argument(
        "--max_length",
        type=positive_int,
        default=defaults.max_length,
        help="with --tokenizer: drop rows of this many tokens or more (the paper's filter)",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the split hash")
    parser.add_argument(
        "--tokenizer",
        help="tokenizer folder (or cached Hub id) for the --max_length filter; none: no "
        "length filter. A Prix-LM release folder's model code (its *.py files) is run to "
        "read it, as transformers' trust_remote_code=True; no other folder's code is",
    )
    parser.add_argument(
        "--ontology",
        type=Path,
        help="ontology dump (e.g. dbpedia_2016-10.nt) whose labels name the relations; none: "
        "names from the relation IRIs (officialLanguage -> official language)",
    )
    parser.add_argument(
        "--license",
        dest="license_id",
        type=license_argument,
        help="Hub licence id for the card; none: the licence of the exporter's *_info.json "
        "(in --dump_dir or a subfolder on the way to the dumps read), else cc-by-sa-3.0 "
        "(DBpedia)",
    )
    parser.add_argument(
        "--allow_predicted_facts",
        action="store_true",
        help="read a dump file that opens with a '# predicted by prixlm' line (as "
        "prixlm.complete's N-Triples and the Space's Batch tab's completed.nt do) as source "
        "facts (drawn into every split, test included); none: such a file stops the build",
    )
    parser.add_argument("--strict", action="store_true", help="stop at the first malformed line")
    parser.add_argument(
        "--max_line_bytes",
        type=int,
        default=DEFAULT_MAX_LINE_BYTES,
        help="the longest dump line read (bytes); a longer line is an error naming file:line",
    )
    parser.add_argument(
        "--num_proc",
        type=int,
        default=min(8, os.cpu_count() or 1),
        help="processes parsing dump files into Parquet (a large plain file in parts, one "
        "file or part per process at a time)",
    )
    parser.add_argument(
        "--threads", type=int, help="DuckDB threads; none: DuckDB's default (every core)"
    )
    parser.add_argument(
        "--memory_limit",
        help="DuckDB memory limit (e.g. 4GB); beyond it, tables, joins and sorts spill to "
        "--temp_dir (the process peaks ~0.7 GiB above it: 4.55 GiB at 30M lines under 4GB); "
        "none: DuckDB's default, most of the RAM",
    )
    parser.add_argument(
        "--temp_dir",
        type=Path,
        help="folder for the parsed records and DuckDB's spill files (uncompressed: ~0.5 GB "
        "per million records beyond the limit); a killed build's folder there is removed by the "
        "next build; none: inside the build's hidden staging folder beside --output_dir "
        "(.OUTPUT.<host>-<pid>.partial)",
    )
    add_output_arguments(parser)
    parser.add_argument(
        "--profile",
        nargs="?",
        const="",
        metavar="JSON",
        help="print the wall and CPU seconds of each stage (reading, each SQL statement, the "
        "card) and their ratio, the cores each kept busy; with a path, also write them there "
        "as JSON; none: no profile",
    )
    return parser


def load_tokenizer(name: str) -> Any:
    """The tokenizer of `--tokenizer`: a folder, or a Hub id already in the local cache.

    Raises:
        FileNotFoundError: naming the argument, when `name` is neither.
    """
    from transformers import AutoTokenizer

    from prixlm.model_loading import is_prixlm

    path = Path(name).expanduser()
    looks_like_path = path.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1
    if not path.exists() and looks_like_path:
        raise FileNotFoundError(f"--tokenizer {name}: no such folder")
    source = str(path) if path.exists() else name
    trusted = is_prixlm(source, local_files_only=True)  # a Prix-LM's code only
    try:
        return AutoTokenizer.from_pretrained(
            source, local_files_only=True, trust_remote_code=trusted
        )
    except (OSError, ValueError) as error:
        where = "folder" if path.exists() else "no such folder, and not a cached Hub id"
        raise FileNotFoundError(
            f"--tokenizer {name}: {where}; no tokenizer loaded ({error})"
        ) from error


COMMAND = "python -m prixlm.data.dbpedia.build"
#: The options that change no file of the build, only where and how fast it runs: the card's
#: command line leaves them out, so that builds differing in them only stay byte-identical.
UNRECORDED_OPTIONS = (
    "--output_dir",
    "--num_proc",
    "--threads",
    "--memory_limit",
    "--temp_dir",
    "--no_progress",
    "--profile",
)


def _given(argv: Sequence[str]) -> tuple[argparse.ArgumentParser, dict[str, Any]]:
    """A `build_parser` and the options `argv` gives (by `dest`), each value as typed."""
    parser = build_parser()
    for action in parser._actions:  # only what `argv` gives, and each value as typed
        action.default, action.type, action.required = argparse.SUPPRESS, None, False
    # the base class's parsing: values as typed, `~/` too (`CommandParser` reads it as home)
    return parser, vars(argparse.ArgumentParser.parse_known_args(parser, list(argv))[0])


def check_length_filter(
    parser: argparse.ArgumentParser, args: argparse.Namespace, argv: Sequence[str]
) -> None:
    """A usage error for `--max_length` given without `--tokenizer`: without a tokenizer no
    row is measured, and the build ran unfiltered (its card says so) without a word."""
    if args.tokenizer is None and "max_length" in _given(argv)[1]:
        parser.error(
            f"--max_length {args.max_length}: only with --tokenizer (the tokenizer that "
            "measures the rows); without it no row is dropped for its length"
        )


def recorded_command(argv: Sequence[str]) -> str:
    """The command line of the build of `argv` that its dataset card records.

    `COMMAND` and each option given in `argv`, with its value as given (paths as typed, not
    resolved), in `--help` order, so that the same options in another order record the
    same line; not `UNRECORDED_OPTIONS`. `argv` must be valid (`build_parser` parsed it).
    """
    parser, given = _given(argv)
    words = []
    for action in parser._actions:
        option = action.option_strings[0] if action.option_strings else None
        if option is None or option in UNRECORDED_OPTIONS or action.dest not in given:
            continue
        words += [option] if action.nargs == 0 else [option, str(given[action.dest])]
    return " ".join([COMMAND, *map(shlex.quote, words)])
