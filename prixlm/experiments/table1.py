"""Table 1 of the paper on the embedded CLDR KB: TransE, RotatE, Prix-LM Single and All.

Run::

    python -m prixlm.experiments.table1 --profile full  --work_dir outputs/table1        # make table1
    python -m prixlm.experiments.table1 --profile quick --work_dir outputs/table1-quick  # make table1-quick
    python -m prixlm.experiments.table1 --profile gpu --work_dir /tmp/t1 --deadline_s 480 \\
        --results $OUT/table1.json --docs $OUT/results.md --chart $OUT/table1.png

Steps: export the CLDR KB and build the dataset (per-fact split protocol) under
`work_dir/data`; train one tokenizer on every language's names; then the jobs
(`prixlm.experiments.jobs`) in `--workers` processes: per language a PyKEEN TransE and RotatE
search, RotatE on the union graph, Prix-LM Single per language and variant, Prix-LM All per
variant, each on `--threads_per_worker` torch threads (default: the profile's; the count
used is in the JSON's `profile`, in each job record's `torch_num_threads` and in the
`OMP_NUM_THREADS=` of its train.py `command`: other counts give other last digits, and
under a CPU-time budget other steps). Each finished job is written to
`work_dir/jobs/<name>.json` and skipped by the next run (resume) that plans it with the
same arguments (not the threads: a note names records made with others), the digests of
its dataset and tokenizer
among them (`work_dir/run_settings.json` keeps the dumps' digest or the CLDR release: other
dumps at the same path are refused). A KGE search cut by its time limit goes on at its next
grid point when the next run's limit is larger (`--kge_time_limit`). After every job the JSON, the
markdown and the chart are rewritten from what is finished. Prix-LM variants are chosen on
the mean validation MRR; every reported number is on test, full ranking over every entity
of the language, filtered, realistic ties.
"""

from __future__ import annotations

import argparse
import json
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
from prixlm.experiments.job_runner import (  # noqa: F401 - execute: importable here as before
    JobFunction,
    execute,
    load_records,
    run_to_the_end,
)
from prixlm.experiments.paired import paired_comparisons
from prixlm.experiments.profiles import (
    all_curve_settings,
    get_profile,
    kge_epoch_points,
    kge_grid,
    kge_stopping,
)
from prixlm.experiments.run_settings import check_run_settings
from prixlm.experiments.table1_data import (
    folder_digest,
    input_digests,
    kb_statistics,
    prepare_data,
    prepare_tokenizer,
    ranked_entities,
    source_settings,
)
from prixlm.outputs.atomic import published_together, updating, write_json, writer_lock

#: A job of `prixlm.experiments.jobs` (`kge_job`, `prixlm_job`): keyword arguments -> its record.

METRICS = ("hits_at_1", "hits_at_3", "hits_at_10", "mrr")
KGE_METHODS = ("TransE", "RotatE")
UNION = "RotatE (union graph)"
#: Paired comparisons on the same test queries, where the records keep per-query ranks.
PAIRS = (
    ("Prix-LM (All)", "Prix-LM (Single)"),
    ("Prix-LM (All)", "TransE"),
    ("Prix-LM (All)", "RotatE"),
)


