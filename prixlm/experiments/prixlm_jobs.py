"""Table 1's Prix-LM job: train one model with `train.py`'s `pretrain`, then rank.

`prixlm_job`: Single (one language's triples) or All (every language's triples + links),
then full-ranking validation and test metrics per language, and optionally the paper's
beam search (MRR@K) on test; both rank labels that tokenise identically as one entity
(the official rule; each metrics record counts them: `merged_candidates`). A job started
again after a stop reuses what its run folder kept (`prixlm.experiments.kept_runs`): the
finished release and each language's metrics.
`train_argv` and `training_record` are shared with DBP-5L's job (`dbp5l_jobs`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from prixlm.experiments.jobs import _by_protocol, _limit, load_language
from prixlm.experiments.kept_runs import (
    KeepProgress,
    forget_training,
    keep_training,
    kept_evaluation,
    kept_progress,
    kept_training,
    training_identity,
)
from prixlm.experiments.table1_data import candidates_digest, job_candidates
from prixlm.experiments.time_budget import TimeBudget
from prixlm.link_prediction.fitted_scoring import fitted_scorer_protocols
from prixlm.link_prediction.scorer import PrixLMScorer


def train_argv(
    dataset_dir: str,
    run_dir: Path,
    languages: Sequence[str],
    variant: str,
    tokenizer_dir: str,
    settings: Mapping[str, Any],
    seed: int,
) -> list[str]:
    """The `train.py` command line of one run (`settings`: train.py options, without `--`)."""
    argv = [
        "--dataset", str(dataset_dir), "--languages", ",".join(languages),
        "--variant", variant, "--output_dir", str(run_dir), "--tokenizer_dir", tokenizer_dir,
        "--seed", str(seed), "--report_to", "none", "--dataloader_num_workers", "0",
        "--save_total_limit", "1",
    ]  # fmt: skip
    for key, value in settings.items():
        argv += [f"--{key}", str(value)]
    return argv


def training_record(
    variant: str,
    languages: Sequence[str],
    settings: Mapping[str, Any],
    seed: int,
    device: str,
    argv: Sequence[str],
    guard: TimeBudget,
    budget_clock: str,
    train_seconds: float,
) -> dict[str, Any]:
    """The fields every Prix-LM job record has about its training: what was trained, how,
    for how long (kept in the run folder: `prixlm.experiments.kept_runs`)."""
    return {
        "kind": "prixlm",
        "variant": variant,
        "languages": list(languages),
        "settings": dict(settings),
        "seed": seed,
        "device": device,
        "command": "python train.py " + " ".join(argv),
        "steps": guard.steps,
        "time_budget_s": guard.seconds,
        "budget_clock": budget_clock,
        "stopped_by_time_limit_at": guard.stopped_at,
        "train_seconds": round(train_seconds, 1),
    }


def with_evaluation_time(
    training: Mapping[str, Any],
    evaluation_started: float,
    reused: bool,
    earlier_seconds: Sequence[float] = (),
) -> dict[str, Any]:
    """`training` plus `eval_seconds` (since `evaluation_started`, plus `earlier_seconds`:
    what earlier starts spent on the rankings read back) and `seconds` (both);
    `evaluated_again: true` when the release was trained by an earlier start of the job."""
    eval_seconds = round(time.time() - evaluation_started + sum(earlier_seconds), 1)
    record = {**training, "eval_seconds": eval_seconds,
              "seconds": round(training["train_seconds"] + eval_seconds, 1)}  # fmt: skip
    if reused:
        record["evaluated_again"] = True
    return record


def prixlm_job(
    dataset_dir: str,
    run_dir: str,
    languages: Sequence[str],
    variant: str,
    tokenizer_dir: str,
    settings: Mapping[str, Any],
    seed: int = 0,
    device: str = "cpu",
    eval_limit: int | None = None,
    score_batch: int = 8,
    score_rows: int = 512,
    beam_k: int = 0,
    time_limit: float | None = None,
    validation_limit: int | None = None,
    splits: Sequence[str] = ("validation", "test"),
    budget_clock: str = "wall",
    protocols: Sequence[str] = ("ours",),
    candidates_file: str | None = None,
    curve_every: int | None = None,
    curve_metric: str = "loss",
    curve_queries: int = 20,
    flat_window: int = 3,
    flat_min_gain: float = 0.0,
    anneal_share: float = 0.0,
    data_sha256: str | None = None,
    tokenizer_sha256: str | None = None,
) -> dict[str, Any]:
    """Train one Prix-LM with `pretrain` and evaluate every language on validation and test.

    `protocols`, `candidates_file`: as `kge_job`'s (every protocol from one scoring pass;
    the first is the record's per-split metrics, `by_protocol` holds every one).

    With `curve_every`, the validation curve (`prixlm.experiments.curve`: `curve_metric`
    `loss` or `mrr` of `curve_queries` rows per language) is taken every that many steps
    and training stops when it is flat (`flat_window` evaluations without a gain above
    `flat_min_gain`; with `anneal_share` > 0, after annealing the learning rate to 0 over
    that share of the steps so far) or at the time budget / `max_steps`, whichever comes first; the
    record's `curve` holds its points and why training stopped.

    `data_sha256`, `tokenizer_sha256`: digests of the dataset and tokenizer folders
    (`table1_data.input_digests`); given, the kept training and rankings must match them
    (the command names the folders only, whose files may have been made again since), as
    they must match the digest of the candidates ranked (`candidates_digest`). The record
    counts the candidates of each language (`candidates`).
    """
    from prixlm.model_loading import load_prixlm

    argv = train_argv(dataset_dir, Path(run_dir), languages, variant, tokenizer_dir, settings, seed)
    if device == "cpu":
        argv.append("--use_cpu")
    guard = TimeBudget(time_limit, clock=budget_clock)
    curve_settings = None
    if curve_every:
        curve_settings = {"metric": curve_metric, "every": curve_every, "queries": curve_queries,
                          "flat_window": flat_window, "flat_min_gain": flat_min_gain}  # fmt: skip
        if anneal_share:  # absent at 0: identities kept before the anneal existed still match
            curve_settings["anneal_share"] = anneal_share
        if curve_metric == "mrr" and candidates_file:  # the curve ranks the file's labels:
            curve_settings["candidates"] = "candidates_file"  # not a training kept before
    inputs = {name: value for name, value in
              (("data_sha256", data_sha256), ("tokenizer_sha256", tokenizer_sha256)) if value}  # fmt: skip
    # the candidates decide the rankings, the validation curve's MRR that may stop
    # training and the release's `candidates.json`: another set is another training
    ranked = job_candidates(languages, candidates_file, dataset_dir)
    inputs["candidates_sha256"] = candidates_digest(ranked)
    identity = training_identity(argv, guard.seconds, budget_clock, curve_settings, inputs)
    training = kept_training(run_dir, identity)
    reused = training is not None
    if training is None:
        curve = None
        if curve_settings:
            from prixlm.experiments.curve import curve_callback

            c = curve_settings
            curve = curve_callback(dataset_dir, languages, c["metric"], c["every"], c["queries"],
                                   c["flat_window"], c["flat_min_gain"], score_batch, score_rows,
                                   settings.get("max_fact_length"), c.get("anneal_share", 0.0),
                                   candidates=ranked)  # fmt: skip
        trained = train_release(run_dir, identity, argv, guard, curve)
        training = {
            **training_record(variant, languages, settings, seed, device, argv, guard,
                              budget_clock, trained.pop("train_seconds")),
            **trained,
        }  # fmt: skip
        if curve is not None:
            training["curve"] = _curve_record(curve_settings, curve, guard)
        keep_training(run_dir, identity, training)
    evaluation_started = time.time()
    release = Path(run_dir) / "model"
    model, tokenizer = load_prixlm(release, device)
    scorer = PrixLMScorer(model, tokenizer, score_batch, score_rows)
    record: dict[str, Any] = {split: {} for split in splits}
    earlier_seconds: list[float] = []
    every: dict[str, dict[str, dict[str, Any]]] = {
        split: {p: {} for p in protocols} for split in splits
    }
    for language in languages:
        data = load_language(dataset_dir, language)
        candidates = ranked[language]
        # labels that tokenise identically rank as one entity (`protocol_ranks`, as the
        # beam search and `evaluate_lp`); only a list with such labels says so in its key,
        # so its rankings kept from before that rule are ranked again, the others match
        canonical = scorer.canonical_labels(candidates)
        merged = sum(canonical[label] != label for label in candidates)
        for split in splits:
            limit = validation_limit if split == "validation" and validation_limit else eval_limit
            rows = _limit(data[split], limit)
            # test keeps per-query ranks (`paired`); only its key says so, so kept
            # validation rankings from before still match
            ranks = split == "test"
            key = {"rows": len(rows), "protocols": list(protocols), "candidates": len(candidates),
                   "candidates_file": candidates_file, **({"ranks": True} if ranks else {}),
                   **({"merged_candidates": merged} if merged else {}), **inputs}  # fmt: skip
            by_protocol = kept_evaluation(
                run_dir, split, language, key,
                lambda rows=rows, candidates=candidates, data=data, ranks=ranks: (
                    fitted_scorer_protocols(
                        scorer, rows, candidates, protocols, batch_size=score_batch,
                        train_rows=data["train"], keep_ranks=ranks)),
                earlier_seconds,
            )  # fmt: skip
            for protocol, metrics in by_protocol.items():
                every[split][protocol][language] = metrics
            record[split][language] = by_protocol[protocols[0]]
        if beam_k and "test" in splits:
            from prixlm.link_prediction.evaluation import evaluate_link_prediction

            beam = evaluate_link_prediction(
                model,
                tokenizer,
                _limit(data["test"], eval_limit),
                candidates,
                "beam",
                beam_k,
                batch_size=max(1, score_batch // 2),
            )
            record["test"][language][f"mrr_at_{beam_k}"] = beam[f"mrr_at_{beam_k}"]
    return {
        **with_evaluation_time(training, evaluation_started, reused, earlier_seconds),
        "release": str(release),
        "candidates": {language: len(ranked[language]) for language in languages},
        "protocol": protocols[0],
        "by_protocol": _by_protocol(every, protocols),
        **record,
    }


def train_release(
    run_dir: str,
    identity: Mapping[str, Any],
    argv: Sequence[str],
    guard: TimeBudget,
    curve: Any = None,
) -> dict[str, Any]:
    """Train `train.py argv` into `run_dir` under `guard` (and the `ValidationCurve` `curve`),
    going on from the last checkpoint of the same training (`identity`) when one was kept
    (`kept_progress`), else from scratch in a folder cleared of earlier trainings.

    Returns `{"train_seconds": wall seconds over every start}`, plus `resumed_from_step`
    when it went on from a checkpoint. Holds `run_dir`'s one-writer lock from before it
    reads the kept progress to the end of training: a second job into `run_dir` while one
    trains there gets `OutputLockedError` before it removes anything."""
    from prixlm.outputs.lock import writer_lock

    with writer_lock(run_dir, argument="--output_dir"):
        return _train_release(run_dir, identity, argv, guard, curve)


def _train_release(
    run_dir: str,
    identity: Mapping[str, Any],
    argv: Sequence[str],
    guard: TimeBudget,
    curve: Any = None,
) -> dict[str, Any]:
    """`train_release`'s work, under its lock of `run_dir`."""
    from prixlm.training.arguments import parse_training_arguments
    from prixlm.training.checkpoint_rotation import remove_checkpoints_after
    from prixlm.training.pretrain import pretrain

    started = time.time()
    progress = kept_progress(run_dir, identity)
    before, resumed, run_argv = 0.0, {}, list(argv)
    if progress is None:
        forget_training(run_dir)
    else:  # a start killed before keeping a later checkpoint's progress left that one
        remove_checkpoints_after(run_dir, progress["step"])
        guard.resume(progress["budget"])
        if curve is not None:
            curve.resume(progress["curve"])
        before = float(progress["train_seconds"])
        run_argv += ["--resume_from_checkpoint", progress["checkpoint"]]
        resumed = {"resumed_from_step": progress["step"]}
        print(f"  {run_dir}: going on from step {progress['step']}", flush=True)

    def progress_now() -> dict[str, Any]:
        return {"budget": guard.progress(), "curve": curve.progress() if curve else None,
                "train_seconds": round(before + time.time() - started, 1)}  # fmt: skip

    callbacks: list[TrainerCallback] = [guard] + ([curve] if curve is not None else [])
    callbacks.append(KeepProgress(run_dir, identity, progress_now))
    pretrain(parse_training_arguments(run_argv), callbacks)
    return {"train_seconds": round(before + time.time() - started, 1), **resumed}


