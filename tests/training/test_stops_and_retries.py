"""A run that stops before its last step writes no release, and resuming it gives the
uninterrupted run's loss; our own early stops (time budget, flat curve) end a finished
run; a checkpoint without its training state, a new run over a release, a retried
`--push_to_hub` and the checkpoint options that cannot work are each answered."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from test_train_runs import _args, _run, _weights
from transformers import TrainerCallback

from prixlm.cli import UsageError
from prixlm.training import pretrain as pretrain_module
from prixlm.training.arguments import PrixLMTrainingArguments, parse_training_arguments
from prixlm.training.checkpoint_files import finished_run
from prixlm.training.pretrain import pretrain
from prixlm.training.resume import check_same_run, run_record, write_run_record

STEPS = ["--max_steps", "12", "--save_steps", "4"]
RESUME = ["--resume_from_checkpoint", "true"]
LOGS = {"logging_steps": "5"}  # no log falls on a checkpoint (4, 8) nor the last step (12)


class StopAt(TrainerCallback):
    """Ends training at `step` as a signal (`--enable_jit_checkpoint`) or a callback would."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True
        return control


def _train(dataset: Path, output: Path, *extra: str, callbacks=(), **overrides: str) -> Path:
    argv = _args(dataset, output, *STEPS, *extra, **{**LOGS, **overrides})
    return pretrain(parse_training_arguments(argv), callbacks)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.is_file()}  # fmt: skip


def _results(run: Path) -> dict:
    return json.loads((run / "model" / "train_results.json").read_text())


@pytest.fixture(scope="module")
def stopped(tiny_dataset_dir, tmp_path_factory) -> tuple[Path, str]:
    """A run of 12 steps stopped at step 6 (its last checkpoint: 4), and the error it ended in."""
    output = tmp_path_factory.mktemp("runs") / "stopped"
    with pytest.raises(UsageError) as raised:
        _train(tiny_dataset_dir, output, callbacks=[StopAt(6)])
    return output, str(raised.value)


@pytest.fixture(scope="module")
def resumed(tiny_dataset_dir, stopped, tmp_path_factory) -> Path:
    """`stopped` resumed to its end (a copy)."""
    output = tmp_path_factory.mktemp("runs") / "resumed"
    shutil.copytree(stopped[0], output)
    _train(tiny_dataset_dir, output, *RESUME)
    return output


def test_a_run_stopped_before_its_last_step_writes_no_release(stopped) -> None:
    """It wrote the half-trained model as the finished release and exited 0."""
    run, message = stopped
    assert message == (
        f"--output_dir {run}: training stopped at step 6 of 12 (a signal or a callback ended "
        "it), no release folder written; resume with --resume_from_checkpoint true"
    )
    assert not (run / "model").exists() and not (run / ".model.partial").exists()
    assert sorted(p.name for p in run.glob("checkpoint-*")) == ["checkpoint-4"]


def test_a_stopped_and_resumed_run_reports_the_uninterrupted_loss(
    tiny_dataset_dir, resumed, tmp_path
) -> None:
    """Losses logged every 5 steps, checkpoints every 4: the resumed run's train_loss was
    computed from logs that missed steps 1-4 and 11-12."""
    uninterrupted = tmp_path / "uninterrupted"
    _train(tiny_dataset_dir, uninterrupted)
    expected, got = _results(uninterrupted), _results(resumed)
    assert got["resumed_from_step"] == 4 and "resumed_from_step" not in expected
    assert got["train_loss"] == pytest.approx(expected["train_loss"], rel=1e-5)
    logged = json.loads((resumed / "checkpoint-12" / "trainer_state.json").read_text())
    steps = [e["step"] for e in logged["log_history"] if "loss" in e]
    assert steps == [4, 5, 8, 10, 12]  # every checkpoint's step and the last one's


