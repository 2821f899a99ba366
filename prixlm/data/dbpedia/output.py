"""The Hub-native layout: size-bounded Parquet shards per config and split, written atomically.

```
OUT/
  README.md                  dataset card: YAML `configs:` (data files per split), features
  de/train.parquet           one folder per language: its triples
  de/validation.parquet
  de/test.parquet             (a split without rows has no file and no card entry)
  en/train-00000-of-00003.parquet   a split too large for one shard: the Hub's shard names
  ...
  links/train.parquet        cross-lingual links, both directions
```
A split is cut into consecutive shards of at most `--max_shard_rows` rows and
`--max_shard_bytes` Arrow bytes (plus one row; the compressed files are smaller); a split
that fits one shard keeps the plain name `<split>.parquet`. The card lists every shard in
order. The `all` config has no files of its own: its card entry lists every language's train
shards plus the links' as train, and the languages' validation/test shards.

Everything is written into the build's own hidden sibling `.OUT.<host>-<pid>.partial` that
replaces `OUT` at the end (`prixlm.outputs.atomic`), so a killed build leaves no folder that
looks complete; one build at a time writes `OUT` (`outputs.atomic.writer_lock`). The build
owns `README.md` and the config folders its card lists (`dataset_folder.owned_entries`): a rebuild replaces
those (a language no longer built loses its folder) and keeps everything else in `OUT`
(`.git`, a user's files). The same input gives byte-identical Parquet files (fixed row
order, no timestamps).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from prixlm.data.dbpedia.copy_pool import (
    SIDE_BY_SIDE_MEMORY_SHARE,
    copy_shards,
    memory_limit_share,
    size_bytes,
)
from prixlm.data.dbpedia.profile import stage_of
from prixlm.data.dbpedia.schema import ALL, COLUMNS, LINKS, SPLITS
from prixlm.data.dbpedia.splits import drop_rows
from prixlm.data.dbpedia.tables import quote

# The `datasets` features of a row (`schema.Row`'s columns, in order), written out so that
# a build does not import `datasets` (half a second): `FEATURES` (lazy) is
# `datasets.Features.from_dict(FEATURE_DICT)`, and `FEATURE_YAML` its card form.
_STRING = {"dtype": "string", "_type": "Value"}
FEATURE_DICT: dict[str, Any] = {
    **{name: dict(_STRING) for name in COLUMNS[:-1]},
    "all_objects": {"feature": dict(_STRING), "_type": "List"},
}
FEATURE_YAML = [{"name": name, "dtype": "string"} for name in COLUMNS[:-1]] + [
    {"name": "all_objects", "list": "string"}
]
SCHEMA = pa.schema(
    [pa.field(name, pa.string()) for name in COLUMNS[:-1]]
    + [pa.field("all_objects", pa.list_(pa.string()))],
    metadata={"huggingface": json.dumps({"info": {"features": FEATURE_DICT}})},
)


def __getattr__(name: str) -> Any:
    if name == "FEATURES":
        import datasets

        return datasets.Features.from_dict(FEATURE_DICT)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def split_of_file(path: str) -> tuple[str, str]:
    """`(config, split)` of a shard path: `de/train.parquet`, `de/train-00001-of-00004.parquet`."""
    config, name = path.split("/")
    return config, name.removesuffix(".parquet").split("-")[0]


def shard_name(config: str, split: str, index: int, count: int) -> str:
    """The path of shard `index` of `count` (module doc)."""
    if count == 1:
        return f"{config}/{split}.parquet"
    return f"{config}/{split}-{index:05d}-of-{count:05d}.parquet"


def data_files(written: Iterable[str]) -> dict[str, dict[str, list[str]]]:
    """`{config: {split: [relative Parquet paths, in shard order]}}` for every config, `all`
    included.

    `written` are the files that exist (empty splits have none: `datasets` cannot load an
    empty split, so a split without rows is left out of its config).
    """
    files: dict[str, dict[str, list[str]]] = {}
    for path in sorted(written):
        config, split = split_of_file(path)
        files.setdefault(config, {}).setdefault(split, []).append(path)
    files = {
        config: {split: splits[split] for split in SPLITS if split in splits}
        for config, splits in sorted(files.items(), key=lambda item: item[0] == LINKS)
    }
    languages = [config for config in files if config != LINKS]
    every = {
        split: [path for lang in languages for path in files[lang].get(split, [])]
        for split in SPLITS
    }
    every["train"] += files.get(LINKS, {}).get("train", [])
    files[ALL] = {split: paths for split, paths in every.items() if paths}
    return files


DEFAULT_MAX_SHARD_BYTES = 256 << 20  # Arrow bytes of a shard's rows (the Hub: a few 100 MB)
DEFAULT_MAX_SHARD_ROWS = 10_000_000
ROW_GROUP_ROWS = 50_000
# A row's Arrow size: each string's bytes + a 4-byte offset; the list's offset and strings.
_ROW_BYTES = (
    " + ".join(f"strlen({name})" for name in COLUMNS[:-1])
    + f" + {4 * (len(COLUMNS) - 1)} + 4"
    + " + coalesce(strlen(array_to_string(all_objects, '')), 0) + 4 * len(all_objects)"
)


# A split too large for one shard is cut row by row up to this many rows; a larger one is
# counted in buckets of `h` (its top bits), about `BUCKETS_PER_SHARD` a shard, and cut
# between buckets.
EXACT_CUT_ROWS = 1_000_000
BUCKETS_PER_SHARD = 64
_Piece = tuple[str, str, int, int, int, int]  # config, split, first h, last h, rows, bytes


def shard_ranges(
    con: duckdb.DuckDBPyConnection, max_shard_bytes: int, max_shard_rows: int
) -> list[_Piece]:
    """The shards of `rows`, in order: `(config, split, first h, last h, rows, Arrow bytes)`.

    A split within both bounds is one shard. A larger one of up to `EXACT_CUT_ROWS` rows is
    cut exactly, row by row in `h` order, by a window: a shard ends at `max_shard_rows` rows
    or after the row that crosses `max_shard_bytes` (so it may exceed that by one row).
    A larger split is counted in buckets of consecutive `h` (a hash aggregate over the top
    bits of `h`, `BUCKETS_PER_SHARD` buckets a shard on average: `h` is uniform) and cut
    greedily between buckets, each shard within both bounds (exactly, if a bucket alone
    exceeds a bound). The window over every row of the large splits took 4 s at 10M input
    lines; the buckets' aggregate takes a fraction of that.
    """
    totals = con.execute(
        f"""SELECT config, split, min(h), max(h), count(*), sum({_ROW_BYTES})::BIGINT FROM rows
        GROUP BY config, split ORDER BY config, split"""
    ).fetchall()
    pieces: list[_Piece] = []
    shifts: dict[tuple[str, str], int] = {}
    for config, split, first, last, count, nbytes in totals:
        if count <= max_shard_rows and nbytes <= max_shard_bytes:
            pieces.append((config, split, first, last, count, nbytes))
        elif count <= EXACT_CUT_ROWS:
            pieces += _exact(con, config, split, max_shard_bytes, max_shard_rows)
        else:
            shards = max(count / max_shard_rows, nbytes / max_shard_bytes)
            bits = min(max(math.ceil(math.log2(BUCKETS_PER_SHARD * shards)), 1), 32)
            shifts[(config, split)] = 128 - bits
    if shifts:
        values = ", ".join(f"({quote(c)}, {quote(s)}, {n})" for (c, s), n in shifts.items())
        buckets = con.execute(
            f"""WITH cut(config, split, shift) AS (VALUES {values})
            SELECT config, split, min(h), max(h), count(*), sum({_ROW_BYTES})::BIGINT
            FROM rows JOIN cut USING (config, split)
            GROUP BY config, split, h >> shift::UHUGEINT ORDER BY config, split, min(h)"""
        ).fetchall()
        by_split: dict[tuple[str, str], list[_Piece]] = {}
        for bucket in buckets:
            by_split.setdefault(bucket[:2], []).append(bucket)
        for (config, split), parts in by_split.items():
            cut = _greedy(parts, max_shard_bytes, max_shard_rows)
            pieces += (
                cut
                if cut is not None
                else _exact(con, config, split, max_shard_bytes, max_shard_rows)
            )
    return sorted(pieces)


def _greedy(buckets: list[_Piece], max_bytes: int, max_rows: int) -> list[_Piece] | None:
    """Consecutive buckets joined into shards within both bounds; None if a bucket alone
    exceeds one."""
    shards: list[_Piece] = []
    current: _Piece | None = None
    for bucket in buckets:
        config, split, first, last, count, nbytes = bucket
        if count > max_rows or nbytes > max_bytes:
            return None
        if current is not None and (
            current[4] + count > max_rows or current[5] + nbytes > max_bytes
        ):
            shards.append(current)
            current = None
        if current is None:
            current = bucket
        else:
            current = (config, split, current[2], last, current[4] + count, current[5] + nbytes)
    if current is not None:
        shards.append(current)
    return shards


def _exact(
    con: duckdb.DuckDBPyConnection, config: str, split: str, max_bytes: int, max_rows: int
) -> list[_Piece]:
    """One split's shards, cut row by row in `h` order (a shard ends after the row that
    crosses `max_bytes`, or at `max_rows` rows)."""
    return con.execute(
        f"""SELECT config, split, min(h), max(h), count(*), sum(nbytes)::BIGINT FROM (
            SELECT config, split, h, nbytes, row_number() OVER w - 1 AS rn,
                coalesce(sum(nbytes) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                    0) AS before
            FROM (SELECT config, split, h, {_ROW_BYTES} AS nbytes FROM rows
                  WHERE config = {quote(config)} AND split = {quote(split)})
            WINDOW w AS (ORDER BY h))
        GROUP BY config, split, before // {int(max_bytes)}, rn // {int(max_rows)}
        ORDER BY 3"""
    ).fetchall()


def write_shards(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    *,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    max_shard_rows: int = DEFAULT_MAX_SHARD_ROWS,
    progress: bool = False,
    memory_limit: str | None = None,
) -> dict[str, tuple[int, int]]:
    """Write the view `rows` (`splits.build_rows`) as Parquet shards under `folder`.

    Each config's split is ordered by its column `h` and cut into consecutive shards of at
    most `max_shard_rows` rows and at most `max_shard_bytes` Arrow bytes (plus one row).
    The shards' `h` ranges come from `shard_ranges`; each shard's `COPY` filters `rows` for
    its range and sorts it. (Sorting all of `rows` once instead, so that each `COPY` reads
    only its own blocks, took longer at every size measured: +4 s at 10M input lines, +5 s
    at 30M, where the sort alone took 36 s and spilled 9 GB more.) The `COPY` statements
    run side by side, as many as DuckDB has threads and as fit in 3/4 of `memory_limit`
    (the build's `--memory_limit`; None: DuckDB's own) beside its tables (`copy_pool`).
    Returns `{relative path: (rows, Arrow bytes)}`; `rows` is dropped (`drop_rows`).
    """
    if max_shard_bytes < 1 or max_shard_rows < 1:
        raise ValueError("--max_shard_bytes and --max_shard_rows must be positive")
    pieces = shard_ranges(con, max_shard_bytes, max_shard_rows)
    con.execute("SET preserve_insertion_order = true")  # each COPY keeps its ORDER BY
    counts: dict[tuple[str, str], int] = {}
    for config, split, *_ in pieces:
        counts[(config, split)] = counts.get((config, split), 0) + 1
    metadata = quote(SCHEMA.metadata[b"huggingface"].decode())
    sizes: dict[str, tuple[int, int]] = {}
    index: dict[tuple[str, str], int] = {}
    statements: list[tuple[int, str]] = []
    for config, split, first, last, count, nbytes in pieces:
        number = index[(config, split)] = index.get((config, split), -1) + 1
        relative = shard_name(config, split, number, counts[(config, split)])
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        statements.append(
            (
                nbytes,
                f"""COPY (SELECT {", ".join(COLUMNS)} FROM rows
                WHERE config = {quote(config)} AND split = {quote(split)}
                AND h BETWEEN {first}::UHUGEINT AND {last}::UHUGEINT ORDER BY h)
            TO {quote(str(folder / relative))} (FORMAT parquet, COMPRESSION zstd,
                ROW_GROUP_SIZE {ROW_GROUP_ROWS}, KV_METADATA {{huggingface: {metadata}}})""",
            )
        )
        sizes[relative] = (count, nbytes)
    with stage_of(con, "output.write_shards: copy", calls=len(statements)):
        statements.sort(key=lambda item: -item[0])
        arrow_bytes, ordered = [n for n, _ in statements], [sql for _, sql in statements]
        copy_shards(con, ordered, progress, memory_limit, arrow_bytes)
    drop_rows(con)
    return sizes


def file_digests(folder: Path, paths: Iterable[str]) -> dict[str, str]:
    """`{relative path: sha256 of the file's bytes}` of written files under `folder`: the
    card keys each config on them, so that `datasets` caches a rebuild with other rows anew."""
    digests: dict[str, str] = {}
    for relative in sorted(paths):
        with open(folder / relative, "rb") as handle:
            digests[relative] = hashlib.file_digest(handle, "sha256").hexdigest()
    return digests


def config_digest(splits: dict[str, list[str]], digests: dict[str, str]) -> str:
    """sha256 of a config's files (`{split: [paths]}`, in order) from their `file_digests`."""
    lines = [f"{split} {path} {digests[path]}" for split, paths in splits.items() for path in paths]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


__all__ = [
    "ALL",
    "FEATURES",  # noqa: F822 (module __getattr__)
    "FEATURE_DICT",
    "FEATURE_YAML",
    "LINKS",
    "SCHEMA",
    "SIDE_BY_SIDE_MEMORY_SHARE",
    "config_digest",
    "copy_shards",
    "data_files",
    "file_digests",
    "memory_limit_share",
    "shard_name",
    "shard_ranges",
    "size_bytes",
    "split_of_file",
    "write_shards",
]
