"""Convert a KG in the KEnS / SS-AGA layout (DBP-5L, ...) into a Prix-LM dataset folder.

Run::

    python -m prixlm.data.kg_layout --input_dir dbp5l/ --output_dir dbp5l_dataset/ \\
        [--languages el,en,es,fr,ja] [--license cc-by-sa-3.0]

then `datasets.load_dataset("dbp5l_dataset", "el")` (after a conversion into the same folder,
`prixlm.data.loading.load_kb`: datasets caches a local folder by its name and card),
`train.py --dataset dbp5l_dataset`,
`python -m prixlm.link_prediction.evaluate_lp --dataset dbp5l_dataset --languages el`.
The mapping rules and what is dropped: `prixlm.data.kg_layout.convert`, and
`dataset_builders/kg_layout/README.md`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from prixlm.cli import command_parser, user_errors
from prixlm.data.dbpedia.build_arguments import add_output_arguments
from prixlm.data.dbpedia.schema import SPLITS
from prixlm.data.kg_layout.convert import DEFAULT_LICENSE, ConversionStats, convert_layout
from prixlm.hub.licenses import license_argument


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m prixlm.data.kg_layout`."""
    parser = command_parser("prixlm.data.kg_layout", __doc__.splitlines()[0])
    parser.add_argument(
        "--input_dir",
        required=True,
        type=Path,
        help="the KG folder: entity/<lang>.tsv, kg/<lang>-{train,val,test}.tsv, relations.txt, "
        "seed_alignlinks/<a>-<b>.tsv",
    )
    parser.add_argument(
        "--languages",
        help="comma-separated languages to convert; none: every language with a "
        "kg/<lang>-train.tsv",
    )
    parser.add_argument(
        "--license",
        dest="license_id",
        type=license_argument,
        default=DEFAULT_LICENSE,
        help="Hub licence id for the card (e.g. cc-by-sa-3.0 for DBpedia-derived KGs)",
    )
    add_output_arguments(parser)
    return parser


def summary(stats: ConversionStats, input_dir: Path) -> list[str]:
    """The lines printed after a conversion: per language and split, rows of lines; the
    alignment files not read, under `input_dir`."""
    lines = []
    for language, counts in stats.languages.items():
        splits = ", ".join(f"{s} {counts.rows[s]:,}/{counts.lines[s]:,}" for s in SPLITS)
        dropped = sum(counts.dropped_empty_label.values())
        lines.append(
            f"  {language}: {splits} rows/lines; {dropped} dropped (empty label); "
            f"{counts.repeated_iris} repeated IRIs, {counts.text_repeats} repeated texts (kept)"
        )
    pairs = sum(stats.link_lines.values())
    lines.append(
        f"  links: {stats.link_rows:,} rows from {pairs:,} pairs in {len(stats.link_lines)} files; "
        f"{stats.links_dropped_empty_label} pairs dropped (empty label), "
        f"{stats.link_repeats} listed twice in one file (kept), "
        f"{stats.link_reverse_repeats} also in the other direction's file (kept once)"
    )
    for path in stats.skipped_files:
        lines.append(f"  not read: {input_dir / path}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit status (2 and one `error:` line for bad input)."""
    args = build_parser().parse_args(argv)
    languages = [c.strip() for c in (args.languages or "").split(",") if c.strip()]
    # the input folder by its name, quoted as the shell reads it (`my KG [v1]/`)
    words = ["--input_dir", f"{args.input_dir.absolute().name}/"]
    if languages:
        words += ["--languages", ",".join(languages)]
    command = shlex.join(["python", "-m", "prixlm.data.kg_layout", *words])
    with user_errors(ValueError):
        stats = convert_layout(
            args.input_dir,
            args.output_dir,
            languages or None,
            license_id=args.license_id,
            progress=not args.no_progress,
            max_shard_bytes=args.max_shard_bytes,
            max_shard_rows=args.max_shard_rows,
            command=command,
        )
    print(f"wrote {args.output_dir} in {stats.seconds:.1f} s")
    print("\n".join(summary(stats, args.input_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
