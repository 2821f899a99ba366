"""The DuckDB build's own behaviour: engine settings, size-bounded shards, parallel parsing."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from dbpedia_dumps import write_dumps

from prixlm.data.dbpedia import convert
from prixlm.data.dbpedia import engine as engine_module
from prixlm.data.dbpedia import output as output_module
from prixlm.data.dbpedia.build import build_dataset, main
from prixlm.data.dbpedia.dumps import DumpIndex, ReadOptions
from prixlm.data.dbpedia.engine import EngineMemoryError, EngineOptions, _jobs, connect
from prixlm.data.dbpedia.work_folder import OWNER_FILE
from prixlm.data.loading import load_kb
from prixlm.data.ntriples import MalformedLineError


def test_memory_limit_threads_and_spill_folder_reach_duckdb(
    tmp_path: Path, dumps: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = {}

    def recording(work: Path, engine: EngineOptions):
        con = connect(work, engine)
        query = "SELECT current_setting('memory_limit'), current_setting('threads'), "
        query += "current_setting('temp_directory')"
        seen["settings"] = con.execute(query).fetchone()
        seen["work"] = work
        return con

    monkeypatch.setattr(engine_module, "connect", recording)
    spill = tmp_path / "spill"
    engine = EngineOptions(threads=1, memory_limit="200MB", temp_dir=spill)
    rows, _ = build_dataset(dumps, tmp_path / "kb", engine=engine)
    limit, threads, temp = seen["settings"]
    assert limit in ("190.7 MiB", "200.0 MB") and threads == 1
    assert Path(temp) == seen["work"] / "spill" and seen["work"].parent == spill
    assert list(spill.iterdir()) == []  # the work folder is gone after the build
    assert sum(s.triples for s in rows.stats.values()) == 13 + 13 + 11
    with pytest.raises(ValueError, match="--memory_limit"):
        connect(tmp_path, EngineOptions(memory_limit="lots"))


def test_running_out_of_memory_names_the_arguments_and_keeps_the_earlier_build(
    tmp_path: Path, dumps: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--dump_dir", str(dumps), "--output_dir", str(tmp_path / "kb"), "--no_progress"]
    assert main([*argv, "--memory_limit", "200MB"]) == 0
    before = {p: p.read_bytes() for p in (tmp_path / "kb").rglob("*") if p.is_file()}
    capsys.readouterr()
    status = main([*argv, "--memory_limit", "2MB", "--threads", "1"])
    error = capsys.readouterr().err
    assert status == 2 and "error: --memory_limit 2MB, --threads 1: " in error
    assert "ran out of memory (Out of Memory Error: " in error and "Traceback" not in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb"]
    assert {p: p.read_bytes() for p in (tmp_path / "kb").rglob("*") if p.is_file()} == before
    with pytest.raises(EngineMemoryError, match="raise --memory_limit or lower --threads"):
        build_dataset(dumps, None, engine=EngineOptions(memory_limit="2MB", threads=1))


def test_shards_are_bounded_listed_in_order_and_load(tmp_path: Path, dumps: Path) -> None:
    whole, _ = build_dataset(dumps, tmp_path / "whole")
    engine = EngineOptions(max_shard_rows=4, max_shard_bytes=100_000)
    rows, _ = build_dataset(dumps, tmp_path / "kb", engine=engine)
    assert rows.shards["links"]["train"] == [
        f"links/train-{i:05d}-of-00015.parquet" for i in range(15)
    ]  # 58 link rows, 4 a shard
    card = (tmp_path / "kb" / "README.md").read_text(encoding="utf-8")
    assert f"Links (both directions): {len(whole.links):,}." in card  # counted, not read
    header = yaml.safe_load(card.split("\n---\n", 1)[0].removeprefix("---\n"))
    listed = {
        (config["config_name"], entry["split"]): entry["path"]
        for config in header["configs"]
        for entry in config["data_files"]
    }
    on_disk = sorted(
        str(p.relative_to(tmp_path / "kb")) for p in (tmp_path / "kb").rglob("*.parquet")
    )
    assert sorted(p for (c, _), paths in listed.items() if c != "all" for p in paths) == on_disk
    for (config, split), paths in listed.items():
        if config == "all":
            continue
        sizes = [pq.ParquetFile(tmp_path / "kb" / path).metadata.num_rows for path in paths]
        assert all(0 < n <= 4 for n in sizes)
        assert rows.read(config, split) == whole.read(config, split)  # same rows, same order
        assert load_kb(tmp_path / "kb", config, split=split)["object"] == [
            row.object for row in whole.read(config, split)
        ]
    by_bytes, _ = build_dataset(
        dumps, tmp_path / "bytes", engine=EngineOptions(max_shard_bytes=1500)
    )
    links = by_bytes.shards["links"]["train"]
    assert len(links) > 1 and by_bytes.links == whole.links
    for path in links:  # Arrow bytes per shard: at most the bound plus one row (< 300 B here)
        table = pq.read_table(tmp_path / "bytes" / path)
        assert table.nbytes <= 1500 + 300
    with pytest.raises(ValueError, match="max_shard_rows"):
        build_dataset(dumps, None, engine=EngineOptions(max_shard_rows=0))


@pytest.mark.parametrize("buckets_per_shard", [64, 1])
def test_large_splits_are_cut_between_buckets_of_h_within_the_bounds(
    tmp_path: Path, dumps: Path, monkeypatch: pytest.MonkeyPatch, buckets_per_shard: int
) -> None:
    """Splits above `EXACT_CUT_ROWS` are cut between buckets of `h`: every shard within both
    bounds, the rows and their order those of one whole file. With one bucket a shard on
    average, some bucket holds more rows than a shard may: that split is cut exactly."""
    whole, _ = build_dataset(dumps, tmp_path / "whole")
    monkeypatch.setattr(output_module, "EXACT_CUT_ROWS", 0)
    monkeypatch.setattr(output_module, "BUCKETS_PER_SHARD", buckets_per_shard)
    for name, engine in {
        "rows": EngineOptions(max_shard_rows=4),
        "bytes": EngineOptions(max_shard_bytes=1500),
    }.items():
        rows, _ = build_dataset(dumps, tmp_path / name, engine=engine)
        links = rows.shards["links"]["train"]
        assert len(links) > 1 and rows.links == whole.links
        tables = [pq.read_table(tmp_path / name / path) for path in links]
        if name == "rows" and buckets_per_shard == 1:
            assert [t.num_rows for t in tables] == [4] * 14 + [2]  # the exact cut, 58 rows
        elif name == "rows":
            assert all(0 < t.num_rows <= 4 for t in tables)
        else:  # strictly within the bound between buckets; one row more in the exact cut
            slack = 300 if buckets_per_shard == 1 else 0
            assert all(t.nbytes <= 1500 + slack for t in tables)
        for language in whole.stats:
            assert rows.read(language, "train") == whole.read(language, "train")


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.parquet")}


def test_parallel_parsing_writes_the_same_records_and_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dumps = write_dumps(tmp_path / "dumps", ".bz2")
    index = DumpIndex.scan(dumps)
    languages = ["de", "en", "fr"]
    results = {}
    monkeypatch.setattr(convert, "POOL_MIN_BYTES", 0)  # a pool even for tiny files
    for num_proc in (1, 3):
        folder = tmp_path / f"records{num_proc}"
        options = ReadOptions()
        convert.convert_all(_jobs(index, languages, None, None, folder), options, num_proc)
        results[num_proc] = (_digests(folder), options.stats)
    assert len(results[1][0]) == 9 and results[1] == results[3]
    errors = [e for stats in results[3][1].values() for e in stats.errors]
    assert sorted(errors)[0].startswith(f"{dumps / 'labels_de.ttl.bz2'}:15: invalid character")
    assert sum(stats.malformed for stats in results[3][1].values()) == 3
    with pytest.raises(MalformedLineError) as raised:  # from a worker, with file and line
        convert.convert_all(
            _jobs(index, languages, None, None, tmp_path / "strict"), ReadOptions(strict=True), 3
        )
    assert raised.value.line_number in (13, 15) and raised.value.path.startswith(str(dumps))


def test_a_killed_builds_work_folder_is_removed_by_the_next_build(
    tmp_path: Path, dumps: Path
) -> None:
    spill = tmp_path / "spill"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid now names no process
    owners = {
        "prixlm_build_dead": {"host": socket.gethostname(), "pid": dead.pid},
        "prixlm_build_live": {"host": socket.gethostname(), "pid": os.getpid()},
        "prixlm_build_elsewhere": {"host": "another-host", "pid": dead.pid},
        "prixlm_build_no_owner": None,
    }
    for name, owner in owners.items():
        (spill / name / "records").mkdir(parents=True)
        (spill / name / "records" / "labels-en.parquet").write_bytes(b"x" * 1000)
        if owner is not None:
            (spill / name / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")
    build_dataset(dumps, tmp_path / "kb", engine=EngineOptions(temp_dir=spill))
    assert sorted(p.name for p in spill.iterdir()) == [
        "prixlm_build_elsewhere",
        "prixlm_build_live",
        "prixlm_build_no_owner",
    ]  # the dead build's folder is gone, and so is this build's own
