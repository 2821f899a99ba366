"""Build the Prix-LM dataset from DBpedia-format dumps: Parquet files plus a dataset card.

Run::

    python -m prixlm.data.dbpedia.build --dump_dir DUMPS --languages en,de,fr \\
        --output_dir data/prixlm_kb [--split_protocol fact|language] [--strict] \\
        [--tokenizer TOKENIZER_DIR] [--ontology dbpedia_2016-10.nt] [--link_languages en]

then `datasets.load_dataset("data/prixlm_kb", "de")` (offline), or push the folder to the
Hub and `load_dataset("org/name", "de")`. The layout is described in `output`, the splits
and filters in `splits`, the construction in `construction`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prixlm.atomic_output import check_parent
from prixlm.data.dbpedia.card import dataset_card, read_source_info
from prixlm.data.dbpedia.construction import build_knowledge_base
from prixlm.data.dbpedia.dumps import (
    ReadOptions,
    discover_languages,
    normalize_language,
)
from prixlm.data.dbpedia.help_format import DefaultsHelpFormatter
from prixlm.data.dbpedia.output import CARD, check_replaceable, dataset_folder, write_rows
from prixlm.data.dbpedia.schema import PROTOCOLS, Row, SplitSettings, encode_row
from prixlm.data.dbpedia.splits import DatasetRows, SequenceLength, build_rows
from prixlm.data.ntriples import DumpError


def tokenized_length(tokenizer: Any, languages: Sequence[str]) -> SequenceLength:
    """`row -> number of tokens` in the Prix-LM format (`modeling_prixlm.formatting`).

    The fact and language tokens are added to `tokenizer` (in place) if it lacks them.
    """
    from modeling_prixlm.formatting import add_prixlm_tokens

    add_prixlm_tokens(tokenizer, languages)

    def length(row: Row) -> int:
        return len(encode_row(tokenizer, row).input_ids)

    return length


def build_dataset(
    dump_dir: str | Path,
    output_dir: str | Path | None,
    languages: Sequence[str] | None = None,
    *,
    settings: SplitSettings | None = None,
    ontology: str | Path | None = None,
    link_languages: Sequence[str] | None = None,
    tokenizer: Any = None,
    strict: bool = False,
    license_id: str | None = None,
    progress: bool = False,
) -> tuple[DatasetRows, ReadOptions]:
    """Read the dumps, split and filter, and (if `output_dir`) write Parquet + `README.md`.

    Args:
        dump_dir: folder with DBpedia-format dump files (see `dumps`).
        output_dir: the folder to (re)place atomically (see `output.dataset_folder`: what an
            earlier build wrote there is replaced, other entries are kept); None builds in
            memory only.
        languages: codes to build; default every language with a labels file.
        settings: split protocol, fractions, inverse threshold, length limit.
        ontology: optional ontology dump naming the relations.
        link_languages: keep only links with one end in these languages (default: all).
        tokenizer: optional tokenizer for the length filter (rows of `max_length`+ tokens).
        strict: stop at the first malformed line.
        license_id: Hub licence id for the card (default: from `*_info.json`, else DBpedia's).
        progress: tqdm bars while reading and writing.

    Returns:
        the rows with their statistics, and the read options with per-file line counts.
    """
    if output_dir is not None:  # before the work, not after it
        check_parent(output_dir, argument="--output_dir")
        check_replaceable(output_dir)
    languages = list(languages) if languages else discover_languages(dump_dir)
    if not languages:
        raise FileNotFoundError(f"--dump_dir {dump_dir}: no labels_*.ttl files found")
    options = ReadOptions(strict=strict, progress=progress)
    kb = build_knowledge_base(
        dump_dir,
        languages,
        ontology=ontology,
        link_languages=list(link_languages) if link_languages else None,
        options=options,
    )
    length = tokenized_length(tokenizer, kb.languages) if tokenizer is not None else None
    rows = build_rows(kb, settings, length)
    if output_dir is not None:
        source = read_source_info(dump_dir)
        with dataset_folder(output_dir) as staging:
            sizes = write_rows(rows, staging, progress=progress)
            card = dataset_card(rows, sizes, license_id=license_id, source=source)
            (staging / CARD).write_text(card, encoding="utf-8")
    return rows, options


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m prixlm.data.dbpedia.build`."""
    defaults = SplitSettings()
    parser = argparse.ArgumentParser(
        prog="python -m prixlm.data.dbpedia.build",
        description="Build Prix-LM triples and links (Parquet + dataset card) from DBpedia dumps.",
        formatter_class=DefaultsHelpFormatter,
    )
    parser.add_argument(
        "--dump_dir",
        required=True,
        type=Path,
        help="folder with DBpedia 2016-10 or Databus dump files (plain, .bz2 or .gz), searched "
        "recursively",
    )
    parser.add_argument(
        "--output_dir",
        required=True,
        type=Path,
        help="dataset folder to write (Parquet + README.md); an earlier build there is "
        "replaced, other files in it are kept",
    )
    parser.add_argument(
        "--languages",
        help="comma-separated language codes to build; none: every language with a labels "
        "file and an object-facts file",
    )
    parser.add_argument(
        "--link_languages",
        help="keep only links with one end in these comma-separated languages (e.g. en); "
        "none: links between every pair of built languages",
    )
    parser.add_argument(
        "--split_protocol",
        choices=PROTOCOLS,
        default=defaults.protocol,
        help="fact: a fact is held out in every language at once; language: the paper's "
        "independent sample per language",
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
        "pairs; test/validation triples whose inverse is in training are removed",
    )
    parser.add_argument(
        "--max_length",
        type=int,
        default=defaults.max_length,
        help="with --tokenizer: drop rows of this many tokens or more (the paper's filter)",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the split hash")
    parser.add_argument(
        "--tokenizer",
        help="tokenizer folder (or cached Hub id) for the --max_length filter; none: no "
        "length filter",
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
        help="Hub licence id for the card; none: the exporter's *_info.json licence, else "
        "cc-by-sa-3.0 (DBpedia)",
    )
    parser.add_argument("--strict", action="store_true", help="stop at the first malformed line")
    parser.add_argument("--no_progress", action="store_true", help="no progress bars")
    return parser


def load_tokenizer(name: str) -> Any:
    """The tokenizer of `--tokenizer`: a folder, or a Hub id already in the local cache.

    Raises:
        FileNotFoundError: naming the argument, when `name` is neither.
    """
    from transformers import AutoTokenizer

    path = Path(name).expanduser()
    looks_like_path = path.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1
    if not path.exists() and looks_like_path:
        raise FileNotFoundError(f"--tokenizer {name}: no such folder")
    try:
        return AutoTokenizer.from_pretrained(
            str(path) if path.exists() else name, local_files_only=True, trust_remote_code=True
        )
    except (OSError, ValueError) as error:
        where = "folder" if path.exists() else "no such folder, and not a cached Hub id"
        raise FileNotFoundError(
            f"--tokenizer {name}: {where}; no tokenizer loaded ({error})"
        ) from error


def _codes(listed: str | None) -> list[str]:
    return [code.strip() for code in (listed or "").split(",") if code.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        languages = [normalize_language(c) for c in _codes(args.languages)]
        settings = SplitSettings(
            protocol=args.split_protocol,
            test_fraction=args.test_fraction,
            validation_fraction=args.validation_fraction,
            inverse_threshold=args.inverse_threshold,
            max_length=args.max_length,
            seed=args.seed,
        )
        tokenizer = load_tokenizer(args.tokenizer) if args.tokenizer is not None else None
        rows, options = build_dataset(
            args.dump_dir,
            args.output_dir,
            languages,
            settings=settings,
            ontology=args.ontology,
            link_languages=_codes(args.link_languages),
            tokenizer=tokenizer,
            strict=args.strict,
            license_id=args.license_id,
            progress=not args.no_progress,
        )
    except (DumpError, FileNotFoundError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    malformed = sum(s.malformed for s in options.stats.values())
    for path, stats in options.stats.items():
        if stats.malformed:
            print(f"warning: {path}: {stats.summary()}", file=sys.stderr)
    print(f"wrote {args.output_dir} ({malformed} malformed lines skipped)")
    for language, stats in rows.stats.items():
        print(f"  {language}: {stats.triples} triples {stats.splits}, {stats.links} links")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
