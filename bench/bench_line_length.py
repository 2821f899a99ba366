"""Long lines: the dump reader's line splitting, before (quadratic) and now (linear).

Run::

    .venv/bin/python bench/bench_line_length.py [--sizes_mib 4,8,16,32]

Writes one file per size holding a single N-Triples line whose literal is that many MiB,
then splits it into lines with the old block reader (copied below as the baseline: it
joined the pending bytes to each new 64 KiB block and searched the whole buffer for a line
end, so a line of n bytes cost n²/64 KiB) and with today's `line_blocks`, and reads it
with `read_triples` (lines end to end, the fast path included). Time is CPU time
(`time.process_time`), peak memory is traced Python memory (tracemalloc, a separate run).
Per size it prints both, and the time per MiB, which stays flat when time is linear in the
line's length. The last printed line is the speed ratio new / old at the largest size.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prixlm.data.ntriples import read_triples  # noqa: E402
from prixlm.data.ntriples_lines import line_blocks, open_dump  # noqa: E402

BLOCK_SIZE = 1 << 16


def old_lines_in_blocks(handle: BinaryIO, block_size: int = BLOCK_SIZE) -> Iterator[list[str]]:
    """The baseline: the block reader before linear splitting (UTF-8 errors left out)."""
    pending = b""
    while True:
        block = handle.read(block_size)
        if not block:
            if not pending:
                return
            data, pending = pending + b"\n", b""
        else:
            data = pending + block
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                pending = data
                continue
            data, pending = data[:cut], data[cut:]
        lines = data.decode("utf-8").split("\n")
        lines.pop()
        yield lines


def old_split(path: Path) -> int:
    """Lines found by the old block reader."""
    with open_dump(path) as handle:
        return sum(len(lines) for lines in old_lines_in_blocks(handle))


def new_split(path: Path) -> int:
    """Lines found by `line_blocks` (no length limit here, to time the same work)."""
    with open_dump(path) as handle:
        blocks = line_blocks(handle, str(path), BLOCK_SIZE, max_line_bytes=1 << 40)
        return sum(len(block.lines) for block in blocks)


def new_read(path: Path) -> int:
    """Triples read by `read_triples`, lines end to end."""
    return sum(1 for _ in read_triples(path, max_line_bytes=1 << 40))


def write_line(path: Path, mib: int) -> None:
    """One triple whose literal holds `mib` MiB of ASCII."""
    path.write_bytes(b'<http://a.org/s> <http://a.org/p> "' + b"v" * (mib << 20) + b'" .\n')


def cpu_time(function: Callable[[Path], int], path: Path) -> float:
    """CPU seconds of one call, checking that it found one line or triple."""
    start = time.process_time()
    found = function(path)
    seconds = time.process_time() - start
    if found != 1:
        raise SystemExit(f"{function.__name__} found {found} lines in {path}, expected 1")
    return seconds


def peak_mib(function: Callable[[Path], int], path: Path) -> float:
    """Peak traced Python memory (MiB) of one call."""
    tracemalloc.start()
    function(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes_mib", default="4,8,16,32", help="line lengths in MiB")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes_mib.split(",")]
    functions = [old_split, new_split, new_read]
    print(
        "line MiB | old split s | new split s | new read_triples s | "
        "old / new MiB peak | old s/MiB | new s/MiB (split, read)"
    )
    ratio = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for mib in sizes:
            path = Path(tmp) / f"line_{mib}.nt"
            write_line(path, mib)
            old_s, split_s, read_s = (cpu_time(f, path) for f in functions)
            old_peak, new_peak = peak_mib(old_split, path), peak_mib(new_split, path)
            print(
                f"{mib:>8} | {old_s:>11.3f} | {split_s:>11.3f} | {read_s:>18.3f} | "
                f"{old_peak:>7.0f} / {new_peak:<5.0f}    | {old_s / mib:>9.4f} | "
                f"{split_s / mib:.4f}, {read_s / mib:.4f}"
            )
            ratio = old_s / split_s
            path.unlink()
    print(f"speed ratio new / old line splitting at {sizes[-1]} MiB: {ratio:.1f}x")


if __name__ == "__main__":
    main()