def test_a_sigterm_with_jit_checkpoint_ends_in_one_error_line(tiny_dataset_dir, tmp_path) -> None:
    """The reviewer's case: SIGTERM at step 3 with --enable_jit_checkpoint; the Trainer
    checkpoints a few steps later and stops. Exit 2, no release, the checkpoint kept."""
    script = (
        "import os, signal, sys, time\n"
        "from transformers import TrainerCallback\n"
        "from prixlm.cli import user_errors\n"
        "from prixlm.training.arguments import parse_training_arguments\n"
        "from prixlm.training.pretrain import pretrain\n"
        "class TermAt(TrainerCallback):\n"
        "    def on_step_end(self, args, state, control, **kwargs):\n"
        "        time.sleep(0.2)\n"
        "        if state.global_step == 3:\n"
        "            os.kill(os.getpid(), signal.SIGTERM)\n"
        "with user_errors():\n"
        "    pretrain(parse_training_arguments(sys.argv[1:]), [TermAt()])\n"
    )
    run = tmp_path / "jit"
    argv = _args(tiny_dataset_dir, run, "--max_steps", "100", "--save_steps", "50",
                 "--enable_jit_checkpoint", "true")  # fmt: skip
    result = _run([sys.executable, "-c", script, *argv])
    assert result.returncode == 2, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    found = re.fullmatch(
        rf"error: --output_dir {re.escape(str(run))}: training stopped at step (\d+) of 100 "
        r"\(a signal or a callback ended it\), no release folder written; resume with "
        r"--resume_from_checkpoint true",
        last,
    )
    assert found and 3 < int(found.group(1)) < 100, last
    assert not (run / "model").exists()
    assert [p.name for p in run.glob("checkpoint-*")]  # what the resume goes on from


def test_time_budget_and_anneal_end_a_finished_run(tiny_dataset_dir, tmp_path) -> None:
    """The flat curve's anneal aimed at step 24, the budget stopped at 20: no checkpoint at
    20, and (with the check above) no release. The budget's stop is now the run's end."""
    from prixlm.experiments.curve import FlatRule, ValidationCurve
    from prixlm.experiments.time_budget import TimeBudget

    clock = [0.0]

    class Tick(TrainerCallback):  # one second a step
        def on_step_end(self, args, state, control, **kwargs):
            clock[0] += 1.0

    guard = TimeBudget(20.0, calibrate_at=12, warmup_steps=2)  # 1 step/s: step 20
    guard.clock = lambda: clock[0]
    guard.started = guard.marked = 0.0
    curve = ValidationCurve(
        lambda model, tokenizer: {"mean": 1.0}, every=4, rule=FlatRule(2, 0.0), anneal_share=1.0
    )  # flat at 12: to 24
    run = tmp_path / "budget"
    argv = _args(tiny_dataset_dir, run, "--max_steps", "40", "--save_steps", "4")
    pretrain(parse_training_arguments(argv), [Tick(), guard, curve])
    assert (curve.flat_at, curve.anneal["to_step"], guard.stopped_at) == (12, 24, 20)
    assert [p["step"] for p in curve.points] == [4, 8, 12, 16, 20]
    assert finished_run(run / "checkpoint-20") == 20
    assert sorted(p.name for p in run.glob("checkpoint-*"))[-1] == "checkpoint-20"
    assert (run / "model" / "model.safetensors").is_file()


def test_resuming_needs_the_optimizer_schedule_and_random_state(
    tiny_dataset_dir, stopped, tmp_path
) -> None:
    """A checkpoint without them (deleted, or --save_only_model) restarted Adam and the
    warm-up silently."""
    run = tmp_path / "run"
    shutil.copytree(stopped[0], run)
    checkpoint = run / "checkpoint-4"
    (checkpoint / "optimizer.pt").unlink()
    args = _args(tiny_dataset_dir, run, *STEPS, *RESUME)
    with pytest.raises(UsageError) as raised:
        pretrain(parse_training_arguments(args))
    assert str(raised.value) == (
        f"--resume_from_checkpoint {checkpoint}: {checkpoint}: optimizer.pt missing (the "
        "optimizer's, the schedule's and the random state: without them Adam and the warm-up "
        "would start again); no earlier complete checkpoint: start again in a new --output_dir"
    )
    (checkpoint / "scheduler.pt").unlink()
    (checkpoint / "rng_state.pth").unlink()
    with pytest.raises(UsageError, match=r": optimizer\.pt, scheduler\.pt, rng_state\.pth missing"):
        pretrain(parse_training_arguments(args))
    assert not (run / "model").exists()


def test_a_finished_run_without_training_state_still_writes_its_release(
    tiny_dataset_dir, resumed, tmp_path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(resumed, run)
    shutil.rmtree(run / "model")
    (run / "checkpoint-12" / "optimizer.pt").unlink()
    _train(tiny_dataset_dir, run, *RESUME)
    assert _digests(run / "model")["model.safetensors"] == _digests(resumed / "model")[
        "model.safetensors"]  # fmt: skip


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--save_only_model", "true"], "--save_only_model true: not supported (checkpoints "
         "without the optimizer's, the schedule's and the random state cannot be resumed; "
         "the release folder already holds the model alone)"),
        (["--save_strategy", "best"], "--save_strategy best: not supported (it saves after an "
         "evaluation that improves, and training runs none); use steps or epoch"),
    ],
)  # fmt: skip
def test_checkpoint_options_that_cannot_work_are_refused(option, message, capsys) -> None:
    """--save_only_model made every checkpoint unresumable; --save_strategy best, offered in
    the help, never saved (there is no evaluation)."""
    with pytest.raises(SystemExit) as raised:
        parse_training_arguments(["--dataset", "x", *option])
    assert raised.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(f"error: {message}")
    help_text = PrixLMTrainingArguments.__dataclass_fields__["save_strategy"].metadata["help"]
    assert help_text == "when to save checkpoints: no | steps | epoch"


