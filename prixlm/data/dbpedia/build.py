"""Build the Prix-LM dataset from DBpedia-format dumps: Parquet files plus a dataset card.

Run::

    python -m prixlm.data.dbpedia.build --dump_dir DUMPS --languages en,de,fr \\
        --output_dir data/prixlm_kb [--split_protocol fact|language] [--strict] \\
        [--tokenizer TOKENIZER_DIR] [--ontology dbpedia_2016-10.nt] [--link_languages en]

then `datasets.load_dataset("data/prixlm_kb", "de")` (offline; after a rebuild into the same
folder, `prixlm.data.loading.load_kb("data/prixlm_kb", "de")`: datasets caches a local folder
by its name and card, and a rebuild with the same row counts and sizes keeps both), or push
the folder to the Hub and `load_dataset("org/name", "de")`. Engine options: `--num_proc` (parsing
processes), `--threads`, `--memory_limit 4GB`, `--temp_dir` (spill folder),
`--max_shard_bytes`, `--max_shard_rows`; `--profile` prints the wall and CPU seconds of
each stage.

Stages: the dumps become Parquet record files (`convert`), DuckDB joins them (`tables`),
splits and filters them (`splits`) and writes the shards (`output`), with the card (`card`).
"""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from prixlm.cli import UsageError, describe_os_error
from prixlm.data.dbpedia.build_arguments import (
    build_parser,
    check_length_filter,
    load_tokenizer,
    recorded_command,
)
from prixlm.data.dbpedia.card import BuildRecord, dataset_card, read_source_info
from prixlm.data.dbpedia.dataset_folder import CARD, check_replaceable, dataset_folder
from prixlm.data.dbpedia.drops import fill_stats, summary_table, warnings
from prixlm.data.dbpedia.dumps import (
    DumpIndex,
    ReadOptions,
    find_dump_files,
    label_tags,
    normalize_language,
    note_variants,
    select_languages,
)
from prixlm.data.dbpedia.engine import (
    EngineMemoryError,
    EngineOptions,
    construct,
    lengths,
    memory_errors,
)
from prixlm.data.dbpedia.output import data_files, file_digests, write_shards
from prixlm.data.dbpedia.predicted_facts import check_predicted_facts
from prixlm.data.dbpedia.profile import BuildProfile
from prixlm.data.dbpedia.read_rows import dropped_label_tags
from prixlm.data.dbpedia.schema import ALL, Row, SplitSettings
from prixlm.data.dbpedia.splits import DatasetRows, build_rows
from prixlm.data.dbpedia.token_lengths import token_lengths
from prixlm.data.dbpedia.work_folder import work_folder
from prixlm.data.ntriples import DEFAULT_MAX_LINE_BYTES, DumpError
from prixlm.hub.licenses import hub_license
from prixlm.outputs.atomic import check_parent, write_json, writer_lock

