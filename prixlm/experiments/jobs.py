"""The runs behind Table 1, one function per job; each returns a JSON-able record.

- `kge_job`: one PyKEEN model (TransE or RotatE) for one language, or RotatE on the union
  graph: a grid over `KGEConfig`s and epochs, selected on the **validation** MRR; the
  winner's test metrics (test is evaluated for the running best only, never used to choose).
- `prixlm_job` (`prixlm.experiments.prixlm_jobs`): `pretrain` (Single: one language's
  triples; All: every language's triples + links), then full-ranking validation and test
  metrics per language, and optionally the paper's beam search (MRR@K) on test.

Jobs run in worker processes (`table1.py`): they set their own torch threads and device.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from prixlm.baselines.kge import KGEConfig, KGEScorer, build_graph, train_kge
from prixlm.experiments.kept_runs import keep_search, kept_search
from prixlm.experiments.table1_data import (
    candidates_digest,
    job_candidates,
    plan_candidates_digest,
)
from prixlm.experiments.time_budget import TimeBudget, _clock
from prixlm.link_prediction.scorer import evaluate_scorer_protocols


def load_language(dataset_dir: str, language: str) -> dict[str, list[dict[str, Any]]]:
    """`{split: rows}` of one language config (`load_kb`: no stale cache of a same-named folder)."""
    from prixlm.data.loading import load_kb

    splits = load_kb(dataset_dir, language)
    return {name: split.to_list() for name, split in splits.items()}


def _limit(rows: Sequence[Any], limit: int | None) -> list[Any]:
    return list(rows if not limit else rows[:limit])


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _by_protocol(
    metrics: Mapping[str, Mapping[str, Mapping[str, Any]]], protocols: Sequence[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """`{split: {protocol: {language: m}}}` -> `{protocol: {split: {language: m}}}`."""
    return {p: {split: dict(by[p]) for split, by in metrics.items()} for p in protocols}


class _OutOfTime(Exception):
    """The KGE search ran past its time limit."""


# Clocks of the time budgets (looked up at call time). `cpu`: this process's CPU time, so a
# one-thread CPU job gets the same steps or epochs on a busy machine as on an idle one
# (a wall-clock budget gave quick's All 171 steps instead of 632 beside other jobs); `wall`
# for device runs, whose work is not this process's CPU time.
def kge_job(
    dataset_dir: str,
    languages: Sequence[str],
    grid: Sequence[Mapping[str, Any]],
    epoch_points: Sequence[int],
    union: bool = False,
    seed: int = 0,
    device: str = "cpu",
    eval_limit: int | None = None,
    time_limit: float | None = None,
    budget_clock: str = "wall",
    protocols: Sequence[str] = ("ours",),
    candidates_file: str | None = None,
    patience: int | None = None,
    relative_delta: float = 0.0,
    keep_dir: str | None = None,
    data_sha256: str | None = None,
) -> dict[str, Any]:
    """Search `grid` x `epoch_points` on validation; test metrics of the winner per language.

    `protocols`: ranking protocols (`prixlm.link_prediction.protocols`), all from the same
    scores; the first selects the winner (validation MRR) and is the record's `validation`
    and `test`, `by_protocol` holds every one. The candidates: `job_candidates` (the
    dataset's own, as Prix-LM's jobs and `evaluate_lp` rank them, or `candidates_file`'s);
    each is an entity of the graph, and one no train triple names (named by a link only, by
    validation or test rows only, or listed by the file only) keeps its initial embedding,
    unless, with `union`, a train link names it (the links are `sameAs` triples).

    Without `union`, `languages` is one language. With it, one model is trained on every
    language's train triples plus the links, and selected on the mean validation MRR.
    With `patience`, each grid point's run stops early: PyKEEN's `EarlyStoppingLogic` on
    the validation MRR of our ranking, evaluated at every epoch point, stops after
    `patience` points without a relative gain above `relative_delta` (the best point so far
    is what the search keeps, so `epoch_points` up to a few hundred cost only what helps).
    With `time_limit` (seconds), the search stops at the first epoch point reached after it,
    or before the next grid point (the grid is ordered base point first), and the record
    says `grid_truncated`; the limit is measured on `budget_clock` (`CLOCKS`). Each grid
    entry has its validation MRR and hits@1 and the budget-clock seconds since the job began.

    With `keep_dir`, the search so far is kept there after each grid point
    (`kept_runs.kept_search`): started again with the same arguments, the job goes on at
    the next grid point, its clock counting the seconds already spent; a kept search that
    spent more than `time_limit` is searched anew. `data_sha256` (the dataset's
    fingerprint, `table1_data.input_digests`) is part of what the kept search must match:
    the same folder rebuilt from other dumps is other data; so is the digest of the
    candidates ranked (`candidates_digest`: a search ranked among another set is not
    reused). The record counts the candidates of each language (`candidates`).
    """
    started, clock = time.time(), _clock(budget_clock)
    budget_started = clock()
    torch.manual_seed(seed)
    splits = {language: load_language(dataset_dir, language) for language in languages}
    links = []
    if union:
        from prixlm.data.loading import load_kb

        links = load_kb(dataset_dir, "links", split="train").to_list()
    candidates = job_candidates(languages, candidates_file, dataset_dir)
    graph = build_graph(splits, links, extra_entities=candidates)
    rows = {
        (language, split): _limit(splits[language][split], eval_limit)
        for language in languages
        for split in ("validation", "test")
    }

    def evaluate(model: Any, split: str) -> dict[str, dict[str, dict[str, float]]]:
        """`{protocol: {language: metrics}}` of `split`; test's with the per-query `ranks`
        that a paired comparison needs (`prixlm.experiments.paired`)."""
        scorer = KGEScorer(model, graph)
        results: dict[str, dict[str, dict[str, float]]] = {p: {} for p in protocols}
        for language in languages:
            by_protocol = evaluate_scorer_protocols(
                scorer,
                rows[(language, split)],
                candidates[language],
                protocols,
                train_rows=splits[language]["train"],
                keep_ranks=split == "test",
            )
            for protocol, metrics in by_protocol.items():
                results[protocol][language] = metrics
        return results

    key = {"grid": [dict(point) for point in grid], "epoch_points": list(epoch_points),
           "languages": list(languages), "union": union, "seed": seed, "eval_limit": eval_limit,
           "time_limit": time_limit, "budget_clock": budget_clock, "protocols": list(protocols),
           "candidates_file": candidates_file, "patience": patience,
           "relative_delta": relative_delta, "candidates_sha256": candidates_digest(candidates),
           **({"data_sha256": data_sha256} if data_sha256 else {})}  # fmt: skip
    kept = kept_search(keep_dir, key) if keep_dir else None
    first, search, best = 0, [], {"validation_mrr": -1.0}
    if kept is not None:
        first, search, best = kept["points_done"], kept["search"], kept["best"]
        budget_started -= kept["budget_seconds"]
        started -= kept.get("wall_seconds", 0.0)
        print(
            f"  {grid[0]['model']} {languages}: {first} of {len(grid)} grid points kept",
            file=sys.stderr,
            flush=True,
        )  # stdout: a JSON command's record
    truncated = False
    for done, point in enumerate(grid[first:], start=first + 1):
        if time_limit and clock() - budget_started > time_limit:
            truncated = True  # (a start that kept more seconds than this limit allows)
            break
        config = KGEConfig(**point)
        stopper = early_stopping(patience, relative_delta)

        def on_point(
            epochs: int, model: Any, config: KGEConfig = config, stopper=stopper, done=done
        ) -> bool:
            validation = evaluate(model, "validation")
            mrr = _mean([m["mrr"] for m in validation[protocols[0]].values()])
            hits = _mean([m["hits_at_1"] for m in validation[protocols[0]].values()])
            search.append({**config.as_dict(), "epochs": epochs, "validation_mrr": mrr,
                           "validation_hits_at_1": hits,
                           "seconds": round(clock() - budget_started, 1)})  # fmt: skip
            name = languages if union else languages[0]
            print(f"  {config.model} {name} {search[-1]}", file=sys.stderr, flush=True)
            if mrr > best["validation_mrr"]:
                best.update(
                    config={**config.as_dict(), "epochs": epochs},
                    validation_mrr=mrr,
                    validation=validation,
                    test=evaluate(model, "test"),
                )
            stop = stops_here(stopper, mrr, epochs, search[-1])
            last = done == len(grid) and (stop or epochs == epoch_points[-1])
            if time_limit and clock() - budget_started > time_limit and not last:
                raise _OutOfTime  # (past the search's last point it is complete, not cut)
            return stop

        try:
            train_kge(graph, config, epoch_points, on_point, seed=seed, device=device)
        except _OutOfTime:
            truncated = True
            break
        if keep_dir:
            keep_search(keep_dir, key, done, search, best, clock() - budget_started,
                        time.time() - started)  # fmt: skip
    return {
        "kind": "kge",
        "model": grid[0]["model"],
        "union": union,
        "languages": list(languages),
        "seed": seed,
        "device": device,
        "grid": search,
        "grid_points": len(grid),
        "epoch_points": list(epoch_points),
        "early_stopping": stopping_settings(patience, relative_delta),
        "grid_truncated": truncated,
        "time_limit_s": time_limit,
        "budget_clock": budget_clock,
        "winner": best["config"],
        "protocol": protocols[0],
        "validation": best["validation"][protocols[0]],
        "test": best["test"][protocols[0]],
        "by_protocol": _by_protocol(
            {"validation": best["validation"], "test": best["test"]}, protocols
        ),
        "train_triples": len(graph.triples),
        "entities": len(graph.entity_ids),
        "candidates": {language: len(candidates[language]) for language in languages},
        "seconds": round(time.time() - started, 1),
    }


WORK_DIR = "<work_dir>"


#: A job argument that is no part of its plan: the job's earlier record, given to a Prix-LM
#: job evaluated again so that it ranks its finished release instead of training
#: (`dbp5l.stale_evaluations`); the next start plans the job without it.
PREVIOUS = "previous"


def job_plan(kwargs: Mapping[str, Any], work_dir: Path) -> Any:
    """A job's arguments as its record keeps them (`plan`): JSON values, paths inside
    `work_dir` written from it (`<work_dir>/runs/...`), so a moved folder keeps its jobs;
    `PREVIOUS` left out (a plan with it never equalled the next start's). A Table 1 job's
    plan adds `candidates_sha256`, the digest of the candidates it ranks
    (`table1_data.plan_candidates_digest`): a record ranked among another set (one made
    before the dataset's candidates gained the link ends) is not done."""
    root = str(Path(work_dir))
    digest = plan_candidates_digest(kwargs)
    kwargs = {key: value for key, value in kwargs.items() if key != PREVIOUS}
    if digest is not None:
        kwargs["candidates_sha256"] = digest

    def relative(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: relative(item) for key, item in value.items()}
        if isinstance(value, list):
            return [relative(item) for item in value]
        if isinstance(value, str) and (value == root or value.startswith(root + "/")):
            return WORK_DIR + value[len(root) :]
        return value

    return relative(json.loads(json.dumps(dict(kwargs), default=str)))


def job_done(record_path: Path, kwargs: Mapping[str, Any]) -> bool:
    """Whether the job record at `record_path` (`<work_dir>/jobs/<name>.json`) was made with
    these arguments (`plan`). One made with others (another grid, epoch points, time limit,
    profile field, or by code before plans were kept) is not: the job runs again and takes
    what its kept progress still holds (a KGE search's points, a release trained with the
    same identity; `prixlm.experiments.kept_runs`). Records were reused whatever the
    arguments, and the table stated the new ones over the old numbers."""
    if not record_path.is_file():
        return False
    record = json.loads(record_path.read_text("utf-8"))
    return recorded_plan(record) == job_plan(kwargs, record_path.parent.parent)


def recorded_plan(record: Mapping[str, Any]) -> Any:
    """A job record's `plan`, `PREVIOUS` left out (records written before `job_plan` left it
    out keep it)."""
    plan = record.get("plan")
    if isinstance(plan, dict):
        return {key: value for key, value in plan.items() if key != PREVIOUS}
    return plan


def worker_threads(profile: Mapping[str, Any]) -> int:
    """Torch threads of each job: the profile's `threads_per_worker`, else the cores shared
    out (`os.cpu_count() // workers`; one worker, in this process: its own count). They
    change the numbers (float sums in another order) and, under a CPU-time budget, the
    steps reached: the runners record them (`record_threads`)."""
    if profile.get("threads_per_worker"):
        return int(profile["threads_per_worker"])
    if profile["workers"] == 1:
        return torch.get_num_threads()
    return max(1, (os.cpu_count() or 1) // profile["workers"])


_THREADS_PREFIX = re.compile(r"^OMP_NUM_THREADS=\d+ ")


def plain_command(command: str) -> str:
    """`command` without its `OMP_NUM_THREADS=N ` prefix (`thread_command`)."""
    return _THREADS_PREFIX.sub("", command)


def thread_command(command: str, threads: int | None) -> str:
    """`OMP_NUM_THREADS=<threads> <command>`: the command that trains the same weights (its
    threads named; None, unknown: the command alone)."""
    command = plain_command(command)
    return command if threads is None else f"OMP_NUM_THREADS={threads} {command}"


def record_threads(record: dict[str, Any], kwargs: Mapping[str, Any], threads: int) -> None:
    """Add the job's torch threads to its `record` (`torch_num_threads`) and to its train.py
    `command`: the threads the release was trained with (its `train_results.json`), else
    `threads` unless the release was trained by an earlier start (then unknown)."""
    record["torch_num_threads"] = threads
    if "command" not in record:
        return
    trained: int | None = None if record.get("evaluated_again") else threads
    results = Path(str(kwargs.get("run_dir", ""))) / "model" / "train_results.json"
    if kwargs.get("run_dir") and results.is_file():
        trained = json.loads(results.read_text("utf-8")).get("torch_num_threads", trained)
    record["command"] = thread_command(record["command"], trained)


def threads_note(records: Mapping[str, Mapping[str, Any]], threads: int) -> str | None:
    """One line naming the kept job records made with another thread count than `threads`
    or an unknown one (a record of an earlier version, before the count was recorded), kept
    all the same (a resume on another machine is allowed), or None."""
    other = {name: r.get("torch_num_threads") or "unknown" for name, r in sorted(records.items())
             if r.get("torch_num_threads") != threads}  # fmt: skip
    if not other:
        return None
    named = ", ".join(f"{name} {count}" for name, count in other.items())
    return (f"note: {len(other)} kept job records were made with another thread count than "
            f"this run's {threads} (their numbers may differ in the last digits): {named}")  # fmt: skip


def early_stopping(patience: int | None, relative_delta: float) -> Any:
    """PyKEEN's early-stopping rule on a larger-is-better metric, or None without `patience`."""
    if not patience:
        return None
    from pykeen.stoppers.early_stopping import EarlyStoppingLogic

    return EarlyStoppingLogic(patience=patience, relative_delta=relative_delta)


def stopping_settings(patience: int | None, relative_delta: float) -> dict[str, Any] | None:
    """The record's `early_stopping` field: the rule's settings, or None without `patience`."""
    return {"patience": patience, "relative_delta": relative_delta} if patience else None


def stops_here(stopper: Any, mrr: float, epochs: int, entry: dict[str, Any]) -> bool:
    """Report `mrr` at `epochs` to `stopper` (`early_stopping`; None never stops): True when
    the run ends at this epoch point, and `entry` (its search record) is marked so."""
    if stopper is None or not stopper.report_result(mrr, epochs):
        return False
    entry["stopped_early"] = True
    return True


__all__ = [
    "TimeBudget",
    "kge_job",
    "load_language",
    "plain_command",
    "record_threads",
    "thread_command",
    "threads_note",
    "worker_threads",
]
