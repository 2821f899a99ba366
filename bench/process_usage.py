"""Time, CPU and memory of a command run in a subprocess, its descendants included.

Not a benchmark itself: `bench_build_scale.py` measures each build with `measured`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil  # a dependency of accelerate, hence installed with prixlm


def measured(
    command: list[str], cwd: Path, env: dict[str, str]
) -> tuple[int, float, float, float, float, str]:
    """Run `command`; (return code, wall s, CPU s, peak tree RSS bytes, max process RSS
    bytes, stderr tail).

    The tree's RSS (the process and every descendant, summed) is polled every 50 ms with
    psutil; the CPU time and the largest single process's max RSS come from `wait4` (the
    child and the descendants it waited for), so no short peak is missed there. The new
    builder's readers are children of a forkserver that the build does not wait for: this
    process is made their subreaper (Linux), so the forkserver is reparented here when the
    build exits and is waited for too, with the readers it reaped. (Before, from `wait4` of
    the build alone, the readers' CPU was missing: 2.5 of 9.7 s at 1M lines.)
    """
    _become_subreaper()
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errors:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        watched = psutil.Process(process.pid)
        peak = 0
        while True:
            done, status, usage = os.wait4(process.pid, os.WNOHANG)
            if done:
                break
            total = 0
            try:
                members = [watched, *watched.children(recursive=True)]
            except psutil.Error:
                members = []
            for member in members:
                try:
                    total += member.memory_info().rss
                except psutil.Error:
                    pass
            peak = max(peak, total)
            time.sleep(0.05)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        cpu, largest = usage.ru_utime + usage.ru_stime, usage.ru_maxrss
        for orphan in _reap_orphans():
            cpu += orphan.ru_utime + orphan.ru_stime
            largest = max(largest, orphan.ru_maxrss)
        errors.seek(0)
        # the last lines, without faulthandler's long list of extension modules
        lines = [line for line in errors.read().splitlines() if "Extension modules:" not in line]
        tail = "\n".join(lines[-30:])
    return process.returncode, wall, cpu, peak, largest * 1024, tail


def folder_bytes(folder: Path) -> int:
    """The bytes of every file under `folder` (0 if it does not exist); files removed while
    it is read are skipped."""
    total = 0
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


class FolderPeak:
    """The largest size of `folder` while the `with` block runs, sampled by a thread every
    `interval` seconds: `peak` (bytes). For the build's `--temp_dir`: its reader's record
    files and DuckDB's spill files, which come and go within a statement."""

    def __init__(self, folder: Path, interval: float = 0.1) -> None:
        self.folder, self.interval, self.peak = folder, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, folder_bytes(self.folder))
            if self._stop.wait(self.interval):
                break

    def __enter__(self) -> FolderPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _become_subreaper() -> None:
    """Orphaned descendants of this process's children become its children (Linux
    `PR_SET_CHILD_SUBREAPER`), so that `_reap_orphans` can wait for them."""
    import ctypes

    if sys.platform == "linux" and ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0):
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _reap_orphans() -> list[os.struct_rusage]:
    """Wait for every child left (orphans reparented here); their resource usage."""
    usages = []
    while True:
        try:
            _, _, usage = os.wait4(-1, 0)
        except ChildProcessError:
            return usages
        usages.append(usage)
