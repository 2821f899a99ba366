"""The runs behind the DBP-5L table, one function per job; each returns a JSON-able record.

Unlike Table 1's jobs (`prixlm.experiments.jobs`), every ranking here is over the
**benchmark's candidate set** (every entity of the target KG, in the order of its
`entity/<lang>.tsv`, so that ties broken by entity order match the published code) and is
read under several ranking protocols at once (`prixlm.link_prediction.protocols`: `ours`
and the papers' `kens`), from one scoring pass.

- `kge_search_job`: PyKEEN TransE or RotatE for one language: the whole grid x epoch points,
  selected on the validation MRR (protocol `ours`), never cut by time; the winner's test
  metrics under every protocol.
- `prixlm_protocol_job`: `pretrain` (Single: one language's triples; All: the five KGs'
  train triples, with or without the seed alignment links), then validation and test
  metrics per language under every protocol.

Evaluation rows can be a seeded sample (`eval_limit`, `validation_limit`): the same rows for
every method evaluated with the same limit. Each record states what was evaluated
(`evaluation_settings`); a Prix-LM job whose run folder keeps a finished release trained the
same way (`kept_runs`), or given its earlier record (`previous`) whose run finished
(`finished_release`), only evaluates that release again: a larger test sample costs ranking
time, not training, and a run stopped part-way does not train again.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from prixlm.baselines.kge import KGEConfig, KGEScorer, build_graph, train_kge
from prixlm.experiments.jobs import (
    TimeBudget,
    early_stopping,
    load_language,
    stopping_settings,
    stops_here,
)
from prixlm.experiments.kept_runs import (
    keep_training,
    kept_evaluation,
    kept_training,
    training_identity,
)
from prixlm.experiments.prixlm_jobs import (
    train_argv,
    train_release,
    training_record,
    with_evaluation_time,
)
from prixlm.link_prediction.candidate_files import dataset_candidates, layout_candidates
from prixlm.link_prediction.fitted_scoring import fitted_scorer_protocols
from prixlm.link_prediction.scorer import CandidateScorer

SELECTION_PROTOCOL = "ours"

#: The fields of a Prix-LM job record that describe its training: kept as they were when a
#: finished release is only evaluated again.
TRAINING_FIELDS = (
    "kind", "variant", "languages", "settings", "seed", "device", "command", "steps",
    "time_budget_s", "budget_clock", "stopped_by_time_limit_at", "train_seconds",
)  # fmt: skip


def evaluation_settings(
    eval_limit: int | None, validation_limit: int | None, protocols: Sequence[str]
) -> dict[str, Any]:
    """What a job's rankings cover (its record's `evaluation`): compared by the runner to
    decide whether a finished Prix-LM job must be evaluated again."""
    return {
        "eval_limit": eval_limit,
        "validation_limit": validation_limit,
        "protocols": list(protocols),
    }


def finished_release(
    run_dir: Path, training: Mapping[str, Any], previous: Mapping[str, Any] | None
) -> Path | None:
    """`run_dir/model` when `previous` (the job's earlier record) was trained as `training`
    says (the same values for its keys: the `train.py` command, the time budget and its
    clock) and its run finished at the recorded step (the last checkpoint says so); else
    None (train again)."""
    from transformers.trainer_utils import get_last_checkpoint

    from prixlm.training.checkpoint_files import finished_run

    release = run_dir / "model"
    if not previous or any(previous.get(key) != value for key, value in training.items()):
        return None
    if not (release / "model.safetensors").is_file():
        return None
    checkpoint = get_last_checkpoint(str(run_dir))
    if checkpoint is None or finished_run(checkpoint) != previous.get("steps"):
        return None
    return release


def sample_rows(rows: Sequence[Any], limit: int | None, seed: int) -> list[Any]:
    """`limit` rows drawn with `seed`, in their file order (all rows when `limit` is None or
    not smaller): the same rows for every method of a run."""
    rows = list(rows)
    if not limit or limit >= len(rows):
        return rows
    keep = sorted(random.Random(seed).sample(range(len(rows)), limit))
    return [rows[i] for i in keep]


def entity_candidates(layout_dir: str | None, language: str, dataset_dir: str) -> list[str]:
    """Labels of every entity of `language`'s KG, in entity-id order, each once.

    From `layout_dir/entity/<language>.tsv` (the benchmark's candidates: every entity of the
    target KG, whether or not a fact names it); without a layout folder, the dataset's own
    candidates of `dataset_dir` (`dataset_candidates`: the labels of the language's triples
    and link ends, what `evaluate_lp` ranks). Labels the dataset names but the entity file
    lacks are appended (none in DBP-5L).
    """
    known = dataset_candidates(dataset_dir, [language])[language]
    if not layout_dir:
        return known
    ordered = layout_candidates(layout_dir)[language]
    seen = set(ordered)
    return ordered + [label for label in known if label not in seen]


def evaluate_language(
    scorer: CandidateScorer,
    splits: Mapping[str, Sequence[Mapping[str, Any]]],
    candidates: Sequence[str],
    split: str,
    limit: int | None,
    protocols: Sequence[str],
    seed: int,
    batch_size: int = 64,
) -> dict[str, dict[str, float | int]]:
    """`{protocol: metrics}` of `scorer` on the (sampled) `split` rows of one language; each
    with the per-query ranks (`ranks`: `{"filtered", "raw"}` lists, row order) that a paired
    comparison of two methods needs (`prixlm.experiments.paired`)."""
    rows = sample_rows(splits[split], limit, seed)
    return fitted_scorer_protocols(
        scorer, rows, candidates, protocols, batch_size=batch_size, train_rows=splits["train"],
        keep_ranks=True,
    )  # fmt: skip


def kge_search_job(
    dataset_dir: str,
    language: str,
    grid: Sequence[Mapping[str, Any]],
    epoch_points: Sequence[int],
    protocols: Sequence[str] = ("ours", "kens"),
    layout_dir: str | None = None,
    seed: int = 0,
    device: str = "cpu",
    eval_limit: int | None = None,
    validation_limit: int | None = None,
    patience: int | None = None,
    relative_delta: float = 0.0,
) -> dict[str, Any]:
    """The whole `grid` x `epoch_points` of one model on one language, chosen on validation.

    Every grid point is trained (one run per point, evaluated at each epoch point); the
    winner is the (point, epochs) with the best validation MRR under `SELECTION_PROTOCOL`;
    test is evaluated for the running best only, never used to choose. With `patience`, a
    point's run stops after `patience` epoch points without a relative validation-MRR gain
    above `relative_delta` (PyKEEN's rule, as in Table 1's search): long epoch axes cost
    only what helps, and no grid point is skipped.
    """
    started = time.time()
    torch.manual_seed(seed)
    splits = load_language(dataset_dir, language)
    candidates = entity_candidates(layout_dir, language, dataset_dir)
    graph = build_graph({language: splits})
    for label in candidates:  # entities no fact names are candidates too (untrained)
        graph.entity_ids.setdefault((language, label), len(graph.entity_ids))

    def evaluate(model: Any, split: str, limit: int | None) -> dict[str, dict[str, Any]]:
        scorer = KGEScorer(model, graph)
        return evaluate_language(scorer, splits, candidates, split, limit, protocols, seed, 256)

    search: list[dict[str, Any]] = []
    best: dict[str, Any] = {"validation_mrr": -1.0}
    for point in grid:
        config = KGEConfig(**point)
        point_started = time.time()
        stopper = early_stopping(patience, relative_delta)

        def on_point(
            epochs: int,
            model: Any,
            config: KGEConfig = config,
            point_started: float = point_started,
            stopper: Any = stopper,
        ) -> bool:
            validation = evaluate(model, "validation", validation_limit)
            mrr = float(validation[SELECTION_PROTOCOL]["mrr"])
            search.append({**config.as_dict(), "epochs": epochs, "validation_mrr": mrr,
                           "seconds": round(time.time() - point_started, 1)})  # fmt: skip
            print(f"  {config.model} {language} {search[-1]}", flush=True)
            if mrr > best["validation_mrr"]:
                best.update(
                    config={**config.as_dict(), "epochs": epochs},
                    validation_mrr=mrr,
                    validation=validation,
                    test=evaluate(model, "test", eval_limit),
                    model=copy.deepcopy(model) if eval_limit else None,
                )
            return stops_here(stopper, mrr, epochs, search[-1])

        train_kge(graph, config, epoch_points, on_point, seed=seed, device=device)
    # every test query, for the winner only (a copy kept at each new best)
    test_full = evaluate(best["model"], "test", None) if best["model"] is not None else None
    return {
        "kind": "kge",
        "model": grid[0]["model"],
        "languages": [language],
        "seed": seed,
        "device": device,
        "grid": search,
        "grid_points": len(grid),
        "epoch_points": list(epoch_points),
        "early_stopping": stopping_settings(patience, relative_delta),
        "winner": best["config"],
        "validation": {language: best["validation"]},
        "test": {language: best["test"]},
        "test_full": {language: test_full} if test_full else None,
        "evaluation": evaluation_settings(eval_limit, validation_limit, protocols),
        "candidates": len(candidates),
        "train_triples": len(graph.triples),
        "seconds": round(time.time() - started, 1),
    }


def prixlm_protocol_job(
    dataset_dir: str,
    run_dir: str,
    languages: Sequence[str],
    variant: str,
    tokenizer_dir: str,
    settings: Mapping[str, Any],
    protocols: Sequence[str] = ("ours", "kens"),
    layout_dir: str | None = None,
    seed: int = 0,
    device: str = "cpu",
    eval_limit: int | None = None,
    validation_limit: int | None = None,
    score_batch: int = 8,
    score_rows: int = 512,
    time_limit: float | None = None,
    budget_clock: str = "wall",
    previous: Mapping[str, Any] | None = None,
    tokenizer_sha256: str | None = None,
) -> dict[str, Any]:
    """Train one Prix-LM (`train.py` options `settings`, at most `time_limit` seconds of
    training), then `{split: {language: {protocol: metrics}}}` on validation and test
    (`validation_limit=0`: test only).

    A release `run_dir` kept from an earlier start with the same training
    (`prixlm.experiments.kept_runs`), or one `previous` (this job's earlier record)
    describes (`finished_release`), is not trained again: it is evaluated and the record
    keeps the earlier training fields (`evaluated_again: true`). Each (split, language)'s
    rankings are kept in `run_dir` too. `tokenizer_sha256` (the digest of `tokenizer_dir`,
    which the command names only) is part of the kept training, and an earlier record made
    with another tokenizer is no `previous` release to evaluate again."""
    from prixlm.link_prediction.scorer import PrixLMScorer
    from prixlm.model_loading import load_prixlm

    argv = train_argv(dataset_dir, Path(run_dir), languages, variant, tokenizer_dir, settings, seed)
    if device == "cpu":
        argv.append("--use_cpu")
    guard = TimeBudget(time_limit, clock=budget_clock)
    inputs = {"tokenizer_sha256": tokenizer_sha256} if tokenizer_sha256 else None
    identity = training_identity(argv, guard.seconds, budget_clock, inputs=inputs)
    training = kept_training(run_dir, identity)
    release = Path(run_dir) / "model"
    if (
        tokenizer_sha256
        and (previous or {}).get("plan", {}).get("tokenizer_sha256") != tokenizer_sha256
    ):
        previous = None  # trained with another tokenizer (or one not recorded)
    if training is None and finished_release(Path(run_dir), _older_identity(identity), previous):
        training = {key: previous[key] for key in TRAINING_FIELDS if key in previous}
        keep_training(run_dir, identity, training)
    reused = training is not None
    if training is None:
        trained = train_release(run_dir, identity, argv, guard)
        training = {
            **training_record(variant, languages, settings, seed, device, argv, guard,
                              budget_clock, trained.pop("train_seconds")),
            **trained,
        }  # fmt: skip
        keep_training(run_dir, identity, training)
    evaluation_started = time.time()
    model, tokenizer = load_prixlm(release, device)
    scorer = PrixLMScorer(model, tokenizer, score_batch, score_rows)
    record: dict[str, Any] = {"validation": {}, "test": {}}
    earlier_seconds: list[float] = []
    evaluated = [("validation", validation_limit), ("test", eval_limit)]
    if validation_limit == 0:  # one setting, nothing to choose: no validation ranking
        evaluated = evaluated[1:]
    for language in languages:
        splits = load_language(dataset_dir, language)
        candidates = entity_candidates(layout_dir, language, dataset_dir)
        for split, limit in evaluated:
            key = {"limit": limit, "seed": seed, "protocols": list(protocols),
                   "candidates": len(candidates), "layout_dir": layout_dir}  # fmt: skip
            record[split][language] = kept_evaluation(
                run_dir, split, language, key,
                lambda splits=splits, candidates=candidates, split=split, limit=limit: (
                    evaluate_language(scorer, splits, candidates, split, limit, protocols,
                                      seed, score_batch)),
                earlier_seconds,
            )  # fmt: skip
    evaluation = evaluation_settings(eval_limit, validation_limit, protocols)
    return {**with_evaluation_time(training, evaluation_started, reused, earlier_seconds),
            "evaluation": evaluation, **record}  # fmt: skip


def _older_identity(identity: Mapping[str, Any]) -> dict[str, Any]:
    """The training fields an earlier job record (`previous`) is compared on."""
    return {key: identity[key] for key in ("command", "time_budget_s", "budget_clock")}


__all__ = [
    "TRAINING_FIELDS",
    "entity_candidates",
    "evaluation_settings",
    "evaluate_language",
    "finished_release",
    "kge_search_job",
    "prixlm_protocol_job",
    "sample_rows",
]