def plan_jobs(
    profile: dict[str, Any],
    work_dir: Path,
    datasets: dict[str, Path],
    tokenizer: Path,
    seed: int,
    digests: dict[str, str] | None = None,
) -> dict[str, tuple[JobFunction, dict[str, Any]]]:
    """`{job name: (job function of prixlm.experiments.jobs, keyword arguments)}`, longest first.

    A Prix-LM variant is a dict of train.py options; its key `dataset` ("pivot") picks the
    dataset with pivot links only. Every job's arguments hold its dataset's fingerprint
    (`data_sha256`), the Prix-LM jobs' the tokenizer's too (`tokenizer_sha256`): records,
    kept trainings, searches and rankings are reused for the same data only. `digests`:
    `table1_data.input_digests(datasets, tokenizer)` (read here when not given).
    """
    digests = digests or input_digests(datasets, tokenizer)
    dataset_dir = datasets["main"]
    languages = profile["languages"]
    device, limit = profile["device"], profile["eval_limit"]
    common = {"dataset_dir": str(dataset_dir), "seed": seed, "device": device, "eval_limit": limit,
              "budget_clock": profile.get("budget_clock", "wall"),
              "data_sha256": digests["main"]}  # fmt: skip
    tokenizer_args = {"tokenizer_dir": str(tokenizer), "tokenizer_sha256": digests["tokenizer"]}
    scoring = {key: profile[key] for key in ("score_batch", "score_rows", "beam_k")}
    scoring["validation_limit"] = profile.get("validation_limit")
    from prixlm.experiments.jobs import kge_job
    from prixlm.experiments.prixlm_jobs import prixlm_job

    jobs: dict[str, tuple[JobFunction, dict[str, Any]]] = {}
    for name, overrides in profile["all_variants"].items():
        overrides = dict(overrides)
        data = overrides.pop("dataset", "main")
        settings = {**profile["prixlm"], "max_steps": profile["all_steps"], **overrides}
        jobs[f"all-{name}"] = (
            prixlm_job,
            {**common, **scoring, "dataset_dir": str(datasets[data]),
             "data_sha256": digests[data], "run_dir": str(work_dir / "runs" / f"all-{name}"),
             "languages": languages, "variant": "all", **tokenizer_args, "settings": settings,
             "time_limit": profile.get("all_time_limit"), **all_curve_settings(profile)},
        )  # fmt: skip
    jobs["kge-union-RotatE"] = (
        kge_job,
        {**common, "languages": languages, "union": True,
         "grid": kge_grid("RotatE", profile["kge_size"])[:1], "epoch_points": profile["union_epochs"],
         "time_limit": profile.get("union_time_limit"),
         "keep_dir": str(work_dir / "runs" / "kge-union-RotatE")},
    )  # fmt: skip
    for language in languages:
        for model in KGE_METHODS:
            jobs[f"kge-{model}-{language}"] = (
                kge_job,
                {**common, "languages": [language], "grid": kge_grid(model, profile["kge_size"]),
                 "epoch_points": kge_epoch_points(profile, model),
                 "time_limit": profile.get("kge_time_limit"), **kge_stopping(profile),
                 "keep_dir": str(work_dir / "runs" / f"kge-{model}-{language}")},
            )  # fmt: skip
        for name, overrides in profile["single_variants"].items():
            settings = {**profile["prixlm"], "max_steps": profile["single_steps"], **overrides}
            jobs[f"single-{name}-{language}"] = (
                prixlm_job,
                {**common, **scoring, "run_dir": str(work_dir / "runs" / f"single-{name}-{language}"),
                 "languages": [language], "variant": "single", **tokenizer_args,
                 "settings": settings, "time_limit": profile.get("single_time_limit")},
            )  # fmt: skip
    return jobs


def _select(records: dict[str, dict], prefix: str, languages: list[str]) -> tuple[str, dict] | None:
    """The variant (job-name prefix) with the best mean validation MRR among complete ones."""
    variants: dict[str, list[dict]] = {}
    for name, record in records.items():
        if name.startswith(prefix):  # single-<variant>-<lang> or all-<variant>
            variants.setdefault(name[len(prefix) :].split("-")[0], []).append(record)
    best = None
    for variant, runs in sorted(variants.items()):
        validation = {lang: m for run in runs for lang, m in run["validation"].items()}
        if set(validation) != set(languages):
            continue
        mean = sum(validation[lang]["mrr"] for lang in languages) / len(languages)
        if best is None or mean > best[1]["validation_mrr"]:
            test = {lang: m for run in runs for lang, m in run["test"].items()}
            best = (variant, {"validation_mrr": mean, "test": test, "runs": runs})
    return best


def protocol_line(eval_limit: int | None, kb: dict, languages: list[str]) -> str:
    """The JSON's `protocol`: how every number was ranked, and, where `eval_limit` keeps
    fewer test queries than a language's split holds, that only the first ones were."""
    line = ("CLDR KB, per-fact split; filtered; realistic ties; every entity of the language "
            "is a candidate; full ranking (MRR is not truncated)")  # fmt: skip
    if eval_limit and any(kb.get(lang, {}).get("test", 0) > eval_limit for lang in languages):
        line += (f"; test: the first {eval_limit} queries of each language's test split "
                 "(`eval_limit`), not every one")  # fmt: skip
    return line


