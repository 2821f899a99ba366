"""prixlm.outputs.lock: one writer per output across users and hosts, not only within one.

The file lock lives in a per-user folder of `/tmp`, so another user's (or another host's, on
a shared disk) writer of the same output never meets it: what they see of each other is what
they keep beside the output: a writer's marker, naming its host and PID.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from prixlm.outputs.atomic import OutputLockedError, atomic_folder, writer_lock


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The PID of a running process (not this one)."""
    process = subprocess.Popen(["sleep", "30"])
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


def _marker(folder: Path, name: str, host: str, pid: int) -> Path:
    """A writer's marker beside `folder / name`, as `writer_lock` writes it."""
    marker = folder / f".{name}.{host}-{pid}.writing"
    marker.write_text(json.dumps({"host": host, "pid": pid, "command": ["build.py"]}))
    return marker


def test_a_live_writer_of_another_user_refuses_a_second_writer(tmp_path, live_pid):
    final = tmp_path / "out"
    marker = _marker(tmp_path, "out", socket.gethostname(), live_pid)
    with pytest.raises(OutputLockedError) as error:
        with atomic_folder(final, argument="--output_dir") as mine:
            (mine / "b.txt").write_text("second")
    message = str(error.value)
    assert message.startswith(f"--output_dir {final}: process {live_pid} on ")
    assert "(build.py) is writing it" in message and marker.name in message
    assert not final.exists() and sorted(p.name for p in tmp_path.iterdir()) == [marker.name]


def test_a_marker_older_than_its_process_is_a_dead_writers(tmp_path, live_pid):
    """A PID taken by a later process (as after a restart): the marker, written before that
    process started, is a dead writer's and goes."""
    final = tmp_path / "out"
    marker = _marker(tmp_path, "out", socket.gethostname(), live_pid)
    os.utime(marker, (time.time() - 3600, time.time() - 3600))
    with atomic_folder(final) as mine:
        (mine / "b.txt").write_text("next")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_live_writer_of_this_user_with_its_lock_elsewhere_refuses(tmp_path, live_pid):
    """The file lock is keyed in this `/tmp` by the path as given: a writer in another `/tmp`
    namespace (a service's private /tmp) or of the folder by another path holds another one;
    its marker, from a process started before it, still refuses."""
    marker = _marker(tmp_path, "out", socket.gethostname(), live_pid)
    with pytest.raises(OutputLockedError, match=rf"process {live_pid} on "):
        with writer_lock(tmp_path / "out"):
            pass
    assert marker.exists()


def test_a_sibling_outputs_writer_is_not_this_outputs(tmp_path):
    """`exp` and `exp.2` are two outputs: the marker of `exp.2`'s writer (read as host
    `2.<host>` by its name alone) does not refuse a writer of `exp`, nor is it removed."""
    sibling = _marker(tmp_path, "exp.2", "other-host", 4242)
    with atomic_folder(tmp_path / "exp") as mine:
        (mine / "a.txt").write_text("mine")
    assert sorted(p.name for p in tmp_path.iterdir()) == [sibling.name, "exp"]


def test_a_dead_writers_staging_is_cleaned_up_and_the_writer_proceeds(tmp_path):
    final = tmp_path / "out"
    staging = tmp_path / f".out.{socket.gethostname()}-{_dead_pid()}.partial"
    staging.mkdir()
    marker = tmp_path / f".out.{socket.gethostname()}-{_dead_pid()}.writing"
    marker.write_text("{}")
    with atomic_folder(final) as mine:
        (mine / "b.txt").write_text("next")
    assert (final / "b.txt").read_text() == "next"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("output", ["folder", "file"])
def test_a_staging_older_than_the_process_of_its_pid_is_a_dead_writers(tmp_path, live_pid, output):
    """A writer killed after its staging was last written, its PID since taken by a later
    process (as after a restart): the staging (a dataset's: GBs) was kept for good, as that
    PID runs. A staging written since that process started may be its own: it stays."""
    from prixlm.outputs.atomic import atomic_file

    hour_ago = time.time() - 3600
    here = socket.gethostname()
    dead = tmp_path / f".out.{here}-{live_pid}.partial"
    (dead / "shard").mkdir(parents=True)
    (dead / "shard" / "data.bin").write_bytes(b"x" * 4096)
    os.utime(dead, (hour_ago, hour_ago))  # its writer's last entry, before `live_pid` began
    kept = tmp_path / f".out2.{here}-{live_pid}.partial"  # a staging `live_pid` may write
    kept.mkdir()
    if output == "folder":
        with atomic_folder(tmp_path / "out") as mine:
            (mine / "b.txt").write_text("next")
        with atomic_folder(tmp_path / "out2") as mine:
            (mine / "b.txt").write_text("next")
    else:
        shutil.rmtree(dead)
        dead.write_bytes(b"y" * 4096)
        os.utime(dead, (hour_ago, hour_ago))
        with atomic_file(tmp_path / "out") as mine:
            mine.write_text("next")
        with atomic_file(tmp_path / "out2") as mine:
            mine.write_text("next")
    assert sorted(p.name for p in tmp_path.iterdir()) == [kept.name, "out", "out2"]


