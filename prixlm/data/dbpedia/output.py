"""The Hub-native layout: one Parquet file per config and split, written atomically.

```
OUT/
  README.md                  dataset card: YAML `configs:` (data files per split), features
  de/train.parquet           one folder per language: its triples
  de/validation.parquet
  de/test.parquet             (a split without rows has no file and no card entry)
  ...
  links/train.parquet        cross-lingual links, both directions
```
The `all` config has no files of its own: its card entry lists every language's train
file plus `links/train.parquet` as train, and the languages' validation/test files.

Everything is written into a hidden sibling folder `.OUT.partial-PID` that is renamed to
`OUT` at the end, so a killed build leaves no folder that looks complete; the same input
gives byte-identical Parquet files (fixed row order, no timestamps).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

from prixlm.data.dbpedia.schema import ALL, COLUMNS, LINKS, SPLITS, Row
from prixlm.data.dbpedia.splits import DatasetRows

FEATURES = datasets.Features(
    {
        **{name: datasets.Value("string") for name in COLUMNS[:-1]},
        "all_objects": datasets.List(datasets.Value("string")),
    }
)
SCHEMA = pa.schema(  # the columns of `schema.Row`, in order
    [pa.field(name, pa.string()) for name in COLUMNS[:-1]]
    + [pa.field("all_objects", pa.list_(pa.string()))],
    metadata={"huggingface": json.dumps({"info": {"features": FEATURES.to_dict()}})},
)


def data_files(written: Iterable[str]) -> dict[str, dict[str, list[str]]]:
    """`{config: {split: [relative Parquet paths]}}` for every config, `all` included.

    `written` are the files that exist (empty splits have none: `datasets` cannot load an
    empty split, so a split without rows is left out of its config).
    """
    written = sorted(written)
    files: dict[str, dict[str, list[str]]] = {}
    for path in written:
        config, name = path.split("/")
        files.setdefault(config, {})[name.removesuffix(".parquet")] = [path]
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


def _batches(rows: Iterable[Row], size: int) -> Iterator[pa.RecordBatch]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield _to_batch(batch)
            batch = []
    if batch:
        yield _to_batch(batch)


def _to_batch(rows: list[Row]) -> pa.RecordBatch:
    columns = [
        pa.array(values, type=field.type)
        for values, field in zip(zip(*rows, strict=True), SCHEMA, strict=True)
    ]
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMA)


def write_parquet(rows: Iterable[Row], path: Path, batch_size: int = 50_000) -> tuple[int, int]:
    """Write `rows` (`schema.Row`s) to `path`.

    Returns the number of rows and their Arrow size in bytes (the card's `num_bytes`).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    count = size = 0
    with pq.ParquetWriter(path, SCHEMA, compression="zstd", write_statistics=True) as writer:
        for batch in _batches(rows, batch_size):
            writer.write_batch(batch, row_group_size=batch_size)
            count += batch.num_rows
            size += batch.nbytes
    return count, size


def write_rows(
    rows: DatasetRows, folder: Path, progress: bool = False
) -> dict[str, tuple[int, int]]:
    """Every config's Parquet files under `folder` (see the module doc).

    Returns `{relative path: (rows, Arrow bytes)}`. Empty splits get no file.
    """
    from tqdm.auto import tqdm

    jobs = [
        (f"{language}/{split}.parquet", by_split[split])
        for language, by_split in rows.triples.items()
        for split in SPLITS
    ]
    jobs.append((f"{LINKS}/train.parquet", rows.links))
    return {
        relative: write_parquet(split_rows, folder / relative)
        for relative, split_rows in tqdm(jobs, desc="parquet", disable=not progress)
        if split_rows
    }


BUILD_MARKER = "# Prix-LM multilingual knowledge-base data"


def _is_replaceable(folder: Path) -> bool:
    """An empty folder, or one written by an earlier build (its card carries the marker)."""
    if not folder.is_dir():
        return False
    card = folder / "README.md"
    if card.is_file():
        return BUILD_MARKER in card.read_text(encoding="utf-8", errors="replace")
    return not any(folder.iterdir())


def check_replaceable(output_dir: str | Path) -> None:
    """`ValueError` if `output_dir` exists and is neither empty nor an earlier build."""
    output_dir = Path(output_dir)
    if output_dir.exists() and not _is_replaceable(output_dir):
        raise ValueError(
            f"--output_dir {output_dir} exists and is not a dataset build; not replacing it"
        )


@contextmanager
def atomic_folder(output_dir: str | Path) -> Iterator[Path]:
    """Yield a fresh hidden staging folder that replaces `output_dir` when the block succeeds.

    Stale staging folders of `output_dir` from killed builds are removed first; on an
    exception the staging folder is removed and `output_dir` is left as it was. An existing
    `output_dir` is replaced only if it is empty or an earlier build (`ValueError` otherwise).
    """
    output_dir = Path(output_dir).resolve()
    if output_dir.exists() and not _is_replaceable(output_dir):
        raise ValueError(
            f"--output_dir {output_dir} exists and is not a dataset build; not replacing it"
        )
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    for stale in output_dir.parent.glob(f".{output_dir.name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = output_dir.parent / f".{output_dir.name}.partial-{os.getpid()}"
    staging.mkdir()
    try:
        yield staging
        if output_dir.exists():
            old = output_dir.parent / f".{output_dir.name}.partial-{os.getpid()}-old"
            output_dir.rename(old)
            staging.rename(output_dir)
            shutil.rmtree(old)
        else:
            staging.rename(output_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


__all__ = [
    "check_replaceable",
    "ALL",
    "FEATURES",
    "LINKS",
    "SCHEMA",
    "atomic_folder",
    "data_files",
    "write_parquet",
    "write_rows",
]