def test_a_retried_push_publishes_the_finished_release(
    tiny_dataset_dir, resumed, tmp_path, monkeypatch, capsys, hub_online
) -> None:
    """The upload failed at the end of the run; resuming it to retry exited 0 and uploaded
    nothing."""
    run = tmp_path / "run"
    shutil.copytree(resumed, run)
    before = _digests(run / "model")
    calls = []

    def publish_folder(folder, repo_id, **options):
        calls.append((Path(folder), repo_id, options))
        return "https://huggingface.co/me/tiny/commit/1"

    monkeypatch.setattr(pretrain_module, "publish_folder", publish_folder)
    _train(tiny_dataset_dir, run, *RESUME, "--push_to_hub", "true", "--hub_model_id", "me/tiny",
           "--hub_private_repo", "true")  # fmt: skip
    assert [(folder, repo_id) for folder, repo_id, _ in calls] == [(run / "model", "me/tiny")]
    assert calls[0][2]["private"] is True
    assert "published: https://huggingface.co/me/tiny/commit/1" in capsys.readouterr().out
    assert _digests(run / "model") == before


def test_a_new_run_does_not_replace_an_earlier_release(tiny_dataset_dir, resumed, tmp_path):
    """Checkpoints gone (rotated away, removed), the release left: a new run replaced it."""
    run = tmp_path / "run"
    shutil.copytree(resumed, run)
    for checkpoint in run.glob("checkpoint-*"):
        shutil.rmtree(checkpoint)
    before = _digests(run / "model")
    expected = (
        f"--output_dir {run} holds an earlier run's release ({run / 'model'}) and no checkpoint "
        f"to resume: start this run in another --output_dir, or remove {run / 'model'}"
    )
    for extra in ([], RESUME):  # "true" with no checkpoint: a new run too
        with pytest.raises(UsageError) as raised:
            _train(tiny_dataset_dir, run, *extra, seed="8")
        assert str(raised.value) == expected
    assert _digests(run / "model") == before
    shutil.move(run / "model" / "train_results.json", run / "train_results.json")
    shutil.rmtree(run / "model")
    with pytest.raises(UsageError, match=re.escape(f"release ({run / 'train_results.json'})")):
        _train(tiny_dataset_dir, run, seed="8")


def test_a_hub_dataset_id_is_compared_on_resume(tmp_path) -> None:
    """A Hub id is no folder here: every id had the same (empty) fingerprint."""
    from prixlm.training.arguments import DataArguments, ModelArguments

    def run(dataset: str) -> SimpleNamespace:
        return SimpleNamespace(model=ModelArguments(), data=DataArguments(dataset=dataset),
                               training=SimpleNamespace(seed=7))  # fmt: skip

    checkpoint = tmp_path / "checkpoint-4"
    checkpoint.mkdir()
    write_run_record(checkpoint, run_record(run("me/kb-a"), tokenizer=None))
    check_same_run(checkpoint, run_record(run("me/kb-a"), tokenizer=None))  # the same: resumes
    with pytest.raises(UsageError, match=r"in --dataset me/kb-b \(the checkpoint's: me/kb-a\);"):
        check_same_run(checkpoint, run_record(run("me/kb-b"), tokenizer=None))
    old = run_record(run("me/kb-a"), tokenizer=None)  # written before ids were compared
    old["data"] = hashlib.sha256().hexdigest()
    write_run_record(checkpoint, old)
    check_same_run(checkpoint, run_record(run("me/kb-a"), tokenizer=None))
    with pytest.raises(UsageError, match=r"in --dataset me/kb-b \(the checkpoint's: me/kb-a\);"):
        check_same_run(checkpoint, run_record(run("me/kb-b"), tokenizer=None))


def test_a_checkpoint_of_another_process_count_keeps_its_random_state(tmp_path):
    """Resuming a 2-process checkpoint on 1 process was refused as if it had no random
    state (the Trainer resumes it, with a warning)."""
    from prixlm.training.checkpoint_files import missing_training_state

    for name in ("optimizer.pt", "scheduler.pt", "rng_state_0.pth", "rng_state_1.pth"):
        (tmp_path / name).write_bytes(b"x")
    assert missing_training_state(tmp_path, world_size=1) == []
    (tmp_path / "rng_state_0.pth").unlink()
    (tmp_path / "rng_state_1.pth").unlink()
    assert missing_training_state(tmp_path, world_size=2) == ["rng_state_<rank>.pth"]


