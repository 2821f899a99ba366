"""Link-prediction evaluation: filtered hits@1/3/10 and MRR per language (paper §3.2, Table 1).

Run::

    python -m prixlm.link_prediction.evaluate_lp --model MODEL_DIR --dataset DATASET_DIR --languages de,fr \\
        --split test [--mode beam|full] [--num_beams 50] [--batch_size B] [--max_rows R] \\
        [--limit N] [--protocol ours,kens] [--candidates KG_DIR|entities.json] [--output results.json]

(`--help` lists every option with its default.) What is computed, and how candidates and
filtering work: `prixlm.link_prediction.evaluation`, which callers holding a model use. The
report of a model folder records the sha256 of its weights (`model_weights_sha256`): the
model card takes it only for a folder holding those weights. It records the candidates
ranked too: `candidates` (the absolute path of `--candidates`, None for the dataset's own
labels) and `candidates_sha256` (of what was read from it). A candidate label longer than
the model's positions hold after the shortest prompt is left out with a warning, and the
result of its language counts such labels (`candidates_too_long`, only where there are
some); a query whose gold is one of them counts as a miss (`num_missing`; how many:
`queries_gold_too_long`, only where there are some). `dtype` records
the precision of the weights evaluated (`"float32"`, or `"bfloat16"` for a release saved in
bf16, which loads and is evaluated as saved unless `--dtype float32` asks for float32: beam
search and the full ranking agree exactly for fp32 weights only). In beam mode hits@k is reported for k <= --num_beams only (`–` in
the table, no key in the report): a gold outside the K beams is a miss, which is not hits@k.
Refused before the weights load: link rows in a language the model has no language token
for (a triple's prompt names no language: a language without a token is evaluated on its
triples, and labels its tokenizer cannot tell apart are counted as `merged_candidates`,
which the model card marks), and a split without a column ranking reads (`all_objects`
where the protocol filters by it), and, unless `--allow_training_facts` (the report's
`training_split` says so), a split of another build drawn from the model's training facts
(`prixlm.data.split_record`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modeling_prixlm.beam_search import DEFAULT_MAX_ROWS
from prixlm.cli import (
    UsageError,
    add_device_argument,
    add_dtype_argument,
    command_parser,
    positive_int,
    renamed_options,
    user_errors,
)
from prixlm.data.columns import column, columns
from prixlm.data.split_record import RECORD_KEY, add_allow_argument, check_training_facts
from prixlm.library_bars import library_bars
from prixlm.link_prediction.candidate_files import (
    candidates_source,
    check_languages,
    read_candidates,
    row_kind,
)
from prixlm.link_prediction.evaluation import (
    FULL_BATCH_SIZE,
    FULL_MAX_ROWS,
    MODES,
    EvaluationSettings,
    evaluate_dataset,
    markdown_table,
)
from prixlm.link_prediction.lp_rows import missing_columns
from prixlm.link_prediction.lp_table import unreported_note
from prixlm.link_prediction.protocols import PROTOCOLS, parse_protocols
from prixlm.model_loading import MODEL_CODE_HELP
from prixlm.outputs.atomic import check_output_file, write_json
from prixlm.release.card_results import weights_digest
from prixlm.release.report_checks import record_provenance

DEFAULT_NUM_BEAMS = 50  # K of beam mode, the paper's


def protocol_list(text: str) -> tuple[str, ...]:
    """An argparse type: comma-separated protocol names (`ours,kens`)."""
    try:
        return parse_protocols(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    """The command's options; `--help` shows each one's default."""
    parser = command_parser("prixlm.link_prediction.evaluate_lp", __doc__.splitlines()[0])
    parser.add_argument(
        "--model", required=True, help=f"model folder (or Hub id); {MODEL_CODE_HELP}"
    )
    parser.add_argument("--dataset", required=True, help="dataset folder (or Hub id)")
    parser.add_argument(
        "--languages",
        required=True,
        help="comma-separated dataset configs: languages (de,fr), links or all "
        "(old spelling: --config)",
    )
    parser.add_argument("--split", default="test", help="split to evaluate")
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="beam",
        help="beam: Algorithm 1 with K=--num_beams, reports MRR@K; "
        "full: every candidate scored exactly, reports MRR",
    )
    parser.add_argument(
        "--num_beams",
        type=positive_int,
        default=None,
        help=f"K, partial sequences kept per query, beam mode only; hits@k for k > K is not "
        f"reported (a gold outside the K beams is a miss), so hits@10 needs K >= 10 "
        f"(default: {DEFAULT_NUM_BEAMS})",
    )
    parser.add_argument(
        "--batch_size",
        type=positive_int,
        default=None,
        help=f"queries per forward (default: --max_rows // --num_beams in beam mode, "
        f"{FULL_BATCH_SIZE} in full mode on the CPU, more on a GPU)",
    )
    parser.add_argument(
        "--max_rows",
        type=positive_int,
        default=None,
        help=f"rows (sequences) per forward, each returns a vocabulary of logits; raise it on "
        f"a GPU (default: {DEFAULT_MAX_ROWS} in beam mode, {FULL_MAX_ROWS} in full mode on the CPU, more on a GPU)",
    )
    parser.add_argument(
        "--limit",
        type=positive_int,
        default=None,
        help="evaluate the first N rows of each config; of the `all` config its first N rows, "
        "which may all be one language's (default: every row)",
    )
    parser.add_argument(
        "--protocol",
        type=protocol_list,
        default=None,
        help=f"comma-separated ranking protocols ({', '.join(PROTOCOLS)}), all from one "
        "scoring pass; ours: filtered over every split, realistic ties; kens: the DBP-5L "
        "papers' (train-only filter, ties by entity order, KEnS' top-10 hits rule; needs "
        "--mode full). The first is the report's `results` (default: ours)",
    )
    parser.add_argument(
        "--candidates",
        default=None,
        help="the candidates to rank: a KG folder in the KEnS layout (every entity of its "
        "entity/<lang>.tsv, as the DBP-5L papers rank) or a JSON file {language: [labels in "
        "entity order]} (default: every label of the language in the dataset's triples "
        "or links, for triples and link rows alike)",
    )
    parser.add_argument(
        "--no_progress",
        action="store_true",
        help="no progress bars (the ranking's and the model load's)",
    )
    add_allow_argument(parser)
    add_device_argument(parser)
    add_dtype_argument(parser)
    parser.add_argument(
        "--output",
        default=None,
        help="JSON file for the results, written atomically (default: none, the table is printed)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = build_parser()
    args = parser.parse_args(renamed_options(argv, {"--config": "--languages"}))
    if args.mode == "full" and args.num_beams is not None:  # full mode ranks every candidate
        print(f"warning: --num_beams {args.num_beams} is not used: full mode scores every "
              "candidate (--num_beams applies to --mode beam)", file=sys.stderr)  # fmt: skip
    if args.mode == "beam" and args.num_beams is None:
        args.num_beams = DEFAULT_NUM_BEAMS
    if (
        args.mode == "full"
        and args.batch_size
        and args.max_rows
        and args.max_rows < args.batch_size
    ):
        parser.error(
            f"--batch_size {args.batch_size} exceeds --max_rows {args.max_rows} in full mode"
        )
    if args.mode == "beam" and args.batch_size and args.max_rows:  # K rows per query
        rows = args.batch_size * args.num_beams
        if rows > args.max_rows:
            parser.error(
                f"--batch_size {args.batch_size} x --num_beams {args.num_beams} = {rows} rows "
                f"per forward exceeds --max_rows {args.max_rows} in beam mode"
            )
    args.protocol = args.protocol or ("ours",)
    if args.mode == "beam" and args.protocol != ("ours",):
        parser.error(f"--protocol {','.join(args.protocol)} needs --mode full (beam: ours only)")
    from modeling_prixlm.beam_search import NonFiniteScoresError
    from modeling_prixlm.decoding_steps import PositionBudgetError

    # a test query the model's positions cannot hold; a model whose outputs are not finite
    with user_errors(PositionBudgetError, NonFiniteScoresError), library_bars(not args.no_progress):
        return _evaluate(args)


def check_model_languages(model: str, languages: set[str], what: str) -> None:
    """`UsageError` if the link rows to evaluate (`what`) are in `languages` that the model
    `model` has no language token for (a link prompt holds both languages' tokens): read from its config (`language_token_ids`), before
    the weights load. A model whose config records none, or whose config does not load
    (`load_prixlm` says why), is not checked here."""
    from transformers import AutoConfig

    from modeling_prixlm.formatting import language_key
    from prixlm.model_loading import check_model_source, is_prixlm

    check_model_source(model)
    try:  # a model not Prix-LM: no code of its folder is run (`load_prixlm` refuses it)
        config = AutoConfig.from_pretrained(model, trust_remote_code=is_prixlm(model))
    except (OSError, ValueError):
        return
    known = {language_key(code) for code in getattr(config, "language_token_ids", None) or {}}
    missing = sorted({code for code in languages if language_key(code) not in known})
    if known and missing:
        raise UsageError(
            f"{what}: rows in {', '.join(missing)}, which --model {model} has no language "
            f"token for (its languages: {', '.join(sorted(known))}); evaluate configs of "
            "its languages, or a model trained on these"
        )


def check_columns(
    rows: Any, dataset: str, config: str, split: str, protocols: Sequence[str]
) -> None:
    """`UsageError` naming `--dataset`, the config and the columns that the split's `rows`
    lack of those ranking reads under `protocols` (`lp_rows.required_columns`: without
    `all_objects`, a filtered protocol would rank unfiltered)."""
    if missing := missing_columns(rows.column_names, protocols):
        raise UsageError(
            f"--dataset {dataset}: config {config!r}, split {split!r} has no column "
            f"{', '.join(missing)}, which --protocol {','.join(protocols)} ranks with "
            f"(its columns: {', '.join(rows.column_names)})"
        )


def dataset_state(dataset: str) -> tuple | None:
    """The state (`prixlm.data.load_cache.file_state`: size, times, inode) of a dataset
    folder's card and Parquet files, hidden entries aside; None for a Hub id. A build into
    the folder (new files, swapped in) changes it."""
    from prixlm.data.load_cache import file_state

    folder = Path(dataset)
    if not folder.is_dir():
        return None
    files = [folder / "README.md", *sorted(folder.rglob("*.parquet"))]
    names = [(path, path.relative_to(folder).as_posix()) for path in files if path.is_file()]
    return tuple((name, file_state(path)) for path, name in names if not name.startswith("."))


def _evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from prixlm.data.loading import load_kb
    from prixlm.model_loading import load_command_model

    if args.output:  # fail now, not after the evaluation
        inputs = (("--model", args.model), ("--dataset", args.dataset), ("--candidates", args.candidates))  # fmt: skip
        check_output_file(args.output, "--output", inputs)
    candidates = read_candidates(args.candidates) if args.candidates else None
    source = candidates_source(args.candidates)  # what was read, before the long evaluation
    state = dataset_state(args.dataset)  # each config is read when it is ranked
    configs = [c.strip() for c in args.languages.split(",") if c.strip()]
    if not configs:
        raise UsageError(f"--languages {args.languages!r}: no language given")
    row_languages: set[str] = set()
    for config in configs:  # every config and split checked before the model loads
        rows = load_kb(args.dataset, config, args.split)
        check_columns(rows, args.dataset, config, args.split, args.protocol)
        rows = rows.select(range(min(args.limit, len(rows)))) if args.limit else rows
        # a link's prompt names both languages by their tokens (a triple's names none)
        firsts, seconds = columns(rows, ("subject_language", "object_language"))
        kinds = column(rows, "kind", None)
        for kind, first, second in zip(kinds, firsts, seconds, strict=True):
            if row_kind(kind, first, second) == "link":
                row_languages.update((first, second))
        if candidates is not None:
            golds = {"object": column(rows, "object"), "object_language": seconds}
            where = f"--candidates {args.candidates}"
            check_languages(candidates, set(seconds), where, rows=golds)
    check_model_languages(args.model, row_languages, f"--languages {args.languages}")
    # a rebuild (another seed, protocol, fractions) draws its test split from training facts
    overlap = check_training_facts(
        args.model, args.dataset, args.split, configs, args.allow_training_facts, "--split"
    )
    # the weights evaluated, for the model card to tell this model's report from the one
    # of an earlier model written to the same folder (`card_results.check_report`)
    digest = weights_digest(args.model)
    model, tokenizer = load_command_model(args)
    settings = EvaluationSettings(
        split=args.split,
        mode=args.mode,
        num_beams=args.num_beams or DEFAULT_NUM_BEAMS,  # unused in full mode
        batch_size=args.batch_size,
        max_rows=args.max_rows,
        limit=args.limit,
        protocols=args.protocol,
        progress=not args.no_progress,
    )
    report = evaluate_dataset(
        model, tokenizer, args.model, args.dataset, configs, settings, candidates
    )
    if dataset_state(args.dataset) != state:  # a build into --dataset since the start
        raise UsageError(
            f"--dataset {args.dataset}: its files changed while it was evaluated (a build into "
            "it?): the languages ranked before and after come from different builds, and no "
            "report is written; evaluate again once nothing writes the folder"
        )
    record_provenance(report, model, digest, args.dataset)
    report[RECORD_KEY] = overlap
    report.update(source)
    if args.output:  # before the table: a closed stdout (`| head`) keeps the report
        write_json(report, args.output, "--output")
    for protocol, results in report["results_by_protocol"].items():
        if len(args.protocol) > 1:
            print(f"\nprotocol: {protocol}")
        print(markdown_table(results, args.mode, args.num_beams))
    if note := unreported_note(args.mode, args.num_beams):  # the table's `–` cells
        print(note, file=sys.stderr)
    return report


if __name__ == "__main__":
    main()