def assemble(
    profile: dict[str, Any], records: dict[str, dict], kb: dict, started: float, command: str
) -> dict[str, Any]:
    """`results/table1.json`: `methods` (test metrics per method and language) + details."""
    languages = profile["languages"]
    methods: dict[str, dict[str, dict[str, float]]] = {}
    details: dict[str, Any] = {}
    tests: dict[str, dict[str, dict[str, Any]]] = {}  # {method: {lang: {"ours": cell}}}
    for model in KGE_METHODS:
        runs = {lang: records.get(f"kge-{model}-{lang}") for lang in languages}
        tests[model] = {lang: {"ours": r["test"][lang]} for lang, r in runs.items() if r}
        methods[model] = {
            lang: {k: r["test"][lang][k] for k in METRICS} for lang, r in runs.items() if r
        }
        details[model] = {
            lang: {"winner": r["winner"], "validation_mrr": r["validation"][lang]["mrr"],
                   "grid": r["grid"], "grid_truncated": r["grid_truncated"], "seconds": r["seconds"],
                   **{k: r[k] for k in ("grid_points", "early_stopping", "torch_num_threads") if k in r},
                   "validation": r["validation"][lang]}
            for lang, r in runs.items() if r
        }  # fmt: skip
    for method, prefix in (("Prix-LM (Single)", "single-"), ("Prix-LM (All)", "all-")):
        chosen = _select(records, prefix, languages)
        if chosen is None:
            continue
        variant, selected = chosen
        tests[method] = {lang: {"ours": cell} for lang, cell in selected["test"].items()}
        methods[method] = {
            lang: {k: selected["test"][lang][k] for k in METRICS} for lang in languages
        }
        details[method] = {
            "selected_variant": variant,
            "validation_mrr": selected["validation_mrr"],
            "variants": {
                name: {**{key: record[key] for key in ("settings", "steps", "time_budget_s", "stopped_by_time_limit_at",
                       "train_seconds", "eval_seconds", "command", "validation", "test")},
                       **{key: record[key] for key in ("curve", "resumed_from_step", "evaluated_again",
                          "torch_num_threads") if key in record}}
                for name, record in records.items() if name.startswith(prefix)
            },
        }  # fmt: skip
    union = records.get("kge-union-RotatE")
    if union:
        methods[UNION] = {lang: {k: union["test"][lang][k] for k in METRICS} for lang in languages}
        details[UNION] = {key: union[key] for key in ("winner", "grid", "seconds", "train_triples",
                          "grid_truncated", "time_limit_s", "epoch_points", "torch_num_threads") if key in union}  # fmt: skip
    test_queries = {  # what each method ranked: `eval_limit` keeps the first rows of a split
        method: {lang: c["ours"]["num_queries"] for lang, c in by_lang.items()}
        for method, by_lang in tests.items()
        if by_lang
    }
    if union:
        test_queries[UNION] = {lang: union["test"][lang]["num_queries"] for lang in languages}
    return {
        "languages": languages,
        "methods": methods,
        "test_queries": test_queries,
        "kb": kb,
        "protocol": protocol_line(profile.get("eval_limit"), kb, languages),
        "profile": profile,
        "command": command,
        "jobs_finished": sorted(records),
        "job_seconds": {name: record.get("seconds") for name, record in sorted(records.items())},
        "wall_seconds": round(time.time() - started, 1),
        "details": details,
        "paired": paired_comparisons(tests, PAIRS, languages, ("ours",), profile.get("seed", 0)),
    }


def write_outputs(table: dict[str, Any], results: Path, docs: Path, chart: Path) -> None:
    """The JSON, the page and the charts, as a set (all new or all kept); a failed write (a
    full disk) is one line naming the file, exit status 2. The `ablations` that
    `ablations --merge_into` added to the earlier JSON are kept (into `table` too): read
    and written `updating` the JSON, so that a merge finishing meanwhile is not lost."""
    from prixlm.experiments.table1_docs import write_report

    with user_errors(), published_together():
        with updating(results, "--results"):
            if "ablations" not in table and (ablations := merged_ablations(results)):
                table["ablations"] = ablations
            write_json(table, results, "--results")
        write_report(table, docs, chart, source=Path(results).as_posix())