TERM_IN_FORWARD = """
import os, signal, sys, time
from transformers import TrainerCallback
from prixlm.cli import user_errors
from prixlm.training.arguments import parse_training_arguments
from prixlm.training.pretrain import pretrain

STEP = int(sys.argv.pop(1))  # the SIGTERM's checkpoint request (3 s later) comes during
# the forward of the step after STEP

class TermInForward(TrainerCallback):
    def on_train_begin(self, args, state, control, model=None, **kwargs):
        def hook(module, inputs, output):
            if module.training and state.global_step == STEP and not self.__dict__.get("sent"):
                self.sent = True
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(3.5)
        model.register_forward_hook(hook)

with user_errors():
    pretrain(parse_training_arguments(sys.argv[1:]), [TermInForward()])
"""


JIT = [*STEPS, "--enable_jit_checkpoint", "true"]


@pytest.fixture(scope="module")
def uninterrupted_jit(tiny_dataset_dir, tmp_path_factory) -> Path:
    """The uninterrupted run both SIGTERM cases are compared with, trained once in this
    process (one torch thread, as the runs in subprocesses with OMP_NUM_THREADS=1); the
    signal handlers the JIT checkpoint installs are put back."""
    output = tmp_path_factory.mktemp("runs") / "uninterrupted_jit"
    handlers = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        pretrain(parse_training_arguments(_args(tiny_dataset_dir, output, *JIT)))
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    return output


@pytest.mark.parametrize("step", [6, 8])
def test_a_sigterm_during_a_step_resumes_as_the_uninterrupted_run(
    tiny_dataset_dir, uninterrupted_jit, tmp_path, step
):
    """The Trainer checkpointed the request before the optimizer's step: checkpoint-5 with
    the random state after step 6's dropout, and the resumed run trained other weights.
    Step 8 is a save step too: one checkpoint, saved once, after the step's loss is logged."""
    run = tmp_path / "b"
    term = [sys.executable, "-c", TERM_IN_FORWARD, str(step - 1)]
    stopped = _run([*term, *_args(tiny_dataset_dir, run, *JIT)])
    assert stopped.returncode == 2, stopped.stderr[-3000:]
    assert sorted(p.name for p in run.glob("checkpoint-*")) == [
        "checkpoint-4",
        f"checkpoint-{step}",
    ]
    assert not list(run.glob(".*partial")) and not list(run.glob("*/checkpoint-is-incomplete*"))
    state = json.loads((run / f"checkpoint-{step}" / "trainer_state.json").read_text())
    assert [e["step"] for e in state["log_history"] if "loss" in e][-1] == step
    resumed = _run([sys.executable, "train.py", *_args(tiny_dataset_dir, run, *JIT, *RESUME)])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming from {run / f'checkpoint-{step}'}" in resumed.stderr
    expected, got = _weights(uninterrupted_jit), _weights(run)
    assert expected.keys() == got.keys()
    assert [name for name in expected if not torch.equal(expected[name], got[name])] == []
    losses = [
        [(e["step"], e["loss"]) for e in json.loads((folder / "checkpoint-12" / "trainer_state.json")
                                                   .read_text())["log_history"] if "loss" in e]
        for folder in (uninterrupted_jit, run)
    ]  # fmt: skip
    assert len(losses[0]) == 12 and losses[1] == losses[0]


def test_a_second_sigterm_saves_no_second_checkpoint():
    """Each SIGTERM starts its own 3 s timer (transformers' handler): a second one set the
    request again after the first checkpoint, and the epoch's end saved the step again."""
    from transformers import TrainerControl

    from prixlm.training.trainer import _JITBetweenUpdates

    saves = []
    trainer = SimpleNamespace(model=None, _globalstep_last_logged=6,
                              _save_checkpoint=lambda model, trial: saves.append(state.global_step))  # fmt: skip
    manager = SimpleNamespace(is_checkpoint_requested=True)
    callback = _JITBetweenUpdates.replacing(SimpleNamespace(trainer=trainer, jit_manager=manager))
    state, control = SimpleNamespace(global_step=6), TrainerControl()
    callback.on_step_end(None, state, control)
    assert control.should_log and control.should_training_stop and saves == []
    callback.on_log(None, state, control)
    assert saves == [6]
    manager.is_checkpoint_requested = True  # the second SIGTERM's timer
    callback.on_epoch_end(None, state, TrainerControl())
    callback.on_step_end(None, state, TrainerControl())
    assert saves == [6] and not manager.is_checkpoint_requested
