"""`bench/bench_build_cores.py` runs end to end on tiny dumps (the lead runs it on a large
machine): builds at each thread count, identical files, the JSON it promises, and the
extrapolation from its per-stage profiles."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench" / "bench_build_cores.py"


def test_bench_build_cores_runs_and_writes_its_json(tmp_path: Path) -> None:
    output = tmp_path / "cores.json"
    argv = ["--entities", "1500", "--threads", "1,2", "--work_dir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, str(BENCH), *argv, "--output", str(output)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1].startswith("speed-up 1 -> 2 threads: ")
    result = json.loads(output.read_text())
    assert result["lines"] > 5_000 and result["identical_files"] is True
    assert list(result["runs"]) == ["1", "2"]
    for run in result["runs"].values():
        assert set(run) >= {"wall_s", "cpu_s", "peak_rss_mib", "peak_temp_mib", "lines_per_s"}
        assert run["peak_temp_mib"] >= 0
        assert run["wall_s"] > 0 and run["cpu_s"] > 0 and run["peak_rss_mib"] > 50
        assert run["lines_per_s"] == pytest.approx(result["lines"] / run["wall_s"], rel=0.01)
    stages = result["profiles"]["2"]
    assert "read: dumps -> record files" in stages and "output.write_shards: copy" in stages
    done = subprocess.run(
        [sys.executable, str(BENCH), "--extrapolate", str(output), "--records", "2e8"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "200M lines on 16 cores",
        "200M lines on 64 cores",
    ]
    assert all(float(line.split()[-2]) > 0 for line in lines)


def test_the_json_goes_to_the_work_dir_unless_output_names_a_file(tmp_path: Path) -> None:
    """A run without `--output` (as `make bench` ran it) must not replace the committed
    16-core figures in results/."""
    sys.path.insert(0, str(REPO / "bench"))
    from bench_build_cores import output_path

    assert output_path(None, tmp_path) == tmp_path / "bench_build_cores.json"
    assert output_path(tmp_path / "x.json", tmp_path) == tmp_path / "x.json"
    source = BENCH.read_text(encoding="utf-8")
    assert '"results" / "bench_build_cores.json"' not in source


def test_the_runs_order_and_the_budgets_prediction() -> None:
    sys.path.insert(0, str(REPO / "bench"))
    from bench_build_cores import predicted_wall, run_order

    assert run_order([1, 2, 4, 8, 16]) == [1, 16, 8, 4, 2]
    assert run_order([1, 2]) == [1, 2] and run_order([4]) == [4]
    assert predicted_wall({}, 8) is None
    assert predicted_wall({"1": {"wall_s": 90.0}}, 16) == 90.0
    runs = {"1": {"wall_s": 100.0}, "16": {"wall_s": 25.0}}  # 20 s serial, 80 s parallel
    assert predicted_wall(runs, 8) == pytest.approx(30.0)
    assert predicted_wall(runs, 2) == pytest.approx(60.0)


def test_folder_peak_sees_files_that_come_and_go(tmp_path: Path) -> None:
    """The sampler keeps the largest size the folder had, though its files are gone at the
    end (as DuckDB's spill files are after each statement)."""
    import time

    sys.path.insert(0, str(REPO / "bench"))
    from process_usage import FolderPeak, folder_bytes

    folder = tmp_path / "spill"
    with FolderPeak(folder, interval=0.01) as temp:
        time.sleep(0.05)  # the folder does not exist yet: 0 bytes
        (folder / "sub").mkdir(parents=True)
        (folder / "a.tmp").write_bytes(b"x" * 300_000)
        (folder / "sub" / "b.tmp").write_bytes(b"y" * 200_000)
        time.sleep(0.5)
        (folder / "a.tmp").unlink()
        (folder / "sub" / "b.tmp").write_bytes(b"y" * 100_000)
        time.sleep(0.05)
    assert temp.peak == 500_000
    assert folder_bytes(folder) == 100_000
    assert folder_bytes(tmp_path / "missing") == 0
