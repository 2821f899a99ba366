"""A large plain dump file read in parts over processes (`convert`) gives the whole file's
records, counts and `file:line` messages, and the build the same bytes; `--profile`."""

from __future__ import annotations

import bz2
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_read_blocks import LANGUAGES, MALFORMED, nasty_text

from prixlm.data.dbpedia import convert
from prixlm.data.dbpedia.build import build_dataset, main
from prixlm.data.dbpedia.bz2_streams import StreamPart, stream_starts
from prixlm.data.dbpedia.dumps import ReadOptions
from prixlm.data.dbpedia.engine import EngineOptions
from prixlm.data.dbpedia.read_rows import SEQ_PART, Job
from prixlm.data.ntriples import DumpError, MalformedLineError

KINDS = ("labels", "objects", "links", "hub", "ontology")
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
GOOD = f'<http://de.dbpedia.org/resource/A{{}}> {LABEL} "a{{}}"@de .\n'


@pytest.fixture(autouse=True)
def pool_for_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(convert, "POOL_MIN_BYTES", 0)


def jobs_for(path: Path, folder: Path) -> list[Job]:
    return [
        Job(kind, path, folder / f"{kind}.parquet", None if kind in ("hub", "ontology") else "de",
            LANGUAGES)
        for kind in KINDS
    ]  # fmt: skip


def read_parts(job: Job) -> pa.Table:
    """The records of a job's record files (its parts, in order), as one table."""
    files = sorted(job.output.parent.glob(f"{job.output.stem}*.parquet"))
    return pa.concat_tables(pq.read_table(f) for f in files)


def test_line_starts_cut_after_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "d.ttl"
    path.write_bytes(b"aaa\nbb\n\ncccc\nd")
    assert convert.line_starts(path, 4) == [4, 8, 13]  # after the first LF at or past k/4
    assert convert.line_starts(path, 2) == [8]
    path.write_bytes(b"no line end at all")
    assert convert.line_starts(path, 3) == []


def test_parts_give_the_whole_files_records_and_counts(tmp_path: Path) -> None:
    # the nasty lines (every line end, escapes, malformed lines) 40 times: many parts
    path = tmp_path / "nasty_de.ttl"
    path.write_bytes((nasty_text() + "\n").encode("utf-8") * 40)
    whole, parted = ReadOptions(), ReadOptions()
    whole_jobs = jobs_for(path, tmp_path / "whole")
    ran, _ = convert.convert_all(whole_jobs, whole, 1)
    assert ran == whole_jobs
    jobs = jobs_for(path, tmp_path / "parts")
    ran, cpu = convert.convert_all(jobs, parted, 3, part_bytes=2_000)
    assert len(ran) > 5 * 20 and cpu > 0  # every kind's file in 20+ parts, in workers
    assert parted.stats == whole.stats  # lines, triples, comments, malformed, file:line
    assert whole.stats[str(path)].malformed == len(MALFORMED) * 40
    for whole_job, job in zip(whole_jobs, jobs, strict=True):
        expected, found = pq.read_table(whole_job.output), read_parts(job)
        assert found.num_rows == expected.num_rows > 0 or job.kind == "hub"
        if "seq" in expected.column_names:  # the file's order, part k from k * SEQ_PART
            seq = found.column("seq").to_pylist()
            assert seq == sorted(seq) and seq[-1] >= SEQ_PART
            expected, found = expected.drop_columns("seq"), found.drop_columns("seq")
        assert found.to_pylist() == expected.to_pylist()


def lines_then(bad: bytes, count: int = 400) -> bytes:
    return b"".join(GOOD.format(i, i).encode() for i in range(count)) + bad + b"\n"


