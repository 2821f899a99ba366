"""What a Prix-LM job keeps in its run folder: a release is reused only for the same
training, and each (split, language)'s ranking is computed once per key."""

from __future__ import annotations

import json
import time

from prixlm.experiments.kept_runs import (
    TRAINING_FILE,
    forget_training,
    keep_training,
    kept_evaluation,
    kept_training,
    training_identity,
)
from prixlm.experiments.prixlm_jobs import with_evaluation_time


def _release(run_dir):
    (run_dir / "model").mkdir(parents=True)
    (run_dir / "model" / "model.safetensors").write_bytes(b"weights")


def test_training_is_reused_only_with_the_same_identity_and_weights(tmp_path):
    identity = training_identity(["--seed", "0"], 240.0, "cpu", {"every": 250})
    assert identity["command"] == "python train.py --seed 0"
    training = {"steps": 1234, "train_seconds": 241.5}
    keep_training(tmp_path, identity, training)
    assert kept_training(tmp_path, identity) is None  # no weights: nothing to reuse
    _release(tmp_path)
    assert kept_training(tmp_path, identity) == training
    assert kept_training(tmp_path, training_identity(["--seed", "1"], 240.0, "cpu")) is None
    assert kept_training(tmp_path, {**identity, "time_budget_s": 120.0}) is None
    assert kept_training(tmp_path, {**identity, "budget_clock": "wall"}) is None
    assert kept_training(tmp_path, {**identity, "curve": None}) is None
    saved = json.loads((tmp_path / TRAINING_FILE).read_text("utf-8"))
    assert saved == {"identity": identity, "training": training}
    (tmp_path / "checkpoint-3000").mkdir()  # a stopped run's checkpoint
    (tmp_path / "train_results.json").write_text("{}", "utf-8")
    forget_training(tmp_path)
    assert kept_training(tmp_path, identity) is None
    assert not (tmp_path / "checkpoint-3000").exists()
    # the old release goes too: a new training there is refused while it is present
    assert not (tmp_path / "model").exists() and not (tmp_path / "train_results.json").exists()


def test_evaluation_is_computed_once_per_key_and_forgotten_with_the_training(tmp_path):
    calls = []

    def rank():
        calls.append(1)
        return {"ours": {"mrr": 0.25, "ranks": [1, 4]}}

    key = {"limit": 100, "protocols": ["ours"]}
    first = kept_evaluation(tmp_path, "test", "en", key, rank)
    assert first == {"ours": {"mrr": 0.25, "ranks": [1, 4]}} and len(calls) == 1
    assert kept_evaluation(tmp_path, "test", "en", key, rank) == first and len(calls) == 1
    kept_evaluation(tmp_path, "test", "de", key, rank)  # another language
    kept_evaluation(tmp_path, "validation", "en", key, rank)  # another split
    kept_evaluation(tmp_path, "test", "en", {**key, "limit": 200}, rank)  # another sample
    assert len(calls) == 4
    forget_training(tmp_path)
    kept_evaluation(tmp_path, "test", "de", key, rank)
    assert len(calls) == 5


def test_evaluation_read_back_reports_the_seconds_an_earlier_start_spent(tmp_path):
    def slow_rank():
        time.sleep(0.3)
        return {"ours": {"mrr": 0.5}}

    earlier: list[float] = []
    kept_evaluation(tmp_path, "test", "en", {"limit": 10}, slow_rank, earlier)
    assert earlier == []  # computed now: this start's clock counts it
    kept_evaluation(tmp_path, "test", "en", {"limit": 10}, slow_rank, earlier)
    assert len(earlier) == 1 and 0.3 <= earlier[0] < 5
    record = with_evaluation_time({"train_seconds": 10.0}, time.time(), True, earlier)
    assert record["eval_seconds"] >= 0.3 and record["seconds"] == round(
        10.0 + record["eval_seconds"], 1
    )
    assert record["evaluated_again"] is True


def test_progress_is_used_only_for_the_same_training_with_its_checkpoint(tmp_path):
    from types import SimpleNamespace

    from prixlm.experiments.kept_runs import PROGRESS_FILE, KeepProgress, kept_progress

    identity = training_identity(["--seed", "0"], 240.0, "cpu")
    keeper = KeepProgress(tmp_path, identity, lambda: {"budget": {"spent": 12.5}})
    state = SimpleNamespace(global_step=500, is_world_process_zero=True)
    keeper.on_save(None, state, None)
    assert kept_progress(tmp_path, identity) is None  # its checkpoint is gone
    (tmp_path / "checkpoint-500").mkdir()
    (tmp_path / "checkpoint-500" / "trainer_state.json").write_text("{}", "utf-8")
    kept = kept_progress(tmp_path, identity)
    assert kept == {"identity": identity, "step": 500, "budget": {"spent": 12.5},
                    "checkpoint": str(tmp_path / "checkpoint-500")}  # fmt: skip
    assert kept_progress(tmp_path, {**identity, "time_budget_s": 100.0}) is None
    forget_training(tmp_path)  # training again from scratch: progress and checkpoints go
    assert not (tmp_path / PROGRESS_FILE).exists() and not (tmp_path / "checkpoint-500").exists()
