"""What a Prix-LM job has already done, kept in its run folder so that it is not done twice.

A results run (Table 1, DBP-5L) can be stopped at any time and started again with the same
command: finished jobs are skipped by their records (those made with the same arguments,
`jobs.job_done`), and a job that was stopped part-way picks up here.

- **Training**: once `train.py` has written the release (`run_dir/model`), the job writes
  `run_dir/job_training.json`: how it was trained (`identity`: the `train.py` command, the
  time budget and its clock, the validation-curve settings) and what it reached (`training`:
  steps, seconds, the curve's points). Started again with the same identity, the job
  evaluates that release instead of training a new one; any other identity trains again
  (and forgets what was kept). While it trains, each checkpoint's step, the time budget
  spent and the curve's points go to `run_dir/job_progress.json` (`KeepProgress`): a job
  stopped mid-training goes on from its last checkpoint, its budget and schedule unchanged.
- **KGE searches** (`kge_job` with `keep_dir`): after each grid point, the search so far
  (its entries, the running winner's metrics, the budget seconds spent) goes to
  `keep_dir/kge_search.json`; started again, the search goes on at the next point (one
  that spent more than the new time limit is searched anew).
- **Evaluation**: each (split, language)'s metrics go to `run_dir/job_eval/<split>-<language>.json`
  with what was ranked (`key`: rows, protocols, candidates) and the seconds it took, so a
  job stopped while ranking its ninth language ranks only that one again, and its record's
  `eval_seconds` still counts every language's ranking.

    identity = training_identity(argv, time_budget_s=240, budget_clock="cpu")
    training = kept_training(run_dir, identity)        # None: train
    ...
    keep_training(run_dir, identity, training)
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from prixlm.outputs.atomic import write_json

TRAINING_FILE = "job_training.json"
PROGRESS_FILE = "job_progress.json"
EVALUATION_DIR = "job_eval"
SEARCH_FILE = "kge_search.json"


def _as_json(value: Any) -> Any:
    """`value` as it reads back from a JSON file (tuples as lists, ...)."""
    return json.loads(json.dumps(value))


def _read_kept(
    path: Path, field: str, expected: Mapping[str, Any], ignored: Sequence[str] = ()
) -> dict[str, Any] | None:
    """The JSON object in `path` when its `field` equals `expected` (as JSON), the keys in
    `ignored` aside; else None."""
    if not path.is_file():
        return None
    kept = json.loads(path.read_text("utf-8"))

    def compared(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {k: v for k, v in value.items() if k not in ignored}

    same = compared(kept.get(field)) == compared(_as_json(dict(expected)))
    return kept if same else None


def training_identity(
    argv: Sequence[str],
    time_budget_s: float | None,
    budget_clock: str,
    curve: Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What makes two trainings the same: the `train.py` command (`argv`), the time budget
    and its clock, the validation-curve settings that may stop it early (None: none), and
    with `inputs` the digests of what it reads (`data_sha256`, `tokenizer_sha256`: the
    command names folders, whose files may have been replaced since)."""
    identity = {
        "command": "python train.py " + " ".join(argv),
        "time_budget_s": time_budget_s,
        "budget_clock": budget_clock,
        "curve": dict(curve) if curve else None,
    }
    if inputs:  # absent without: identities kept before inputs were recorded still match
        identity["inputs"] = dict(inputs)
    return identity


def kept_training(run_dir: str | Path, identity: Mapping[str, Any]) -> dict[str, Any] | None:
    """The kept `training` fields when `run_dir` holds a release trained as `identity`
    says (its weights file and `job_training.json` with an equal identity); else None."""
    run_dir = Path(run_dir)
    if not (run_dir / "model" / "model.safetensors").is_file():
        return None
    kept = _read_kept(run_dir / TRAINING_FILE, "identity", identity)
    return None if kept is None else dict(kept["training"])


def keep_training(
    run_dir: str | Path, identity: Mapping[str, Any], training: Mapping[str, Any]
) -> None:
    """Write `job_training.json` (atomically: a crash leaves the old file or none)."""
    payload = {"identity": dict(identity), "training": dict(training)}
    write_json(payload, Path(run_dir) / TRAINING_FILE, "run_dir")


def forget_training(run_dir: str | Path) -> None:
    """Remove what was kept of an earlier training, its evaluations, its checkpoints and
    its release (before training again from scratch: the new release would not be the one
    they describe, a stopped run's later-numbered checkpoint would outlive the new ones, and
    `pretrain` refuses to replace a release it was not asked to resume). Holds the run
    folder's one-writer lock, as training does: `OutputLockedError` before anything is
    removed while a training writes it."""
    from prixlm.outputs.lock import writer_lock
    from prixlm.training.resume import remove_earlier_run

    run_dir = Path(run_dir)
    with writer_lock(run_dir, argument="--output_dir"):
        (run_dir / TRAINING_FILE).unlink(missing_ok=True)
        (run_dir / PROGRESS_FILE).unlink(missing_ok=True)
        shutil.rmtree(run_dir / EVALUATION_DIR, ignore_errors=True)
        remove_earlier_run(run_dir)


