"""prixlm.outputs.atomic: nothing incomplete ever carries the final name."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from prixlm.cli import UsageError
from prixlm.outputs.atomic import (
    OutputLockedError,
    atomic_file,
    atomic_folder,
    partial_path,
    recover_interrupted,
    writer_lock,
)


def _write(folder, files):
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _read(folder):
    return {
        str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_folder_appears_complete_and_replaces_the_old_one(tmp_path):
    final = tmp_path / "out"
    with atomic_folder(final) as staging:
        assert staging == partial_path(final) and not final.exists()
        _write(staging, {"a.txt": "1", "sub/b.txt": "2"})
    assert _read(final) == {"a.txt": "1", "sub/b.txt": "2"}
    with atomic_folder(final) as staging:
        _write(staging, {"c.txt": "3"})
    assert _read(final) == {"c.txt": "3"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_error_leaves_the_old_folder_and_no_partial(tmp_path):
    final = tmp_path / "out"
    _write(final, {"keep.txt": "old"})
    with pytest.raises(RuntimeError), atomic_folder(final) as staging:
        _write(staging, {"half.txt": "x"})
        raise RuntimeError("crash")
    assert _read(final) == {"keep.txt": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_killed_writer_leaves_nothing_that_looks_complete(tmp_path):
    final = tmp_path / "out"
    _write(final, {"keep.txt": "old"})
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from prixlm.outputs.atomic import atomic_folder
        with atomic_folder(Path({str(final)!r})) as staging:
            (staging / "half.txt").write_text("x")
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], check=False)
    assert result.returncode == -9
    assert _read(final) == {"keep.txt": "old"}
    assert len(list(tmp_path.glob(".out.*.partial"))) == 1  # the killed writer's, hidden
    with atomic_folder(final) as staging:  # the next writer cleans it up
        _write(staging, {"new.txt": "new"})
    assert _read(final) == {"new.txt": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_killed_between_the_renames_the_old_folder_comes_back(tmp_path):
    final = tmp_path / "out"
    _write(tmp_path / ".out.old", {"keep.txt": "old"})  # as left between the two renames
    _write(partial_path(final), {"new.txt": "complete but never renamed"})
    with pytest.raises(RuntimeError), atomic_folder(final):
        raise RuntimeError("fail before publishing")
    assert _read(final) == {"keep.txt": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_carry_over_keeps_foreign_entries_and_drops_stale_own_ones(tmp_path):
    final = tmp_path / "out"
    _write(final, {".git/HEAD": "ref", "notes.txt": "mine", "old.parquet": "stale"})
    with atomic_folder(final, carry_over=lambda e: not e.name.endswith(".parquet")) as staging:
        _write(staging, {"new.parquet": "fresh", "notes.txt": "build wins"})
    assert _read(final) == {".git/HEAD": "ref", "new.parquet": "fresh", "notes.txt": "build wins"}


def test_atomic_file_and_a_file_in_the_way(tmp_path):
    final = tmp_path / "x.json"
    with atomic_file(final) as staging:
        staging.write_text("{}")
    assert final.read_text() == "{}"
    with pytest.raises(OSError), atomic_file(final) as staging:
        staging.write_text("half")
        raise OSError("disk full")
    assert final.read_text() == "{}" and not partial_path(final).exists()
    with pytest.raises(NotADirectoryError, match=r"--output_dir .*x\.json is a file"):
        with atomic_folder(final / "sub" / "out", argument="--output_dir"):
            pass


def test_one_writer_per_output_and_no_live_staging_removed(tmp_path):
    """A second process cannot write a folder another one writes (the error names the
    first); recovery removes a dead writer's staging, never a live one's."""
    final = tmp_path / "out"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from prixlm.outputs.atomic import atomic_folder
                with atomic_folder({str(final)!r}) as staging:
                    (staging / "a.txt").write_text("live")
                    print(staging, flush=True)
                    sys.stdin.readline()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    live = Path(holder.stdout.readline().strip())
    assert live.name == f".out.{socket.gethostname()}-{holder.pid}.partial"
    # another $TMPDIR (batch schedulers set one per job): still the same lock
    other_tmp = tmp_path / "job-tmp"
    other_tmp.mkdir()
    second = subprocess.run(
        [sys.executable, "-c", f"from prixlm.outputs.atomic import atomic_folder\n"
         f"with atomic_folder({str(final)!r}): pass"],
        env={**os.environ, "TMPDIR": str(other_tmp)}, capture_output=True, text=True,
    )  # fmt: skip
    assert second.returncode != 0 and f"process {holder.pid}" in second.stderr
    other_tmp.rmdir()
    with pytest.raises(OutputLockedError, match=rf"process {holder.pid} on .* is writing it"):
        with atomic_folder(final, argument="--output_dir"):
            pass
    dead = tmp_path / f".out.{socket.gethostname()}-{_dead_pid()}.partial"
    dead.mkdir()
    recover_interrupted(final)  # as a writer that ignored the lock would: live work stays
    assert live.is_dir() and not dead.exists()
    holder.communicate("\n")
    assert holder.returncode == 0 and _read(final) == {"a.txt": "live"}
    with writer_lock(final), writer_lock(final):  # re-entrant within a process
        with atomic_folder(final) as staging:
            _write(staging, {"b.txt": "next"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


def test_the_wrong_kind_a_mount_point_or_a_link_are_handled_before_the_work(tmp_path):
    """A file where a folder goes (and the reverse) failed at the rename after the work; a
    link to a folder was replaced by a real folder beside it."""
    (tmp_path / "file").write_text("x")
    started = []
    with pytest.raises(NotADirectoryError, match=r"--output_dir .*file: a file is there"):
        with atomic_folder(tmp_path / "file", argument="--output_dir"):
            started.append(True)
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError, match=r"--output .*folder: a folder is there"):
        with atomic_file(tmp_path / "folder", argument="--output"):
            started.append(True)
    assert not started
    target = tmp_path / "elsewhere" / "out"
    target.mkdir(parents=True)
    link = tmp_path / "out"
    link.symlink_to(target)
    with atomic_folder(link) as staging:
        (staging / "a.txt").write_text("new")
    assert link.is_symlink() and (target / "a.txt").read_text() == "new"
    root = Path("/")
    if os.path.ismount(root):  # a mount point: refused before the work
        with pytest.raises(UsageError, match="a mount point cannot be replaced by a rename"):
            with atomic_folder(root):
                started.append(True)
        assert not started


def test_a_name_too_long_for_its_staging_is_refused_before_the_work(tmp_path):
    """A 240-byte name fits the file system, but its staging name (`.<name>.<host>-<pid>.partial`)
    does not: a file's staging is first written after the work, which was then lost."""
    started = []
    with pytest.raises(UsageError, match=r"--output .*: the name is 240 bytes; its staging name"):
        with atomic_file(tmp_path / ("r" * 235 + ".json"), argument="--output"):
            started.append(True)
    with pytest.raises(UsageError, match=r"use a name of at most \d+ bytes"):
        with atomic_folder(tmp_path / ("é" * 120)):
            started.append(True)
    assert not started
    fitting = tmp_path / ("r" * 200 + ".json")
    with atomic_file(fitting) as staging:
        staging.write_text("{}")
    assert fitting.read_text() == "{}"


