"""`train.py` under a stderr that is not a terminal (`nohup ... > run.log`, CI, Slurm): one
stamped line per log with the step, not a progress bar frame per step; a terminal keeps the bar.
"""

from __future__ import annotations

import io
import re
import sys
from types import SimpleNamespace

FRAME = re.compile(r"\d+/4 \[")  # the Trainer's bar: "50%|█████     | 2/4 [00:01<00:01, ...]"
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d step (\d+)/4 \(\d+\.\d%\)", re.MULTILINE)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _train(root, output, *extra: str):
    from demo_output import TINY_TRAINING

    import train

    argv = {"--dataset": str(root / "dataset"), **TINY_TRAINING, "--max_steps": "4"}
    args = [item for pair in argv.items() for item in pair]
    return train.main([*args, "--output_dir", str(output), "--logging_steps", "2", *extra])


def test_log_file_gets_stamped_lines_not_bar_frames(tiny_demo_output, tmp_path, capsys):
    release = _train(tiny_demo_output, tmp_path / "run", "--disable_tqdm", "false")
    assert (release / "model.safetensors").is_file()
    captured = capsys.readouterr()
    assert FRAME.findall(captured.err) == [] and LINE.findall(captured.err) == []
    # on stdout, where the Trainer printed its logs (`> run.log 2> err.log`): steps 2 and 4
    # (the logging steps), then the run's summary at step 4
    err = captured.out
    assert [int(step) for step in LINE.findall(err)] == [2, 4, 4]
    assert re.search(r"step 2/4 \(50\.0%\), \d+:\d\d:\d\d elapsed, ~\d+:\d\d:\d\d left: loss=", err)
    assert "train_loss=" in err and "\r" not in "".join(LINE.findall(err))