def merged_ablations(results: Path) -> dict[str, Any] | None:
    """The `ablations` of the earlier results file `results` (None if it has none, or is
    missing or not JSON: it is replaced as before)."""
    try:
        earlier = json.loads(Path(results).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    ablations = earlier.get("ablations") if isinstance(earlier, dict) else None
    return ablations if isinstance(ablations, dict) else None


REPORTS_PROFILE = "full"  # the profile of the committed figures
#: the committed report files, written by the `full` profile (others: into `--work_dir`)
REPORTS = {"results": "results/table1.json", "docs": "docs/results.md", "chart": "docs/table1.png"}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser("prixlm.experiments.table1", __doc__)
    parser.add_argument("--profile", default="full", help="toy | quick | full | gpu | gpu2")
    parser.add_argument("--languages", default=None, help="override the profile's languages")
    parser.add_argument(
        "--work_dir",
        type=Path,
        default=Path("outputs/table1"),
        help="data, tokenizer, runs and job records (a new start resumes)",
    )
    add_report_options(parser, REPORTS_PROFILE, REPORTS)
    parser.add_argument("--dump_dir", type=Path, default=None, help="dumps instead of CLDR")
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
    for job in ("all", "single", "kge", "union"):
        parser.add_argument(f"--{job}_time_limit", type=positive_float, default=None, help=f"{job} jobs: seconds of training each (default: the profile's; CPU seconds where the profile's budget_clock is cpu)")  # fmt: skip
    args = parser.parse_args(argv)
    report_paths(args, REPORTS_PROFILE, REPORTS, args.work_dir)
    with ExitStack() as held:  # one run of a --work_dir at a time: a second is refused at once
        with user_errors():
            held.enter_context(writer_lock(args.work_dir, argument="--work_dir"))
        return _run(args, argv)


def _run(args: argparse.Namespace, argv: list[str] | None) -> dict[str, Any]:
    """`main`'s run, holding `writer_lock(args.work_dir)` (two runs of one folder each ran
    the other's jobs again, beside them, and each ended refused by the other's training)."""
    started = time.time()
    with user_errors(ValueError):  # an unknown profile or language: one line, exit 2
        require_pykeen()
        profile = get_profile(args.profile)
        languages = args.languages or profile["languages"]
        profile["languages"] = [code.strip() for code in languages.split(",") if code.strip()]
        if not profile["languages"]:
            raise UsageError("--languages: no language given")
        pivot = profile.get("pivot")
        if pivot and pivot not in profile["languages"]:  # else All fails after every other job
            raise UsageError(
                f"--languages {','.join(profile['languages'])}: the {args.profile} profile's "
                f"All trains on the links with one end in {pivot!r}, its pivot language, "
                f"which is not among them: add {pivot}"
            )
        args.work_dir.mkdir(parents=True, exist_ok=True)
        datasets = prepare_data(
            args.work_dir, profile["languages"], args.dump_dir, profile.get("pivot")
        )
        check_run_settings(args.work_dir, {  # before any job record is taken as done
            "profile": args.profile, "languages": profile["languages"], "seed": args.seed,
            "dump_dir": str(args.dump_dir) if args.dump_dir else None,
            **source_settings(args.dump_dir)})  # fmt: skip
    from prixlm.experiments.jobs import worker_threads

    profile["workers"] = args.workers or profile["workers"]
    profile["threads_per_worker"] = args.threads_per_worker or profile.get("threads_per_worker")
    threads = profile["threads_per_worker"] = worker_threads(profile)  # the count used, recorded
    profile["seed"] = args.seed
    for job in ("all", "single", "kge", "union"):
        profile[f"{job}_time_limit"] = getattr(args, f"{job}_time_limit") or profile.get(
            f"{job}_time_limit"
        )
    command = "python -m prixlm.experiments.table1 " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    work_dir = args.work_dir
    dataset_dir = datasets["main"]
    digests = input_digests(datasets)  # each file read once a run
    with user_errors():  # a full disk: one line naming the tokenizer folder
        tokenizer = prepare_tokenizer(work_dir, dataset_dir, profile["languages"],
                                      profile["tokenizer_vocab_size"], digests["main"])  # fmt: skip
    digests["tokenizer"] = folder_digest(tokenizer)
    kb = kb_statistics(dataset_dir, profile["languages"])
    jobs = plan_jobs(profile, work_dir, datasets, tokenizer, args.seed, digests)
    jobs_dir = work_dir / "jobs"
    jobs_dir.mkdir(exist_ok=True)
    from prixlm.experiments.jobs import job_plan, recorded_plan

    def refresh() -> dict[str, Any]:
        # only records made with this plan: a record of other data or arguments, not yet
        # made again, is not shown beside the new ones
        records = {n: r for n, r in load_records(jobs_dir).items()
                   if n in jobs and recorded_plan(r) == job_plan(jobs[n][1], work_dir)}  # fmt: skip
        # the "# entities" row: what the records ranked (the dataset's count where none has)
        table = assemble(profile, records, ranked_entities(kb, records), started, command)
        write_outputs(table, args.results, args.docs, args.chart)
        return table

    return run_to_the_end(jobs, jobs_dir, profile["workers"], refresh, started,
                          args.deadline_s, threads=threads)  # fmt: skip


if __name__ == "__main__":
    main()