def _recording_fsync(monkeypatch, final):
    """Record, for each `os.fsync`, the synced path and whether `final` existed by then."""
    synced: list[tuple[str, bool]] = []
    real_fsync = os.fsync

    def fsync(descriptor):
        synced.append((os.readlink(f"/proc/self/fd/{descriptor}"), final.exists()))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads descriptors' paths")
def test_a_published_folder_is_on_disk_before_its_name(tmp_path, monkeypatch):
    """A power cut after the rename must not leave empty files under the final name: every
    staged file and folder is flushed before the rename, the parent folder after it."""
    final = tmp_path / "out"
    with atomic_folder(final) as staging:
        _write(staging, {"a.json": "{}", "sub/b.bin": "xx"})
        synced = _recording_fsync(monkeypatch, final)
        staged = str(staging)
    before = {path for path, final_existed in synced if not final_existed}
    assert {f"{staged}/a.json", f"{staged}/sub/b.bin", f"{staged}/sub", staged} <= before
    assert synced[-1] == (str(tmp_path), True)  # the rename, once done
    assert _read(final) == {"a.json": "{}", "sub/b.bin": "xx"}


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads descriptors' paths")
def test_a_replaced_file_is_on_disk_before_its_name(tmp_path, monkeypatch):
    final = tmp_path / "report.json"
    final.write_text("old")
    synced = _recording_fsync(monkeypatch, tmp_path / "never")
    with atomic_file(final) as staging:
        staging.write_text("new")
        staged = str(staging)
    assert [path for path, _ in synced] == [staged, str(tmp_path)]
    assert final.read_text() == "new"
