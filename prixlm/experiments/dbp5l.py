"""DBP-5L: PyKEEN TransE/RotatE vs Prix-LM Single/All on the multilingual KG-completion benchmark.

Run::

    python -m prixlm.experiments.dbp5l --profile cpu --data ../shared/dbp5l --work_dir outputs/dbp5l
    python -m prixlm.experiments.dbp5l --profile gpu --data dbp5l --work_dir /tmp/d5 \\
        --deadline_s 420 --results $OUT/dbp5l.json --docs $OUT/results.md

`--data` is a KG folder in the KEnS / SS-AGA layout (`entity/`, `kg/`, `relations.txt`,
`seed_alignlinks/`). Steps: convert it into a Prix-LM dataset under `work_dir/data` (the
benchmark's own splits, `prixlm.data.kg_layout`); train one tokenizer on every language's
labels; then the jobs (`prixlm.experiments.dbp5l_jobs`) in `--workers` processes: per
language a PyKEEN TransE and RotatE search on the validation split, Prix-LM Single per
language, Prix-LM All (train triples of every KG + the seed alignment links) and All without
links. Each finished job is written to `work_dir/jobs/<name>.json` and skipped by the next
run (resume), but for a Prix-LM job whose evaluation settings changed (say a larger
`eval_limit`): its finished release is evaluated again, not retrained (`stale_evaluations`).
After every job the JSON and the docs section are rewritten from what is finished with this
plan (`current_records`: a job whose arguments changed shows no row until it is done again;
`--no_run` names the records it leaves out). Every
ranking is over every entity of the target KG and is read under our protocol and the
papers' (`prixlm.link_prediction.protocols`: `ours`; `kens`, KEnS' train-filtered rule;
`raw`, unfiltered, what SS-AGA's released run logs).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from prixlm.baselines.kge import require_pykeen
from prixlm.cli import (
    UsageError,
    add_report_options,
    command_parser,
    positive_float,
    positive_int,
    report_paths,
    user_errors,
)
from prixlm.experiments.dbp5l_profiles import dbp5l_grid, get_profile
from prixlm.experiments.dbp5l_results import (  # noqa: F401 - importable here as before
    KGE_METHODS,
    METRICS,
    MODEL_NOTE,
    PAIRS,
    PRIXLM_METHODS,
    PROTOCOLS,
    assemble,
    paired_comparisons,
)
from prixlm.experiments.job_runner import JobFunction, load_records, run_to_the_end
from prixlm.experiments.profiles import kge_stopping
from prixlm.experiments.published import PUBLISHED_FILE
from prixlm.experiments.run_settings import check_run_settings
from prixlm.experiments.table1_data import folder_digest, kb_statistics, prepare_tokenizer
from prixlm.outputs.atomic import published_together, write_json, writer_lock


def layout_digest(data: Path) -> str:
    """SHA-256 over the KEnS-layout folder's files (names and bytes): `work_dir/data` is
    built from `--data` once, so a later start with other data was refused only by this
    (it reported the first data's results under the second's path)."""
    from prixlm.training.resume import files_digest

    return files_digest(data, sorted(data.rglob("*")))


def prepare_dataset(data: Path, work_dir: Path, languages: list[str]) -> Path:
    """The KEnS-layout folder `data` as a Prix-LM dataset under `work_dir/data` (once)."""
    from prixlm.data.kg_layout import convert_layout

    dataset = work_dir / "data"
    if not (dataset / "README.md").is_file():
        convert_layout(data, dataset, languages, license_id="cc-by-sa-3.0")
    return dataset


def plan_jobs(
    profile: dict[str, Any],
    work_dir: Path,
    dataset: Path,
    layout: Path,
    tokenizer: Path,
    seed: int,
    tokenizer_sha256: str | None = None,
) -> dict[str, tuple[JobFunction, dict[str, Any]]]:
    """`{job name: (function of prixlm.experiments.dbp5l_jobs, keyword arguments)}`, cheapest
    first (KGE searches, Single, All): a run stopped early keeps the most finished jobs.
    `tokenizer_sha256` (the digest of the tokenizer folder, `table1_data.folder_digest`) goes
    into the Prix-LM jobs' plans and kept trainings: a tokenizer trained again (another
    `tokenizer_vocab_size`) trains them again."""
    from prixlm.experiments.dbp5l_jobs import kge_search_job, prixlm_protocol_job

    languages = profile["languages"]
    common = {"dataset_dir": str(dataset), "layout_dir": str(layout), "seed": seed,
              "device": profile["device"], "protocols": PROTOCOLS}  # fmt: skip
    kge = {**common, "eval_limit": profile.get("kge_eval_limit", profile["eval_limit"])}
    prixlm = {**common, "eval_limit": profile["eval_limit"], "tokenizer_dir": str(tokenizer),
              "score_batch": profile["score_batch"], "score_rows": profile["score_rows"],
              "validation_limit": profile["validation_limit"],
              "budget_clock": profile.get("budget_clock", "wall")}  # fmt: skip
    if tokenizer_sha256:
        prixlm["tokenizer_sha256"] = tokenizer_sha256
    jobs: dict[str, tuple[JobFunction, dict[str, Any]]] = {}
    for language in languages:
        for model in KGE_METHODS:
            jobs[f"kge-{model}-{language}"] = (kge_search_job, {**kge, "language": language,
                "grid": dbp5l_grid(model, profile["kge_size"]),
                "epoch_points": profile["kge_epochs"][model],
                "validation_limit": profile.get("kge_validation_limit"),
                **kge_stopping(profile)})  # fmt: skip
    for language in languages:
        settings = {**profile["prixlm"], "max_steps": profile["single_steps"]}
        name = f"single-{language}"
        jobs[name] = (prixlm_protocol_job, {**prixlm, "run_dir": str(work_dir / "runs" / name),
                      "languages": [language], "variant": "single", "settings": settings,
                      "time_limit": profile.get("single_time_limit")})  # fmt: skip
    for name, links in (("all-links", True), ("all-nolinks", False)):
        settings = {**profile["prixlm"], "max_steps": profile["all_steps"], "links": links}
        jobs[name] = (prixlm_protocol_job, {**prixlm, "run_dir": str(work_dir / "runs" / name),
                      "languages": languages, "variant": "all", "settings": settings,
                      "time_limit": profile.get("all_time_limit")})  # fmt: skip
    return jobs


def stale_evaluations(
    jobs: dict[str, tuple[JobFunction, dict[str, Any]]], records: dict[str, dict]
) -> list[str]:
    """The Prix-LM jobs whose record was evaluated otherwise than the plan says (a record
    without `evaluation` counts as other); each gets its record as `previous`, so that the
    job evaluates its finished release again instead of training (`finished_release`)."""
    from prixlm.experiments.dbp5l_jobs import evaluation_settings, prixlm_protocol_job
    from prixlm.experiments.jobs import plain_command

    stale = []
    for name, (function, kwargs) in jobs.items():
        record = records.get(name)
        if function is not prixlm_protocol_job or record is None:
            continue
        planned = evaluation_settings(
            kwargs["eval_limit"], kwargs["validation_limit"], kwargs["protocols"]
        )
        if record.get("evaluation") != planned:
            if "command" in record:  # compared with the train.py command, its threads apart
                record = {**record, "command": plain_command(record["command"])}
            jobs[name] = (function, {**kwargs, "previous": record})
            stale.append(name)
    return stale


def set_aside_records(
    jobs: dict[str, tuple[JobFunction, dict[str, Any]]],
    records: dict[str, dict],
    work_dir: Path,
) -> dict[str, str]:
    """The records of `jobs` not made with this plan -> why: made with other arguments
    (`plan`, its `previous` apart: a Prix-LM job evaluated again is given its earlier
    record), or a Prix-LM record evaluated otherwise than the plan says. Shown beside the
    current ones, a superseded job's rows read as this plan's (say TransE after its epoch
    points changed, when the run stopped at its deadline before doing it again)."""
    from prixlm.experiments.dbp5l_jobs import evaluation_settings, prixlm_protocol_job
    from prixlm.experiments.jobs import job_plan, recorded_plan

    aside = {}
    for name, record in records.items():
        if name not in jobs:
            continue
        function, kwargs = jobs[name]
        if recorded_plan(record) != job_plan(kwargs, work_dir):
            aside[name] = "made with other arguments"
        elif function is prixlm_protocol_job and record.get("evaluation") != evaluation_settings(
            kwargs["eval_limit"], kwargs["validation_limit"], kwargs["protocols"]
        ):
            aside[name] = "evaluated otherwise"
    return aside


def current_records(
    jobs: dict[str, tuple[JobFunction, dict[str, Any]]], jobs_dir: Path, work_dir: Path
) -> tuple[dict[str, dict], dict[str, str]]:
    """The finished jobs' records made with this plan, and those set aside (`set_aside_records`)."""
    records = {n: r for n, r in load_records(jobs_dir).items() if n in jobs}
    aside = set_aside_records(jobs, records, work_dir)
    return {n: r for n, r in records.items() if n not in aside}, aside