WORK = ".build"  # the work folder inside the staging folder (removed before publishing)
logger = logging.getLogger(__name__)


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
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    license_id: str | None = None,
    progress: bool = False,
    engine: EngineOptions | None = None,
    sequence_length: Callable[[Row], int] | None = None,
    profile: BuildProfile | None = None,
    command: str | None = None,
    allow_predicted_facts: bool = False,
) -> tuple[DatasetRows, ReadOptions]:
    """Read the dumps, split and filter, and (if `output_dir`) write Parquet + `README.md`.

    The dumps become Parquet record files (`records`, `engine.num_proc` processes), DuckDB
    joins them (`tables`), splits and filters (`splits`) and writes the shards (`output`).

    Args:
        dump_dir: folder with DBpedia-format dump files (see `dumps`).
        output_dir: the folder to (re)place atomically (see `dataset_folder.dataset_folder`: what an
            earlier build wrote there is replaced, other entries are kept); None builds in a
            temporary folder and returns the rows in memory.
        languages: codes to build, each with a labels and an object-facts file; default
            every language with both (see `select_languages`).
        settings: split protocol, fractions, inverse threshold, length limit.
        ontology: optional ontology dump naming the relations.
        link_languages: keep only links with one end in these languages (default: all).
            Entity ids (the `fact` split's keys) come from the kept links and from every
            link to English (`tables.id_links`): an entity whose links name an English IRI
            keeps its key; the copies of any other are joined through the kept links only.
        tokenizer: optional tokenizer for the length filter (rows of `max_length`+ tokens),
            counted per distinct text (`token_lengths`); the fact and language tokens are
            added to it (in place) if it lacks them.
        strict: stop at the first malformed line.
        max_line_bytes: the longest dump line read; a longer one is an error naming it.
        license_id: Hub licence id for the card (default: from `*_info.json`, else DBpedia's);
            one the Hub refuses is a `ValueError` before any work (`prixlm.hub.licenses`).
        progress: tqdm bars while reading and writing.
        engine: processes, threads, memory limit, spill folder, shard bounds.
        sequence_length: the length filter's measure of a row, instead of `tokenizer`'s.
        profile: if given, gets the wall and CPU seconds of each stage (`profile`).
        command: the command line the card records (`build_arguments.recorded_command`);
            None: the card says it was built from Python. The card records the other
            settings that decide the data in either case: the split settings,
            `link_languages`, the length filter's tokenizer (its `name_or_path`) and
            `ontology`.
        allow_predicted_facts: read a dump file that opens with `prixlm.complete`'s
            predicted-facts line as source facts (default: refused, `predicted_facts`).

    Returns:
        the rows (read from the shards on access) with their statistics (with the input
        read but not kept, `drops`: logged as warnings where it changes what the data
        means), and the read options with per-file line counts.

    Raises:
        FileNotFoundError: no language to build, a named language without its files.
        ValueError: a language that ends with no triples (nothing is written); a dump file
            of predicted facts without `allow_predicted_facts`.
        EngineMemoryError: DuckDB ran out of memory under `engine.memory_limit` (nothing
            is written).
        OutputLockedError: another process builds into `output_dir` (named in the message;
            the lock is held from the first check to the last file).
    """
    engine = engine or EngineOptions()
    if license_id is not None:  # before the work: the Hub refuses a card with another id
        license_id = hub_license(license_id)
    with memory_errors(engine), ExitStack() as stack:
        if output_dir is not None:  # before the work, not after it; one build at a time
            check_parent(output_dir, argument="--output_dir")
            stack.enter_context(writer_lock(output_dir, argument="--output_dir"))
            check_replaceable(output_dir)
        index = DumpIndex.scan(dump_dir)
        note_variants(index)
        languages = select_languages(index, languages)
        check_predicted_facts(index, languages, allow_predicted=allow_predicted_facts)
        options = ReadOptions(strict=strict, progress=progress, max_line_bytes=max_line_bytes)
        settings = settings or SplitSettings()
        pivots = link_pivots(link_languages, languages)
        source = read_source_info(index, languages)  # a bad one named now, not after the work
        staging = None
        if output_dir is not None:
            staging = stack.enter_context(dataset_folder(output_dir))
        if engine.temp_dir is not None or staging is None:
            work = stack.enter_context(work_folder(engine.temp_dir))
        else:
            work = staging / WORK
            stack.callback(shutil.rmtree, work, ignore_errors=True)
        con = stack.enter_context(
            construct(
                index,
                languages,
                work,
                options,
                engine,
                pivots=pivots,
                ontology=ontology,
                profile=profile,
            )
        )
        if tokenizer is not None:
            from modeling_prixlm.formatting import add_prixlm_tokens

            add_prixlm_tokens(tokenizer, languages)
            token_lengths(con, tokenizer, languages, work)
        elif sequence_length is not None:
            lengths(con, sequence_length, work)
        filtered = tokenizer is not None or sequence_length is not None
        rows = build_rows(con, languages, settings, lengths=filtered)
        fill_stats(con, rows)
        _check_triples(index, rows, options)
        for warning in warnings(rows, index):
            logger.warning("%s", warning)
        folder = staging if staging is not None else work / "dataset"
        sizes = write_shards(
            con,
            folder,
            max_shard_bytes=engine.max_shard_bytes,
            max_shard_rows=engine.max_shard_rows,
            progress=progress,
            memory_limit=engine.memory_limit,
        )
        rows.shards = {k: v for k, v in data_files(sizes).items() if k != ALL}
        rows.folder = folder
        if staging is None:
            rows.load()  # before the temporary folder goes
        else:
            con.close()
            with (profile or BuildProfile()).stage("card and clean-up"):
                shutil.rmtree(work, ignore_errors=True)
                record = BuildRecord(
                    link_languages=tuple(pivots) if pivots else None,
                    length_filter=_length_filter(tokenizer, sequence_length),
                    ontology=None if ontology is None else str(ontology),
                    command=command,
                )
                digests = file_digests(staging, sizes)
                card = dataset_card(
                    rows, sizes, license_id=license_id, source=source, build=record, digests=digests
                )
                (staging / CARD).write_text(card, encoding="utf-8")
    if output_dir is not None:
        rows.folder = Path(output_dir)
    return rows, options


def _length_filter(tokenizer: Any, sequence_length: Callable | None) -> str | None:
    """What measured the rows for the length filter, as the card names it (None: no filter)."""
    if tokenizer is not None:
        name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
        return f"the tokenizer `{name}` (format tokens included)"
    if sequence_length is not None:
        return "a length function given to `build_dataset`"
    return None


