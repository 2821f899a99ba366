"""The build under faults: a killed build leaves no process behind, two builds into one
folder, full disks. Each case runs the real command line in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dbpedia_dumps import DBO, EN, LABEL, REPO, add_lines, write_dumps

PROC = Path("/proc")


def _grow(dumps: Path, entities: int) -> None:
    """Add `entities` labelled English entities and as many facts to the dumps."""
    add_lines(
        dumps / "labels_en.ttl", (f'<{EN}E{i}> {LABEL} "entity {i}"@en .' for i in range(entities))
    )
    with open(dumps / "mappingbased_objects_en.ttl", "a", encoding="utf-8") as facts:
        facts.writelines(
            f"<{EN}E{i}> <{DBO}p{i % 7}> <{EN}E{(i * 7) % entities}> .\n" for i in range(entities)
        )


def _marked(marker: str) -> list[tuple[int, str]]:
    """The processes (pid, command) whose environment holds `marker`: the build and
    everything it started."""
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found.append((int(entry.name), command[:120]))
        except OSError:  # ended meanwhile, or not ours
            continue
    return found


@pytest.mark.skipif(not (PROC / "self" / "environ").exists(), reason="needs Linux /proc")
def test_killed_build_leaves_no_process(tmp_path: Path) -> None:
    """SIGKILL of a build while its worker processes parse: none of them survives it (the
    workers, the forkserver and the resource tracker used to stay, blocked forever)."""
    dumps = write_dumps(tmp_path / "dumps")
    _grow(dumps, 60_000)
    marker = f"PRIXLM_FAULT_TEST_{os.getpid()}_{time.monotonic_ns()}"
    code = (
        "import sys; from prixlm.data.dbpedia import convert; convert.POOL_MIN_BYTES = 0; "
        "from prixlm.data.dbpedia.build import main; sys.exit(main(sys.argv[1:]))"
    )
    command = [sys.executable, "-c", code, "--dump_dir", str(dumps)]
    command += ["--output_dir", str(tmp_path / "out"), "--num_proc", "3", "--no_progress"]
    env = {**os.environ, marker: "1", "PYTHONPATH": str(REPO)}
    build = subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        # the build and its two workers (forked: the build runs no other thread then)
        while len(_marked(marker)) < 3:
            assert build.poll() is None, "the build ended before its workers started"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        build.kill()
        build.wait()
        deadline = time.monotonic() + 5
        while (survivors := _marked(marker)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert survivors == []
    finally:
        build.kill()
        for pid, _ in _marked(marker):
            os.kill(pid, signal.SIGKILL)


def test_a_second_build_into_the_same_folder_stops_and_the_first_one_publishes(
    tmp_path: Path, capsys
) -> None:
    """A build started while another one writes the folder stops at once, naming the other
    build's process; the first one's dataset is published whole (it used to be a mix: the
    second's card with the first's language folders, or a raw DuckDB error)."""
    from datasets import load_dataset

    from prixlm.data.dbpedia.build import main

    dumps = write_dumps(tmp_path / "dumps")
    _grow(dumps, 60_000)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "prixlm.data.dbpedia.build", "--dump_dir", str(dumps)]
    command += ["--output_dir", str(out), "--no_progress", "--num_proc", "1"]
    first = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.*.partial")):  # the first build holds the folder
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    second = ["--dump_dir", str(dumps), "--output_dir", str(out), "--languages", "de,fr"]
    assert main([*second, "--seed", "7", "--no_progress"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: --output_dir {out.resolve()}: process {first.pid} on ")
    assert "is writing it" in error and error.count("\n") == 1
    assert first.wait(timeout=120) == 0, first.stderr.read()
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "de", "en", "fr", "links"]
    assert len(load_dataset(str(out), "en", split="train")) > 60_000 / 2
    assert not list(tmp_path.glob(".out.*"))  # no staging left
    # once the first has ended, the same command runs
    assert main([*second, "--seed", "7", "--no_progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "de", "fr", "links"]


def test_a_build_into_a_folder_being_written_reads_no_dump(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """The second build stops before it reads anything (it used to scan and open the dumps
    and stop only when it came to write its staging folder)."""
    from lock_holder import lock_held

    from prixlm.data.dbpedia import build

    dumps = write_dumps(tmp_path / "dumps")
    out = tmp_path / "out"
    scanned: list[str] = []
    scan = build.DumpIndex.scan
    monkeypatch.setattr(
        build.DumpIndex, "scan", staticmethod(lambda folder: scanned.append(folder) or scan(folder))
    )
    with lock_held(out) as pid:
        argv = ["--dump_dir", str(dumps), "--output_dir", str(out), "--no_progress"]
        assert build.main(argv) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: --output_dir {out.resolve()}: process {pid} on ")
    assert scanned == []
    assert not out.exists()


@pytest.mark.parametrize(
    ("limit", "file"),
    [(100_000, "/.build/records/labels-en.parquet"), (600_000, "/en/train.parquet")],
    ids=["parsing", "writing"],
)
def test_a_full_disk_ends_in_one_line_naming_the_file(tmp_path: Path, limit, file) -> None:
    """A file-size limit (as a full disk) while the records are parsed (Arrow writes) or the
    shards are written (DuckDB writes): one line naming the file, exit 2, nothing published.
    The second used to end in a 22-line DuckDB traceback and exit 1."""
    import resource

    dumps = write_dumps(tmp_path / "dumps")
    _grow(dumps, 60_000)  # records of up to 0.4 MB, an English train shard of 0.85 MB
    out = tmp_path / "out"
    command = [sys.executable, "-m", "prixlm.data.dbpedia.build", "--dump_dir", str(dumps)]
    command += ["--output_dir", str(out), "--no_progress", "--num_proc", "1"]

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, preexec_fn=limit_file_size
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {tmp_path}/.out.") and f"partial{file}: " in line
    assert "no space left on the device (or a file-size limit reached)" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dumps"]


def test_a_full_spill_disk_is_not_called_out_of_memory(tmp_path: Path) -> None:
    """DuckDB stops spilling at its `max_temp_directory_size` (by default 90% of the spill
    disk's free space) and calls that "out of memory": the build says the disk is full and
    names --temp_dir, rather than asking for more memory. (The message is DuckDB 1.4.5's, as
    a build with --temp_dir on a 6 MB file system got it; a real run of the same is in
    docs/reliability.md.)"""
    import duckdb

    from prixlm.cli import describe_os_error
    from prixlm.data.dbpedia.engine import EngineMemoryError, EngineOptions, memory_errors

    engine = EngineOptions(memory_limit="30MB", threads=1, temp_dir=tmp_path / "spill")
    full = (
        "Out of Memory Error: failed to offload data block of size 256.0 KiB (768.0 KiB/975.5 "
        "KiB used).\nThis limit was set by the 'max_temp_directory_size' setting.\nBy default, "
        "this setting utilizes the available disk space on the drive where the 'temp_directory' "
        "is located.\nYou can adjust this setting, by using (for example) PRAGMA "
        "max_temp_directory_size='10GiB'\n\nPossible solutions:\n* Reducing the number of threads"
    )
    with pytest.raises(OSError) as raised, memory_errors(engine):
        raise duckdb.OutOfMemoryException(full)
    message = describe_os_error(raised.value)
    assert message.startswith(f"--temp_dir {tmp_path / 'spill'}: no space left on the device")
    assert "failed to offload data block" in message and "memory_limit" not in message
    # out of memory itself still names the memory arguments (a real DuckDB error)
    config = {"memory_limit": "2MB", "threads": 1, "temp_directory": str(tmp_path / "t")}
    with duckdb.connect(":memory:", config=config) as con:
        with pytest.raises(EngineMemoryError, match="raise --memory_limit"), memory_errors(engine):
            con.execute("SELECT count(DISTINCT md5(range::VARCHAR)) FROM range(2000000)").fetchall()
