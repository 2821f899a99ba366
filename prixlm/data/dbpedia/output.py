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

Everything is written into the hidden sibling `.OUT.partial` that replaces `OUT` at the end
(`prixlm.atomic_output`), so a killed build leaves no folder that looks complete. The build
owns `README.md` and the config folders its card lists (`owned_entries`): a rebuild replaces
those (a language no longer built loses its folder) and keeps everything else in `OUT`
(`.git`, a user's files). The same input gives byte-identical Parquet files (fixed row
order, no timestamps).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from prixlm.atomic_output import atomic_folder, check_parent
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
CARD = "README.md"


def _visible_entries(folder: Path) -> list[Path]:
    return [entry for entry in folder.iterdir() if not entry.name.startswith(".")]


def _is_replaceable(folder: Path) -> bool:
    """A folder with no visible entries (`.git` alone counts as none) or an earlier build
    (its card carries `BUILD_MARKER`)."""
    if not folder.is_dir():
        return False
    card = folder / CARD
    if card.is_file():
        return BUILD_MARKER in card.read_text(encoding="utf-8", errors="replace")
    return not _visible_entries(folder)


def check_replaceable(output_dir: str | Path) -> None:
    """`ValueError` if `output_dir` exists and is neither empty nor an earlier build."""
    output_dir = Path(output_dir)
    if output_dir.exists() and not _is_replaceable(output_dir):
        raise ValueError(
            f"--output_dir {output_dir} exists and is not a dataset build; not replacing it"
        )


def owned_entries(folder: str | Path) -> set[str]:
    """The top-level names in `folder` that belong to the build there: its card and every
    config folder that card's `configs:` names (`de`, `links`, ...). Others are not touched."""
    card = Path(folder) / CARD
    if not card.is_file():
        return {CARD}
    text = card.read_text(encoding="utf-8", errors="replace")
    try:
        header = yaml.safe_load(text.split("\n---\n", 1)[0].removeprefix("---\n"))
        paths = [
            path
            for config in header["configs"]
            for files in config["data_files"]
            for path in ([files["path"]] if isinstance(files["path"], str) else files["path"])
        ]
    except (yaml.YAMLError, KeyError, TypeError):  # not a card we wrote: own nothing but it
        return {CARD}
    return {CARD} | {path.split("/")[0] for path in paths}


@contextmanager
def dataset_folder(output_dir: str | Path) -> Iterator[Path]:
    """An empty staging folder (`atomic_output.partial_path`) that replaces `output_dir`
    when the block succeeds.

    An existing `output_dir` must be empty (but for hidden entries) or an earlier build
    (`ValueError` otherwise). Of its entries, those the earlier build owns (`owned_entries`)
    are replaced or, if this build does not write them, removed; all others (`.git`, a
    user's files) are carried over into the new folder unchanged.
    """
    output_dir = check_parent(output_dir, argument="--output_dir")
    check_replaceable(output_dir)
    owned = owned_entries(output_dir) if output_dir.is_dir() else set()
    with atomic_folder(
        output_dir, carry_over=lambda entry: entry.name not in owned, argument="--output_dir"
    ) as staging:
        yield staging


__all__ = [
    "ALL",
    "BUILD_MARKER",
    "CARD",
    "FEATURES",
    "LINKS",
    "SCHEMA",
    "check_replaceable",
    "data_files",
    "dataset_folder",
    "owned_entries",
    "write_parquet",
    "write_rows",
]
