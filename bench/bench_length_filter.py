"""The build's length filter: every row encoded (before) vs token counts per distinct text.

Run::

    .venv/bin/python bench/bench_length_filter.py [--dump_dir DIR] [--tokenizer DIR]
        [--max_length 30] [--entities 162338]

Builds the synthetic dumps in `--dump_dir` (default: the scale benchmark's 1M lines,
`/tmp/prixlm_build_scale/dumps_2x162338_seed0`; written by `bench/synthetic_dumps.py` with
2 languages x `--entities` entities when missing) twice with the paper's length filter, each in
this process, timed by wall clock and CPU:

- **per row** (the filter before): `build_dataset(sequence_length=...)` with
  `len(encode_row(tokenizer, row).input_ids)`, i.e. the formatter run on every distinct
  text row and link direction (`engine.lengths`);
- **per text** (ours): `build_dataset(tokenizer=...)`, which tokenises each distinct text
  once in batches and sums (`token_lengths`).

The tokenizer (`--tokenizer`, default: the embedded default's kind, a Unigram of 8,000
entries, `prixlm.training.tokenizer_training.train_tokenizer`, trained on the dumps' labels)
gets the fact and language tokens first. Both builds must
keep the same rows (checked); the last line is the ratio of the two builds' wall times.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthetic_dumps import write_dumps  # noqa: E402

from modeling_prixlm.formatting import add_prixlm_tokens  # noqa: E402
from prixlm.data.dbpedia.build import build_dataset  # noqa: E402
from prixlm.data.dbpedia.schema import SplitSettings, encode_row  # noqa: E402
from prixlm.training.tokenizer_training import train_tokenizer  # noqa: E402

DEFAULT_DUMPS = Path("/tmp/prixlm_build_scale/dumps_2x162338_seed0")


def label_texts(dump_dir: Path) -> Iterator[str]:
    """The literals of the labels files (what the embedded default's tokenizer learns)."""
    for path in sorted(dump_dir.glob("labels_*.ttl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if '"' in line:
                    yield line.split('"')[1]


def timed(build: Any) -> tuple[float, float, Any]:
    """Wall and CPU seconds (this process) of `build()`, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = build()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dump_dir", type=Path, default=DEFAULT_DUMPS)
    parser.add_argument("--tokenizer", help="tokenizer folder (default: trained here)")
    parser.add_argument("--max_length", type=int, default=30)
    parser.add_argument(
        "--entities",
        type=int,
        default=162_338,
        help="entities per language of the dumps written when --dump_dir holds none "
        "(162,338: the scale benchmark's 1M lines)",
    )
    args = parser.parse_args(argv)
    if not any(args.dump_dir.glob("labels_*.ttl")):
        write_dumps(args.dump_dir, languages=2, entities=args.entities)
    if args.tokenizer:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    else:
        tokenizer = train_tokenizer(label_texts(args.dump_dir), 8000)
    languages = sorted(p.stem.split("_")[-1] for p in args.dump_dir.glob("labels_*.ttl"))
    add_prixlm_tokens(tokenizer, languages)
    settings = SplitSettings(max_length=args.max_length)
    print(
        f"machine: {os.cpu_count()} CPU cores, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; dumps {args.dump_dir}; "
        f"tokenizer of {len(tokenizer)} entries; --max_length {args.max_length}"
    )

    def per_row() -> Any:
        length = lambda row: len(encode_row(tokenizer, row).input_ids)  # noqa: E731
        return build_dataset(args.dump_dir, None, sequence_length=length, settings=settings)[0]

    def per_text() -> Any:
        return build_dataset(
            args.dump_dir, None, tokenizer=copy.deepcopy(tokenizer), settings=settings
        )[0]

    results = {}
    print("| length filter | wall s | CPU s (this process) | rows kept | removed by length |")
    print("|---|---:|---:|---:|---:|")
    for name, build in (("per row (before)", per_row), ("per text (ours)", per_text)):
        wall, cpu, rows = timed(build)
        kept = sum(s.triples for s in rows.stats.values()) + len(rows.links)
        removed = sum(s.removed_length for s in rows.stats.values())
        results[name] = (wall, rows)
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {kept:,} | {removed:,} |", flush=True)
    (before, old_rows), (ours, new_rows) = results.values()
    same = old_rows.links == new_rows.links and all(
        old_rows.triples[lang] == new_rows.triples[lang] for lang in old_rows.triples
    )
    print(f"same rows: {same}")
    print(f"build with the length filter, per row / per text (wall): {before / ours:.2f}x")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
