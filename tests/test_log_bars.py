"""The project's progress bars written to a log file (not a terminal) redraw at most every
`LOG_REFRESH_S` seconds, not every 0.1 s; a terminal keeps tqdm's redraws. Counted with a
clock that moves 1 s per reading (no real time), through `evaluate_lp` and the dataset build.
"""

from __future__ import annotations

import io
import itertools
import re

import pytest
import tqdm.std

from prixlm.library_bars import LOG_REFRESH_S, progress_bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def slow_clock(monkeypatch):
    """tqdm's clock: one second later at every reading (each update is past 0.1 s)."""
    ticks = itertools.count()
    monkeypatch.setattr(tqdm.std, "time", lambda: float(next(ticks)))


def _frames(text: str, pattern: str) -> int:
    return len(re.findall(pattern, text))


def test_a_file_gets_a_frame_per_refresh_a_terminal_one_per_update(slow_clock):
    log, terminal = io.StringIO(), _Terminal()
    for stream in (log, terminal):
        with progress_bar(total=300, desc="work", file=stream) as bar:
            for _ in range(300):
                bar.update(1)
    assert _frames(terminal.getvalue(), r"work:") >= 300  # as tqdm draws it
    # the first frame, one per LOG_REFRESH_S s (an update reads the clock two or three
    # times: ~30 s are ~10 updates), and the last
    assert _frames(log.getvalue(), r"work:") <= 3 * 300 / LOG_REFRESH_S
    assert "300/300" in log.getvalue().rsplit("\r", 1)[-1]  # the last frame is the end


def test_disabled_bar_draws_nothing(slow_clock):
    log = io.StringIO()
    for _ in progress_bar(range(50), desc="work", file=log, disable=True):
        pass
    assert log.getvalue() == ""


def test_evaluate_lp_log_has_few_bar_frames(tiny_demo_output, tmp_path, capsys, slow_clock):
    from prixlm.link_prediction.evaluate_lp import main

    argv = [
        "--model", str(tiny_demo_output / "run" / "model"),
        "--dataset", str(tiny_demo_output / "dataset"), "--languages", "en",
        "--limit", "40", "--num_beams", "2", "--batch_size", "1",
        "--output", str(tmp_path / "lp.json"),
    ]  # fmt: skip
    report = main(argv)
    err = capsys.readouterr().err
    frames = _frames(err, r"link prediction \(beam\):")
    assert report["results"]["en"]["num_queries"] == 40
    assert 2 <= frames <= 3 * 40 / LOG_REFRESH_S + 2  # not one per query (41 without)
