"""The build's predicted-facts check on compressed dumps: a `.bz2` or `.gz` of predictions is
refused as a plain file is, a cut `.bz2` is left to the reader (which names the file, exit
2, no traceback), and a `.bz2` is peeked at by its first block alone (the dump reader
decompressed its first 256 KB of input whole: tens of MB, about a second a file, for a dump
that compresses well)."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import pytest
from dbpedia_dumps import write_dumps

from prixlm.data.dbpedia.build import main as build
from prixlm.data.dbpedia.predicted_facts import PREDICTED_FACTS_HEADER, opens_as_predicted_facts

FACT = "<http://de.dbpedia.org/resource/Berlin> <http://dbpedia.org/ontology/country> <http://de.dbpedia.org/resource/Deutschland> .\n"  # noqa: E501


def _predicted(lines: int = 3) -> bytes:
    return (f"{PREDICTED_FACTS_HEADER}: model m, target_language de, threshold 0.5\n").encode() + (
        FACT * lines
    ).encode()


def _build(dumps: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    status = build(["--dump_dir", str(dumps), "--output_dir", str(out), "--no_progress",
                    "--num_proc", "1", "--languages", "de,en"])  # fmt: skip
    return status, capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".bz2", ".gz"])
def test_compressed_predictions_are_refused_as_a_plain_file_is(tmp_path, capsys, suffix):
    dumps = write_dumps(tmp_path / "dumps")
    (dumps / "mappingbased_objects_de.ttl").unlink()
    target = dumps / f"mappingbased_objects_de.nt{suffix}"
    target.write_bytes((bz2.compress if suffix == ".bz2" else gzip.compress)(_predicted()))
    status, err = _build(dumps, tmp_path / "data", capsys)
    assert status == 2
    assert err.startswith(f"error: {target}: facts predicted by a model (the file opens with")
    assert not (tmp_path / "data").exists()


def test_a_cut_bz2_dump_is_named_by_the_reader_not_the_check(tmp_path, capsys):
    dumps = write_dumps(tmp_path / "dumps", suffix=".bz2")
    objects = dumps / "mappingbased_objects_de.ttl.bz2"
    objects.write_bytes(objects.read_bytes()[:-20])  # a download cut short
    assert not opens_as_predicted_facts(objects)
    status, err = _build(dumps, tmp_path / "data", capsys)
    assert status == 2
    assert err.startswith("error: ") and str(objects) in err
    assert "Traceback" not in err


def test_a_bz2_dump_is_peeked_at_by_its_first_block_only(tmp_path, monkeypatch):
    """A 6 MB dump of one fact repeated compresses to a few KB: the dump reader's first
    read took all of it and decompressed all 6 MB to look at 21 bytes."""
    dump = tmp_path / "mappingbased_objects_de.ttl.bz2"
    dump.write_bytes(bz2.compress(b"# started 2016-10-04T16:20:50Z\n" + FACT.encode() * 50_000))
    decompressed = []

    class Counting:
        """`bz2.BZ2Decompressor` that counts the bytes it gives out."""

        def __init__(self) -> None:
            self._inner = real()

        def decompress(self, data: bytes, max_length: int = -1) -> bytes:
            out = self._inner.decompress(data, max_length)
            decompressed.append(len(out))
            return out

        def __getattr__(self, name: str) -> object:
            return getattr(self._inner, name)

    real = bz2.BZ2Decompressor
    monkeypatch.setattr(bz2, "BZ2Decompressor", Counting)
    assert not opens_as_predicted_facts(dump)
    assert 0 < sum(decompressed) <= 900_000  # one bzip2 block at most, not the 6 MB
    dump.write_bytes(bz2.compress(_predicted(50_000)))
    assert opens_as_predicted_facts(dump)