def set_aside_note(aside: dict[str, str]) -> str | None:
    """One line naming the job records left out of the table and why, or None."""
    if not aside:
        return None
    named = ", ".join(f"{name} ({why})" for name, why in sorted(aside.items()))
    return (
        f"note: {len(aside)} job records left out, not made with this plan (a start without "
        f"--no_run does them again): {named}"
    )


def load_published(path: Path | None) -> dict[str, Any]:
    """The published figures (`prixlm.experiments.published`: `{system: {lang: metrics,
    "source": ..., "source_kind": ..., "caveat": ...}}`, checked), or {} without a path;
    `UsageError` naming `--published` for a file that is missing (the default is the
    package's own, always there), not JSON or not checked."""
    import json

    from prixlm.experiments.published import LANGUAGES
    from prixlm.experiments.published import load_published as load_checked

    if path is None:
        return {}
    if not path.is_file():
        raise UsageError(f"--published {path}: no such file")
    try:
        data = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"--published {path}: not valid JSON ({error})") from error
    if not isinstance(data, dict):
        raise UsageError(f"--published {path}: a JSON object of systems expected")
    for name, entry in data.items():
        metrics = entry.items() if isinstance(entry, dict) else [(None, entry)]
        if not name.startswith("_") and any(
            (key is None or key in LANGUAGES) and not isinstance(value, dict)
            for key, value in metrics
        ):
            raise UsageError(
                f"--published {path}: {name!r}: expected {{language: {{metric: value}}, "
                "'source': ...}"
            )
    try:
        return load_checked(path)
    except ValueError as error:  # names the file and the system
        raise UsageError(f"--published {error}") from error