def _check_triples(index: DumpIndex, rows: DatasetRows, options: ReadOptions) -> None:
    """`ValueError` naming each language that ends with no triples, and why."""
    problems = []
    for language, stats in rows.stats.items():
        if stats.triples:
            continue
        files = find_dump_files(index, language)
        read = options.stats.get(str(files.objects))
        reason = (
            f"{files.objects} ({read.lines if read else 0} lines) holds "
            f"{stats.facts} facts between the "
            f"{stats.labelled_entities} entities labelled in {files.labels}"
        )
        if stats.removed_length:
            reason += f"; {stats.removed_length} removed by the length filter"
        if stats.removed_inverse:
            reason += f"; {stats.removed_inverse} removed by the inverse-relation filter"
        reason += _dropped_labels(files.labels, language, stats.labelled_entities, options)
        suspects = [files.objects] + ([files.labels] if not stats.labelled_entities else [])
        for path in suspects:  # their malformed lines: the likely cause
            malformed = options.stats.get(str(path))
            if malformed is not None and malformed.malformed:
                reason += (
                    f"; {path}: {malformed.malformed} malformed lines skipped, the first: "
                    f"{malformed.errors[0] if malformed.errors else '?'}"
                )
        problems.append(f"language {language!r} has no triples: {reason}")
    if problems:
        raise ValueError("; ".join(problems) + "; nothing written")


def _dropped_labels(labels: Path, language: str, labelled: int, options: ReadOptions) -> str:
    """The part of a "no triples" message that names the labels of `labels` dropped for
    their language tag: "" if fewer were than the `labelled` entities (a few labels in
    other languages, as DBpedia's files hold, are not why no triple is left)."""
    dropped = dropped_label_tags(labels, language, options)
    if not dropped or dropped.total() < labelled:
        return ""
    listed = ", ".join(f"@{tag} ({count})" for tag, count in dropped.most_common(5))
    if len(dropped) > 5:
        listed += f" and {len(dropped) - 5} more tags"
    kept = " or ".join(f"@{tag}" for tag in label_tags(language))
    return (
        f"; {labels}: {dropped.total()} labels dropped for their language tag, {listed}: "
        f"a label is kept if tagged {kept} or untagged: check that it holds {language!r}'s labels"
    )


def listed_codes(listed: str | None) -> list[str]:
    """The codes of a comma-separated list (`--languages de, en`: `["de", "en"]`)."""
    return [code.strip() for code in (listed or "").split(",") if code.strip()]


def link_pivots(codes: Sequence[str] | None, languages: Sequence[str]) -> list[str] | None:
    """The sorted `link_languages` (None: every link), each one a language of the build.

    Raises:
        UsageError: a plain string (it would be read letter by letter) or a code that is not
            built (its links, and with them every link, would be dropped without a word).
    """
    if not codes:
        return None
    if isinstance(codes, str):
        raise UsageError(f"link_languages={codes!r}: expected a list of codes, e.g. ({codes!r},)")
    pivots = sorted({normalize_language(code) for code in codes})
    missing = [code for code in pivots if code not in languages]
    if missing:
        raise UsageError(
            f"--link_languages {','.join(missing)}: not a language of this build "
            f"({', '.join(languages)}): the links through it would all be dropped"
        )
    return pivots


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    check_length_filter(parser, args, argv)
    logging.basicConfig(format="%(levelname)s: %(message)s")
    try:
        languages = [normalize_language(c) for c in listed_codes(args.languages)]
        settings = SplitSettings(
            protocol=args.split_protocol,
            test_fraction=args.test_fraction,
            validation_fraction=args.validation_fraction,
            inverse_threshold=args.inverse_threshold,
            max_length=args.max_length,
            seed=args.seed,
        )
        tokenizer = load_tokenizer(args.tokenizer) if args.tokenizer is not None else None
        profile = BuildProfile() if args.profile is not None else None
        if args.profile:
            check_parent(args.profile, "--profile")  # before the build, not after it
        rows, options = build_dataset(
            args.dump_dir,
            args.output_dir,
            languages,
            settings=settings,
            ontology=args.ontology,
            link_languages=listed_codes(args.link_languages),
            tokenizer=tokenizer,
            strict=args.strict,
            max_line_bytes=args.max_line_bytes,
            license_id=args.license_id,
            progress=not args.no_progress,
            engine=EngineOptions(
                num_proc=args.num_proc,
                threads=args.threads,
                memory_limit=args.memory_limit,
                temp_dir=args.temp_dir,
                max_shard_bytes=args.max_shard_bytes,
                max_shard_rows=args.max_shard_rows,
            ),
            profile=profile,
            command=recorded_command(argv),
            allow_predicted_facts=args.allow_predicted_facts,
        )
    except (DumpError, EngineMemoryError, UsageError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a missing file, a full disk: the path and what happened
        print(f"error: {describe_os_error(err)}", file=sys.stderr)
        return 2
    malformed = sum(s.malformed for s in options.stats.values())
    for path, stats in options.stats.items():
        if stats.malformed:
            print(f"warning: {path}: {stats.summary()}", file=sys.stderr)
    print(f"wrote {args.output_dir} ({malformed} malformed lines skipped)")
    print(summary_table(rows))
    if profile is not None:
        print(profile.table())
        if args.profile:
            try:
                write_json(profile.as_dict(), args.profile, "--profile")
            except OSError as err:
                print(f"error: {describe_os_error(err)}", file=sys.stderr)
                return 2
    return 0


if __name__ == "__main__":
    from prixlm.cli import user_errors

    with user_errors():  # `| head` closing stdout: exit 141; Ctrl-C: "interrupted", 130
        raise SystemExit(main())