def test_another_hosts_writer_is_refused_with_what_to_remove(tmp_path):
    """Whether a process of another host runs cannot be known here: assumed running."""
    marker = _marker(tmp_path, "out", "other-host.example", 4242)
    with pytest.raises(OutputLockedError, match=r"process 4242 on other-host\.example") as error:
        with writer_lock(tmp_path / "out"):
            pass
    assert f"remove {marker}" in str(error.value)


@pytest.mark.parametrize("hold", ["atomic_folder", "writer_lock"])
def test_a_writer_of_another_user_is_refused(tmp_path, hold):
    """The holder keeps its file lock where another user's would be (a folder of its own):
    the second writer meets only the marker (`writer_lock`, as a training holds its
    output_dir) or the marker and the staging (`atomic_folder`)."""
    final = tmp_path / "out"
    other_locks = tmp_path / "other-user-locks"
    other_locks.mkdir()
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        import prixlm.outputs.atomic as atomic_output
        import prixlm.outputs.lock as output_lock
        output_lock._lock_root = lambda: Path({str(other_locks)!r})
        with atomic_output.{hold}({str(final)!r}):
            print("holding", flush=True)
            sys.stdin.readline()
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(OutputLockedError, match=rf"process {holder.pid} on .* is writing it"):
            with atomic_folder(final, argument="--output_dir"):
                pass
        with pytest.raises(OutputLockedError, match=rf"process {holder.pid} on "):
            with writer_lock(final, argument="--output_dir"):
                pass
    finally:
        holder.communicate("\n")
    assert holder.returncode == 0
    with writer_lock(final):  # the holder ended: its marker is gone
        pass
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == (
        ["other-user-locks", "out"] if hold == "atomic_folder" else ["other-user-locks"]
    )


def test_secrets_on_the_command_line_stay_out_of_the_writer_files(tmp_path, monkeypatch):
    """The marker beside the output is readable by every user (and stays after a kill):
    `--hub_token hf_...` was written into it whole."""
    import prixlm.outputs.lock as output_lock

    monkeypatch.setattr(output_lock, "_lock_root", lambda: tmp_path / "locks")
    (tmp_path / "locks").mkdir()
    argv = ["train.py", "--hub_token", "hf_SECRET1", "--tokenizer_dir", "tok",
            "--hub-token=hf_SECRET2", "--api_key", "K3", "--output_dir", "out",
            "--new_token_init", "mean", "--max_new_tokens", "5"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    final = tmp_path / "out"
    with writer_lock(final):
        markers = list(tmp_path.glob(".out.*.writing"))
        owners = list((tmp_path / "locks").glob("*/*.json"))
        written = [json.loads(path.read_text("utf-8")) for path in [*markers, *owners]]
        owner_mode = owners[0].stat().st_mode & 0o777
    assert len(markers) == 1 and len(owners) == 1
    for owner in written:
        assert owner["command"] == ["train.py", "--hub_token", "***", "--tokenizer_dir", "tok",
                                    "--hub-token=***", "--api_key", "***", "--output_dir", "out",
                                    "--new_token_init", "mean", "--max_new_tokens", "5"]  # fmt: skip
    assert oct(owner_mode) == "0o600"


def test_a_lock_folder_another_user_made_first_is_refused(tmp_path, monkeypatch):
    """Another user of a shared /tmp can make `prixlm-locks-<uid>` first (its name is known)
    and plant links there that the owner file would be written through."""
    import prixlm.outputs.lock as output_lock

    monkeypatch.setattr(output_lock, "_lock_root", lambda: tmp_path)
    uid = os.getuid() + 4242  # this user's id as the folder sees it: someone else's folder
    monkeypatch.setattr(output_lock.os, "getuid", lambda: uid)
    folder = tmp_path / f"prixlm-locks-{uid}"
    folder.mkdir(mode=0o777)
    victim = tmp_path / "victim.txt"
    victim.write_text("mine", "utf-8")
    with pytest.raises(output_lock.UsageError, match="is not a folder of this user"):
        with writer_lock(tmp_path / "out"):
            pass
    assert victim.read_text("utf-8") == "mine" and not list(folder.iterdir())