def _curve_record(settings: Mapping[str, Any], curve: Any, guard: TimeBudget) -> dict[str, Any]:
    """The record's `curve`: how it was taken, its points and why training stopped."""
    budget_ended = guard.stopped_at is not None and guard.steps >= guard.stopped_at
    anneal = curve.anneal
    if anneal is not None:
        ended = guard.steps >= anneal["to_step"] or not budget_ended
        stopped_by = "flat curve, then annealed" if ended else "time budget (while annealing)"
    elif curve.flat_at is not None:
        stopped_by = "flat curve"
    else:
        stopped_by = "time budget" if budget_ended else "step limit (max_steps)"
    record = {
        "metric": settings["metric"],
        "every": settings["every"],
        "queries_per_language": settings["queries"] if settings["metric"] == "mrr" else None,
        "flat_rule": {"window": settings["flat_window"], "min_gain": settings["flat_min_gain"]},
        "flat_at": curve.flat_at,
        "stopped_by": stopped_by,
        # per language, the labels the curve's MRR ranked among: the job's candidates
        **({"candidates": dict(curve.candidate_counts)} if curve.candidate_counts else {}),
        "points": curve.points,
    }
    if settings.get("anneal_share"):
        record["anneal"] = {"share": settings["anneal_share"], **(anneal or {})}
    return record


__all__ = [
    "prixlm_job",
    "train_argv",
    "train_release",
    "training_record",
    "with_evaluation_time",
]