REPORTS_PROFILE = "cpu"  # the profile of the committed figures
#: the committed report files, written by the `cpu` profile (others: into `--work_dir`)
REPORTS = {"results": "results/dbp5l.json", "docs": "docs/results.md"}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser("prixlm.experiments.dbp5l", __doc__)
    parser.add_argument("--profile", default="cpu", help="toy | cpu | gpu")
    parser.add_argument("--data", type=Path, required=True, help="KG folder in the KEnS layout")
    parser.add_argument("--languages", default=None, help="override the profile's languages")
    parser.add_argument(
        "--work_dir",
        type=Path,
        default=Path("outputs/dbp5l"),
        help="dataset, tokenizer, runs and job records (a new start resumes)",
    )
    add_report_options(parser, REPORTS_PROFILE, REPORTS)
    parser.add_argument("--published", type=Path, default=PUBLISHED_FILE, help="published figures")
    parser.add_argument(
        "--workers", type=positive_int, default=None, help="job processes (default: the profile's)"
    )
    parser.add_argument(
        "--threads_per_worker",
        type=positive_int,
        default=None,
        help="torch threads of each job (default: the profile's, else cores // workers)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every job")
    parser.add_argument(
        "--deadline_s",
        type=positive_float,
        default=None,
        help="seconds; then the unfinished jobs stop, exit 3; a new start runs them again",
    )
    parser.add_argument("--note", action="append", default=[], help="a line for the docs (repeat)")
    parser.add_argument(
        "--chart",
        type=Path,
        default=None,
        help="PNG of the KGE searches (validation MRR against epochs), linked from the docs",
    )
    parser.add_argument(
        "--no_run", action="store_true", help="only write the JSON and docs from finished jobs"
    )
    args = parser.parse_args(argv)
    report_paths(args, REPORTS_PROFILE, REPORTS, args.work_dir)
    with ExitStack() as held:  # one run of a --work_dir at a time: a second is refused at once
        if not args.no_run:  # reports of the finished jobs, written while a run goes on
            with user_errors():
                held.enter_context(writer_lock(args.work_dir, argument="--work_dir"))
        return _run(parser, args, argv)


