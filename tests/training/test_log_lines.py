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
    err = capsys.readouterr().err
    assert FRAME.findall(err) == []
    # steps 2 and 4 (the logging steps), then the run's summary at step 4
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
