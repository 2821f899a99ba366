"""A local build folder is read without any network call, also where the Hub is not
switched off (no `HF_HUB_OFFLINE`).

`load_kb` loads a folder's Parquet files with `datasets.load_dataset("parquet", ...)`, whose
download counter sent a request to s3.amazonaws.com on every load: behind a firewall that
drops packets each one waited 3 s (35 of them in `make demo`). The loads here run in a fresh
process whose sockets refuse and record every connection to a host other than this one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq

from prixlm.data.dbpedia.build import build_dataset
from prixlm.data.loading import local_data_files

#: Refuses and records every connection to a host other than this machine, and every
#: lookup of such a host (`socket.getaddrinfo`, `create_connection`, `socket.connect`).
GUARD = """
import errno, os, socket

_LOG = os.environ["NETWORK_LOG"]
_LOCAL = ("localhost", "127.0.0.1", "::1", "0.0.0.0", "")


def _refuse(kind, host, port):
    if isinstance(host, bytes):
        host = host.decode()
    if host is None or host in _LOCAL or str(host).startswith("127."):
        return
    with open(_LOG, "a", encoding="utf-8") as log:
        log.write(f"{kind} {host}:{port}\\n")
    raise OSError(errno.ENETUNREACH, f"no network in this test ({host})")


_getaddrinfo, _create_connection = socket.getaddrinfo, socket.create_connection
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def getaddrinfo(host, port, *args, **kwargs):
    _refuse("getaddrinfo", host, port)
    return _getaddrinfo(host, port, *args, **kwargs)


def create_connection(address, *args, **kwargs):
    _refuse("create_connection", *address[:2])
    return _create_connection(address, *args, **kwargs)


def _checked(original):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _refuse("connect", *address[:2])
        return original(self, address)
    return connect


socket.getaddrinfo, socket.create_connection = getaddrinfo, create_connection
socket.socket.connect, socket.socket.connect_ex = _checked(_connect), _checked(_connect_ex)
"""

#: The loads of the commands: `load_kb` (evaluate_lp, the demo), train.py's training rows and
#: the completion's configs; then a connection of its own, which the guard must record.
SCRIPT = textwrap.dedent(
    """
    import json, socket, sys

    from prixlm.completion.loading import read_config
    from prixlm.data.loading import load_kb
    from prixlm.training.data import load_training_rows

    folder = sys.argv[1]
    de = load_kb(folder, "de", split="train")
    training = load_training_rows(folder, ["de", "en"], "all")
    completion = read_config(folder, "en")
    with open(sys.argv[2], "a", encoding="utf-8") as log:
        log.write("loaded\\n")
    try:
        socket.create_connection(("example.org", 443), timeout=1)
    except OSError:
        pass
    print(json.dumps({
        "de": de.to_list(),
        "training": [[r["kind"], r["subject"], r["object"]] for r in training],
        "completion": completion,
    }))
    """
)


def _parquet_rows(folder: Path, config: str) -> dict[str, list[dict]]:
    """The rows of each split of `config`, read from its Parquet files by pyarrow."""
    return {
        split: [row for path in sorted(paths) for row in pq.read_table(path).to_pylist()]
        for split, paths in local_data_files(folder, config).items()
    }


def test_a_local_folder_loads_with_no_network_call(tmp_path: Path, dumps: Path) -> None:
    folder = tmp_path / "kb"
    build_dataset(dumps, folder, ["en", "de"], progress=False)
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    log = tmp_path / "network.log"
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_UPDATE_DOWNLOAD_COUNTS")
    }
    environment.update(
        PYTHONPATH=str(guard), NETWORK_LOG=str(log), HF_HOME=str(tmp_path / "hf_home")
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(folder), str(log)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # no connection, no lookup while loading; the guard did catch the process's own one
    assert log.read_text(encoding="utf-8").splitlines() == [
        "loaded",
        "create_connection example.org:443",
    ]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    de, en = _parquet_rows(folder, "de"), _parquet_rows(folder, "en")
    assert loaded["de"] == de["train"] and "Deutschland" in {r["subject"] for r in de["train"]}
    assert loaded["completion"] == en
    triples = sorted([r["kind"], r["subject"], r["object"]] for r in [*de["train"], *en["train"]])
    assert sorted(r for r in loaded["training"] if r[0] == "triple") == triples
    links = _parquet_rows(folder, "links")["train"]
    assert len(loaded["training"]) == len(triples) + len(links) > len(triples)