class KeepProgress(TrainerCallback):
    """After every checkpoint the Trainer saves, keep `progress()` (what the job's own
    callbacks know at that step: time budget spent, curve points) with `identity` and the
    step in `run_dir/job_progress.json`, so that a stopped training goes on from there (the
    Trainer removes the checkpoint it named before only after this `on_save`:
    `prixlm.training.checkpoint_rotation`)."""

    def __init__(
        self, run_dir: str | Path, identity: Mapping[str, Any], progress: Callable[[], dict]
    ):
        self.path, self.identity, self.progress = Path(run_dir) / PROGRESS_FILE, identity, progress

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            payload = {"identity": dict(self.identity), "step": state.global_step,
                       **self.progress()}  # fmt: skip
            write_json(payload, self.path, "run_dir")
        return control

    def on_train_end(self, args, state, control, **kwargs):
        # the callbacks before this one took their last points at the end (the validation
        # curve's last step): keep them with the last checkpoint, so that a start that only
        # writes the release has them too
        final = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
        if (final / "trainer_state.json").is_file():
            self.on_save(args, state, control)
        return control


def kept_progress(run_dir: str | Path, identity: Mapping[str, Any]) -> dict[str, Any] | None:
    """The progress `KeepProgress` kept for a training started as `identity` and stopped
    before its end, with `checkpoint`: the folder of the step it was kept at; None when
    there is none, it is another training's, or that checkpoint is gone."""
    kept = _read_kept(Path(run_dir) / PROGRESS_FILE, "identity", identity)
    if kept is None:
        return None
    checkpoint = Path(run_dir) / f"{PREFIX_CHECKPOINT_DIR}-{kept.get('step')}"
    if not (checkpoint / "trainer_state.json").is_file():
        return None
    return {**kept, "checkpoint": str(checkpoint)}


def kept_evaluation(
    run_dir: str | Path,
    split: str,
    language: str,
    key: Mapping[str, Any],
    evaluate: Callable[[], Any],
    earlier_seconds: list[float] | None = None,
) -> Any:
    """`evaluate()`'s result for (`split`, `language`), computed once per `key` (what was
    ranked: limits, protocols, candidates; JSON values) and kept in `run_dir/job_eval/`
    with the seconds it took. When the result is read back, those seconds (an earlier
    start's) are appended to `earlier_seconds` if given."""
    path = Path(run_dir) / EVALUATION_DIR / f"{split}-{language}.json"
    key = {"split": split, "language": language, **key}
    kept = _read_kept(path, "key", key)
    if kept is not None:
        if earlier_seconds is not None:
            earlier_seconds.append(float(kept.get("seconds", 0.0)))
        return kept["metrics"]
    started = time.time()
    metrics = _as_json(evaluate())  # as a later start would read it back
    seconds = round(time.time() - started, 1)
    write_json({"key": key, "metrics": metrics, "seconds": seconds}, path, "run_dir")
    return metrics


def kept_search(keep_dir: str | Path, key: Mapping[str, Any]) -> dict[str, Any] | None:
    """A KGE search's progress kept in `keep_dir/kge_search.json` for the same `key` (the
    job's arguments): `points_done`, `search` (its entries so far), `best` (the running
    winner: config, validation and test metrics), `budget_seconds` and `wall_seconds`
    spent; else None. The key's `time_limit` is compared only with the seconds spent: a
    search cut by its limit goes on under a larger one (its points ended within either),
    but one that spent more than the key's limit is not reused (a search under that
    limit would have stopped earlier: it would report points the limit did not allow)."""
    kept = _read_kept(Path(keep_dir) / SEARCH_FILE, "key", key, ignored=("time_limit",))
    limit = key.get("time_limit")
    if kept is not None and limit and float(kept.get("budget_seconds", 0.0)) > limit:
        return None
    return kept


def keep_search(
    keep_dir: str | Path,
    key: Mapping[str, Any],
    points_done: int,
    search: Sequence[Mapping[str, Any]],
    best: Mapping[str, Any],
    budget_seconds: float,
    wall_seconds: float = 0.0,
) -> None:
    """Keep a KGE search's progress after `points_done` grid points (atomically), with the
    seconds spent on its budget's clock and on the wall clock."""
    payload = {"key": dict(key), "points_done": points_done, "search": list(search),
               "best": dict(best), "budget_seconds": budget_seconds,
               "wall_seconds": wall_seconds}  # fmt: skip
    write_json(payload, Path(keep_dir) / SEARCH_FILE, "keep_dir")


__all__ = [
    "EVALUATION_DIR",
    "KeepProgress",
    "PROGRESS_FILE",
    "SEARCH_FILE",
    "TRAINING_FILE",
    "forget_training",
    "keep_search",
    "keep_training",
    "kept_evaluation",
    "kept_progress",
    "kept_search",
    "kept_training",
    "training_identity",
]