def _run(
    parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str] | None
) -> dict[str, Any]:
    """`main`'s run, holding `writer_lock(args.work_dir)` (two runs of one folder each ran
    the other's jobs again, beside them, and each ended refused by the other's training)."""
    started = time.time()
    with user_errors(ValueError):  # an unknown profile: one line, exit 2
        if not args.no_run:
            require_pykeen()
        profile = get_profile(args.profile)
        languages = args.languages or profile["languages"]
        profile["languages"] = [code.strip() for code in languages.split(",") if code.strip()]
        if not profile["languages"]:
            raise UsageError("--languages: no language given")
    profile["workers"] = args.workers or profile["workers"]
    from prixlm.experiments.jobs import threads_note, worker_threads

    profile["threads_per_worker"] = args.threads_per_worker or profile.get("threads_per_worker")
    profile["threads_per_worker"] = worker_threads(profile)  # the count used, recorded
    profile["seed"] = args.seed
    given = list(argv if argv is not None else sys.argv[1:])
    shown = [
        a for i, a in enumerate(given) if a != "--note" and (i == 0 or given[i - 1] != "--note")
    ]
    command = "python -m prixlm.experiments.dbp5l " + " ".join(shown)  # notes are shown apart
    if not (args.data / "entity").is_dir():
        parser.error(f"--data {args.data}: no entity/ folder (expected the KEnS layout)")
    # one plan whichever way the folders are named (relative or absolute)
    args.work_dir, args.data = args.work_dir.resolve(), args.data.resolve()
    # every input is checked before any work; a malformed line of the layout names its
    # file and line (LayoutError), a --work_dir that is a file is one line too
    with user_errors():
        published = load_published(args.published)
        args.work_dir.mkdir(parents=True, exist_ok=True)
        dataset = prepare_dataset(args.data, args.work_dir, profile["languages"])
        check_run_settings(args.work_dir, {  # before any job record is taken as done
            "profile": args.profile, "languages": profile["languages"], "seed": args.seed,
            "data": str(args.data.resolve()), "data_sha256": layout_digest(args.data)})  # fmt: skip
    from prixlm.training.data_fingerprint import dataset_fingerprint

    vocab = profile["tokenizer_vocab_size"]
    # the tokenizer keeps what it was trained from (the dataset, the languages, the profile's
    # vocabulary size): one trained otherwise is trained again, and the Prix-LM jobs with it
    with user_errors():  # a full disk: one line naming the tokenizer folder
        tokenizer = prepare_tokenizer(args.work_dir, dataset, profile["languages"], vocab,
                                      dataset_fingerprint(dataset))  # fmt: skip
    kb = kb_statistics(dataset, profile["languages"], args.data)
    jobs = plan_jobs(profile, args.work_dir, dataset, args.data, tokenizer, args.seed,
                     folder_digest(tokenizer))  # fmt: skip
    jobs_dir = args.work_dir / "jobs"
    jobs_dir.mkdir(exist_ok=True)

    def refresh() -> dict[str, Any]:
        from prixlm.experiments.dbp5l_docs import write_docs

        # only records made with this plan: a superseded job's rows are not shown as current
        records, _ = current_records(jobs, jobs_dir, args.work_dir)
        table = assemble(profile, records, kb, published, started, command, args.note)
        # the chart, JSON and page as a set (all new or all kept); a full disk: one line
        with user_errors(), published_together():
            if args.chart is not None:
                from prixlm.experiments.dbp5l_chart import write_search_chart

                write_search_chart(table, args.chart)
                table["chart"] = os.path.relpath(args.chart, args.docs.parent)
            write_json(table, args.results, "--results")
            write_docs(table, args.docs, source=args.results.as_posix())
        return table

    if args.no_run:  # the records' own threads: each says (`torch_num_threads`)
        kept, aside = current_records(jobs, jobs_dir, args.work_dir)
        if note := set_aside_note(aside):
            print(note, file=sys.stderr, flush=True)
        if note := threads_note(kept, profile["threads_per_worker"]):
            print(note, flush=True)
        return refresh()
    again = stale_evaluations(jobs, load_records(jobs_dir))
    return run_to_the_end(jobs, jobs_dir, profile["workers"], refresh, started,
                          args.deadline_s, again, profile["threads_per_worker"])  # fmt: skip


if __name__ == "__main__":
    main()