@pytest.mark.parametrize(
    ("bad", "options", "error"),
    [
        (b"<http://x.org/s> <p> .", ReadOptions(strict=True), MalformedLineError),
        (b"<http://x.org/s> " + b"x" * 300, ReadOptions(max_line_bytes=200), DumpError),
        (b'<http://x.org/s> <http://x.org/p> "\xff" .', ReadOptions(), DumpError),
    ],
)
def test_an_error_in_a_later_part_names_the_files_line(
    tmp_path: Path, bad: bytes, options: ReadOptions, error: type
) -> None:
    path = tmp_path / "labels_de.ttl"
    path.write_bytes(lines_then(bad) + lines_then(b"<also> <bad> .", 50))
    job = Job("labels", path, tmp_path / "whole.parquet", "de", LANGUAGES)
    with pytest.raises(error) as expected:
        convert.convert_all([job], options, 1)
    assert f"{path}:401:" in str(expected.value)
    part = Job("labels", path, tmp_path / "p" / "labels.parquet", "de", LANGUAGES)
    with pytest.raises(error) as raised:  # from the last of several parts
        convert.convert_all([part], options, 2, part_bytes=4_000)
    assert str(raised.value) == str(expected.value)
    if error is MalformedLineError:
        assert raised.value.line_number == 401


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_the_build_is_byte_identical_with_parts_and_processes(
    tmp_path: Path, dumps: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(convert, "PART_MIN_BYTES", 300)  # the tiny dumps in parts
    found = {}
    for num_proc in (1, 3):
        options = EngineOptions(num_proc=num_proc, threads=num_proc)
        rows, read = build_dataset(dumps, tmp_path / f"kb{num_proc}", engine=options)
        found[num_proc] = (_digests(tmp_path / f"kb{num_proc}"), read.stats)
    assert len(found[1][0]) > 5 and found[1] == found[3]
    assert sum(s.malformed for s in found[3][1].values()) == 3


def test_profile_prints_and_writes_each_stage(
    tmp_path: Path, dumps: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "profile.json"
    argv = ["--dump_dir", str(dumps), "--output_dir", str(tmp_path / "kb"), "--no_progress"]
    assert main([*argv, "--num_proc", "1", "--profile", str(report)]) == 0
    out = capsys.readouterr().out
    assert "CPU/wall" in out and "read: dumps -> record files" in out
    stages = json.loads(report.read_text())
    for name in (
        "read: dumps -> record files",
        "tables.build_tables: facts",
        "splits.build_rows: drawn",
        "output.write_shards: copy",
        "card and clean-up",
    ):
        assert stages[name]["wall_s"] > 0 and stages[name]["cpu_s"] >= 0, name
    assert stages["output.write_shards: copy"]["calls"] == 7  # 3 languages x 2-3 splits, links
    assert main([*argv, "--num_proc", "1"]) == 0
    assert "CPU/wall" not in capsys.readouterr().out


def multi_stream(data: bytes, stream_bytes: int) -> bytes:
    """`data` as pbzip2 writes it: independent bzip2 streams of `stream_bytes` of input
    each, cut anywhere (mid-line, mid-character)."""
    return b"".join(
        bz2.compress(data[i : i + stream_bytes]) for i in range(0, len(data), stream_bytes)
    )


def test_multi_stream_bz2_parts_give_the_whole_files_records_and_counts(tmp_path: Path) -> None:
    text = (nasty_text() + "\n").encode("utf-8") * 40
    path = tmp_path / "nasty_de.ttl.bz2"
    path.write_bytes(multi_stream(text, 777))
    assert len(stream_starts(path)) == -(-len(text) // 777)
    whole, parted = ReadOptions(), ReadOptions()
    whole_jobs = jobs_for(path, tmp_path / "whole")
    convert.convert_all(whole_jobs, whole, 1)  # bz2.open: every stream, one after another
    jobs = jobs_for(path, tmp_path / "parts")
    ran, _ = convert.convert_all(jobs, parted, 3, part_bytes=1_000)
    assert len(ran) > 5 * 10
    assert parted.stats == whole.stats
    assert whole.stats[str(path)].malformed == len(MALFORMED) * 40
    for whole_job, job in zip(whole_jobs, jobs, strict=True):
        expected, found = pq.read_table(whole_job.output), read_parts(job)
        if "seq" in expected.column_names:
            expected, found = expected.drop_columns("seq"), found.drop_columns("seq")
        assert found.to_pylist() == expected.to_pylist()


def test_a_corrupt_later_stream_fails_the_build_whole_or_in_parts(tmp_path: Path) -> None:
    """Read whole (one process), the file ended quietly at the corrupt stream (`bz2.open`)."""
    text = (nasty_text() + "\n").encode("utf-8") * 40
    streams = [bz2.compress(text[i : i + 4000]) for i in range(0, len(text), 4000)]
    corrupt = bytearray(b"".join(streams))
    corrupt[len(streams[0]) + len(streams[1]) + 5] ^= 0x10  # the third stream's block magic
    path = tmp_path / "nasty_de.ttl.bz2"
    path.write_bytes(bytes(corrupt))
    for processes, part_bytes in ((1, None), (3, 1_000)):
        jobs = jobs_for(path, tmp_path / f"out{processes}")
        with pytest.raises(DumpError, match=r"corrupt compressed file .*stream at byte \d+ is"):
            convert.convert_all(jobs, ReadOptions(), processes, part_bytes=part_bytes)


def test_stream_parts_share_out_lines_that_cross_streams(tmp_path: Path) -> None:
    text = b"".join(b"line %d " % i + b"x" * (i % 50) + b"\n" for i in range(2_000)) + b"end"
    path = tmp_path / "d.bz2"
    path.write_bytes(multi_stream(text, 500))
    starts = stream_starts(path)
    for count in (2, 3, 7, 50, len(starts)):
        cuts = [0, *convert.stream_cuts(path, count), path.stat().st_size]
        parts = [StreamPart(path, a, b).read() for a, b in zip(cuts, cuts[1:], strict=False)]
        assert b"".join(parts) == text
        assert all(p.endswith(b"\n") for p in parts[:-1])
    one = tmp_path / "one.bz2"
    one.write_bytes(bz2.compress(text))  # as bzip2 writes it: one stream, read whole
    assert stream_starts(one) == [0] and convert.stream_cuts(one, 4) == []
    assert StreamPart(one, 0, one.stat().st_size).read(10) == text[:10]
