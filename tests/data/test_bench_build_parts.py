"""`bench/bench_build_parts.py`: one untimed conversion before the timed ones (the first
conversion in a process pays its cold start, which fell on the first 1-process run)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[2]


class _Table:
    def equals(self, other: object) -> bool:
        return isinstance(other, _Table)


def test_a_warm_up_conversion_comes_before_the_timed_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    import bench_build_parts

    dump = tmp_path / "mappingbased_objects_xx.ttl"
    dump.write_text("<a> <b> <c> .\n", encoding="utf-8")
    calls: list[int] = []
    stats = SimpleNamespace(lines=1)

    def fake_run(path: Path, processes: int, folder: Path) -> tuple:
        calls.append(processes)
        cold = 5.0 if len(calls) == 1 else 1.0  # the cold start: only the first call
        return cold / processes, cold, cold / processes, _Table(), stats

    monkeypatch.setattr(bench_build_parts, "dump_file", lambda *_: dump)
    monkeypatch.setattr(bench_build_parts, "run", fake_run)
    output = tmp_path / "parts.json"
    argv = ["--repeats", "2", "--work_dir", str(tmp_path), "--output", str(output)]
    assert bench_build_parts.main(argv) == 0
    assert calls == [1, 1, 2, 1, 2]  # the warm-up, then the alternated timed pairs
    result = json.loads(output.read_text())
    assert [run["processes"] for run in result["runs"]] == [1, 2, 1, 2]
    assert all(run["cpu_s"] == 1.0 for run in result["runs"])  # the cold one is not timed
    assert result["untimed_warm_up_runs"] == 1
    assert result["busiest_process_cpu_speedup"] == 2.0