def test_terminal_keeps_the_bar(tiny_demo_output, tmp_path, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    _train(tiny_demo_output, tmp_path / "run", "--disable_tqdm", "false")
    shown = terminal.getvalue()
    assert "4/4 [" in shown
    assert LINE.findall(shown) == []


def test_disable_tqdm_prints_no_lines(tiny_demo_output, tmp_path, capsys):
    _train(tiny_demo_output, tmp_path / "run")  # TINY_TRAINING: --disable_tqdm true
    captured = capsys.readouterr()
    assert LINE.findall(captured.err) == [] and FRAME.findall(captured.err) == []


def test_time_left_is_this_starts_pace():
    from prixlm.training.log_lines import LogLines

    now = [100.0]
    stream = io.StringIO()
    lines = LogLines(stream, clock=lambda: now[0])
    state = SimpleNamespace(global_step=500, max_steps=1000, is_world_process_zero=True)
    lines.on_train_begin(None, state, None)  # a start resumed at step 500
    now[0], state.global_step = 150.0, 750
    lines.on_log(None, state, None, logs={"loss": 1.23456, "total_flos": 9.0})
    (line,) = stream.getvalue().splitlines()
    assert line.endswith(" step 750/1000 (75.0%), 0:00:50 elapsed, ~0:00:50 left: loss=1.235")
    state.is_world_process_zero = False  # the other processes of a data-parallel run
    lines.on_log(None, state, None, logs={"loss": 1.0})
    assert len(stream.getvalue().splitlines()) == 1


def test_a_log_before_the_training_begins_starts_the_clock():
    """The validation curve's step-0 point is logged as the training begins, before this
    callback's `on_train_begin`: its line said the machine's uptime as the elapsed time."""
    from prixlm.training.log_lines import LogLines

    now = [65_000.0]  # the monotonic clock: seconds since the machine started
    stream = io.StringIO()
    lines = LogLines(stream, clock=lambda: now[0])
    state = SimpleNamespace(global_step=0, max_steps=1000, is_world_process_zero=True)
    lines.on_log(None, state, None, logs={"lp_mrr": 0.01})
    now[0] += 4.0
    lines.on_train_begin(None, state, None)
    now[0], state.global_step = 65_104.0, 500
    lines.on_log(None, state, None, logs={"loss": 2.0})
    first, second = stream.getvalue().splitlines()
    assert first.endswith(" step 0/1000 (0.0%), 0:00:00 elapsed: lp_mrr=0.01")
    assert second.endswith(" step 500/1000 (50.0%), 0:01:44 elapsed, ~0:01:44 left: loss=2")


def test_a_second_training_on_the_same_callback_starts_its_own_clock():
    """`trainer.train()` again (or one `LogLines` given to two Trainers): the second
    training's lines counted from the first's start, its time left from the first's pace."""
    from prixlm.training.log_lines import LogLines

    now = [1000.0]
    stream = io.StringIO()
    lines = LogLines(stream, clock=lambda: now[0])
    for ended in (True, False, True):  # the second ends in an error: no `on_train_end`
        state = SimpleNamespace(global_step=0, max_steps=100, is_world_process_zero=True)
        lines.on_train_begin(None, state, None)
        now[0], state.global_step = now[0] + 50.0, 50
        lines.on_log(None, state, None, logs={"loss": 1.0})
        if ended:
            now[0] += 10.0
            lines.on_train_end(None, state, None)  # the curve's last point: logged after it
            lines.on_log(None, state, None, logs={"lp_mrr": 0.5})
        now[0] += 3600.0
    logged = [line.split(" step ")[1] for line in stream.getvalue().splitlines()]
    during = "50/100 (50.0%), 0:00:50 elapsed, ~0:00:50 left: loss=1"
    assert [line for line in logged if "loss" in line] == [during] * 3
    after_end = [line for line in logged if "lp_mrr" in line]  # the first and third's
    assert after_end == ["50/100 (50.0%), 0:01:00 elapsed, ~0:01:00 left: lp_mrr=0.5"] * 2


NAMED = re.compile(r"^\[single-en\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d step (\d+)/4 ", re.MULTILINE)


def test_a_job_s_training_logs_named_lines_and_one_line_of_results(
    tiny_demo_output, tmp_path, capsys
):
    """The runners' profiles train with `--disable_tqdm true`: a job's log was bare dicts
    (`{'loss': ..., 'epoch': ...}`) without step, time or job, and its whole
    train_results.json (~70 lines) in the runner's log; several workers share that log."""
    from prixlm.training.log_lines import named_job

    with named_job("single-en"):
        release = _train(tiny_demo_output, tmp_path / "run")  # TINY_TRAINING: --disable_tqdm true
    captured = capsys.readouterr()
    assert [int(step) for step in NAMED.findall(captured.out)] == [2, 4, 4]
    assert "{'loss'" not in captured.out + captured.err
    results = release / "train_results.json"
    assert "[single-en] trained 4 steps, train_loss " in captured.out
    assert captured.out.count(f"; results: {results}\n") == 1
    assert '"train_facts"' not in captured.out  # the record stays in its file
    assert "train_facts" in results.read_text("utf-8")


def test_a_signal_says_the_step_the_checkpoint_and_the_resume_command(
    tiny_demo_output, tmp_path, capsys, monkeypatch
):
    """A SIGTERM of train.py said `terminated` only: now the step reached, the last
    checkpoint kept, and the command that goes on from it, which finishes the run."""
    import os
    import signal

    import pytest

    from prixlm.training.trainer import PrixLMTrainer

    step = PrixLMTrainer.training_step

    def killed_at_step_3(self, *args, **kwargs):
        if self.state.global_step == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return step(self, *args, **kwargs)

    monkeypatch.setattr(PrixLMTrainer, "training_step", killed_at_step_3)
    output = tmp_path / "run"
    with pytest.raises(SystemExit) as ended:
        _train(tiny_demo_output, output, "--save_steps", "2")
    assert ended.value.code == 143
    *_, note, last = capsys.readouterr().err.splitlines()
    assert last == "terminated"
    head = f"stopped at step 3 of 4; last checkpoint kept: {output / 'checkpoint-2'}; "
    assert note.startswith(head + "to go on from it: python train.py "), note
    assert note.endswith(" --resume_from_checkpoint true")
    monkeypatch.setattr(PrixLMTrainer, "training_step", step)
    import shlex

    import train

    release = train.main(shlex.split(note.split("to go on from it: ")[1])[2:])
    assert (release / "model.safetensors").is_file()
    assert "resuming from " + str(output / "checkpoint-2") in capsys.readouterr().err


def test_a_data_parallel_run_s_note_names_its_processes(tmp_path):
    """A signal that stops a run of 2 processes (`torchrun`, `accelerate launch`) said
    `python train.py ... --resume_from_checkpoint true`: one process, another global batch,
    refused by the checkpoint's check. The note names the processes to launch again."""
    from types import SimpleNamespace

    import pytest

    from prixlm import signals
    from prixlm.training.progress import stop_said

    (tmp_path / "checkpoint-2").mkdir()
    trainer = SimpleNamespace(state=SimpleNamespace(global_step=3, max_steps=4))
    args = SimpleNamespace(world_size=2, process_index=0, output_dir=str(tmp_path))
    with pytest.raises(KeyboardInterrupt), stop_said(trainer, args, ["--max_steps", "4"]):
        raise KeyboardInterrupt
    note = signals._NOTES.pop()
    assert note.endswith(
        "to go on from it: 2 processes of train.py --max_steps 4 --resume_from_checkpoint true, "
        "launched as before (torchrun, accelerate launch)"
    )
    assert "python train.py" not in note
