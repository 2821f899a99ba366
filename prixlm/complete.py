"""Propose facts for a thin language from what other languages hold.

Run::

    python -m prixlm.complete --model MODEL_DIR --dataset DATASET_DIR --target_language et \\
        --output new_facts.nt [--tsv new_facts.tsv] [--threshold 0.5] [--max_per_pair 1] \\
        [--evidence_languages en,de] [--target_splits train,validation] [--num_beams 50]

For every (subject, relation) pair that an evidence language holds and the target lacks
(`prixlm.completion.knowledge`): the subject is mapped to the target language through the
dataset's `links` config (directly, or through one language both link to, as in a dataset
built with `--link_languages en`), the relation keeps its IRI (named by the target's own
label), and constrained link prediction over the target's entities proposes objects; those whose
probability `exp(-loss)` is at least `--threshold` are written as N-Triples with the dumps'
IRIs (after a first comment line `# predicted by prixlm.complete: model ..., target_language
..., threshold ...`: the dataset build refuses a dump file that opens with it, unless
`--allow_predicted_facts`, so that predictions do not become test facts), and as a TSV with labels, score, the evidence languages and those whose own object is
linked to the proposed one (agreement). `--target_splits` limits what the target is taken to
hold (e.g. hide its test split to measure: `prixlm.completion.measure`); it must hold facts
there. Evidence languages taken by default whose configs hold no triples (languages with
links only) are skipped and named on stderr; one named in `--evidence_languages` is refused.
`--max_per_pair` above `--num_beams` is refused: the search ranks K objects per pair (past
rank K, objects are those that completed along the way, not the model's next best). Pairs
whose relation the target never uses are skipped, their relations named on stderr. A target
language the model has no language token for is refused (exit 2). Entities the model cannot
tell apart (one label naming several entities, or labels that tokenise alike, e.g. through
`<unk>`: warned once) are written only where an evidence language's link says which
entity, else skipped and counted (`ambiguous_objects`); IRIs that are not valid IRIs are counted (`invalid_iris`) and the
first named in a warning. The TSV has one line per N-Triples fact line, its cells escaped without
CSV quoting (`prixlm.completion.output`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from prixlm.cli import (
    UsageError,
    add_device_argument,
    add_dtype_argument,
    command_parser,
    user_errors,
)
from prixlm.completion.loading import (
    CompletionInputError,
    load_completion_kb,
)
from prixlm.completion.output import default_tsv_path, predicted_facts_header, write_proposals
from prixlm.completion.propose import Proposal, check_max_per_pair, run_completion
from prixlm.library_bars import library_bars
from prixlm.model_loading import MODEL_CODE_HELP, check_model_source, load_command_model
from prixlm.outputs.atomic import check_output_file


def _split_list(text: str | None) -> list[str] | None:
    items = [item.strip() for item in (text or "").split(",") if item.strip()]
    return items or None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = command_parser("prixlm.complete", __doc__.splitlines()[0])
    parser.add_argument(
        "--model", required=True, help=f"model folder (or Hub id); {MODEL_CODE_HELP}"
    )
    parser.add_argument("--dataset", required=True, help="dataset folder (or Hub id)")
    parser.add_argument("--target_language", required=True, help="the language to complete")
    parser.add_argument("--output", required=True, help="N-Triples file to write")
    parser.add_argument("--tsv", default=None, help="TSV file (default: --output with .tsv)")
    parser.add_argument("--threshold", type=float, default=0.5, help="min probability exp(-loss)")
    parser.add_argument("--max_per_pair", type=int, default=1, help="max objects per pair")
    parser.add_argument(
        "--evidence_languages", default=None, help="default: all but the target (with triples)"
    )
    parser.add_argument("--target_splits", default=None, help="splits the target holds (all)")
    parser.add_argument("--num_beams", type=int, default=50, help="beam size K of the search")
    parser.add_argument(
        "--batch_size",
        type=int,
        default=None,
        help="queries per forward (default: 8 on the CPU; on a GPU, up to 8,192 rows // --num_beams)",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N pairs")
    add_device_argument(parser)
    add_dtype_argument(parser)
    parser.add_argument(
        "--no_progress", action="store_true", help="no progress bars (also none of the model load)"
    )
    return parser.parse_args(argv)


def check_arguments(args: argparse.Namespace) -> None:
    """Everything that can be checked without reading the dataset (CompletionInputError)."""
    check_model_source(args.model)
    if not 0.0 <= args.threshold <= 1.0:
        raise CompletionInputError(f"--threshold {args.threshold}: a probability in [0, 1]")
    for name in ("max_per_pair", "num_beams", "batch_size"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise CompletionInputError(f"--{name} {getattr(args, name)}: must be >= 1")
    check_max_per_pair(args.max_per_pair, args.num_beams)
    if args.limit is not None and args.limit < 1:
        raise CompletionInputError(f"--limit {args.limit}: must be >= 1")
    for name in ("evidence_languages", "target_splits"):  # given, but naming none ("," or "")
        if getattr(args, name) is not None and not _split_list(getattr(args, name)):
            raise CompletionInputError(f"--{name} {getattr(args, name)!r}: names none")
    tsv = args.tsv or default_tsv_path(args.output)
    for argument, path in (("--output", args.output), ("--tsv", tsv)):
        if Path(path).is_dir():
            raise CompletionInputError(f"{argument} {path}: a folder; give a file path")
        check_output_file(path, argument, (("--model", args.model), ("--dataset", args.dataset)))
    if Path(args.output).resolve() == Path(tsv).resolve():
        raise CompletionInputError(
            f"--output {args.output} and --tsv {tsv} are the same file (the TSV would "
            "overwrite the N-Triples): give --output a .nt name or another --tsv"
        )


def main(argv: Sequence[str] | None = None) -> list[Proposal]:
    """Run the command; exits with status 2 and a one-line error for bad input."""
    args = parse_args(argv)
    tsv = args.tsv or default_tsv_path(args.output)
    with user_errors(), library_bars(not args.no_progress):
        check_arguments(args)
        kb = load_completion_kb(
            args.dataset,
            args.target_language,
            _split_list(args.evidence_languages),
            _split_list(args.target_splits),
        )
        if kb.skipped_note():  # default evidence languages with links only
            print(kb.skipped_note(), file=sys.stderr)
        model, tokenizer = load_command_model(args)
        try:  # prepare_inputs checks every prompt and candidate before decoding starts
            proposals, stats = run_completion(
                model,
                tokenizer,
                kb,
                args.threshold,
                max_per_pair=args.max_per_pair,
                num_beams=args.num_beams,
                batch_size=args.batch_size,
                limit=args.limit,
                progress=not args.no_progress,
            )
        except UsageError:
            raise  # names its own argument (a target language the model has no token for)
        except ValueError as err:
            raise UsageError(f"--model {args.model} cannot complete this dataset: {err}") from err
        header = predicted_facts_header(args.model, args.target_language, args.threshold)
        write_proposals(proposals, args.output, tsv, header)
    counts = ", ".join(f"{key} {value}" for key, value in stats.counts().items())
    print(f"{args.target_language}: {counts}")
    for note in (
        stats.unlinked_languages_note(args.target_language),
        stats.unknown_relations_note(),
    ):
        if note:
            print(note, file=sys.stderr)
    print(f"wrote {len(proposals)} facts with score >= {args.threshold}: {args.output}, {tsv}")
    return proposals


if __name__ == "__main__":
    main()
