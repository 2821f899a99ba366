"""Load a config of a Prix-LM dataset — a local build folder or a Hub id — without stale caches.

`datasets.load_dataset(folder, config)` (datasets 5.2, checked) keys its cache on the
folder's *name*, the config and the card's relative file patterns, not on the folder's path
or the files' times: a second folder with the same name (`runs/a/dataset`,
`runs/b/dataset`), or a folder rebuilt in place, silently returns the rows cached for the
first one. `load_kb` reads a local folder's card and loads its Parquet files by absolute
path with the `parquet` builder, whose cache key includes every file's path and mtime; a Hub
id (cached by revision) goes through `load_dataset` unchanged.

The mtime alone misses a file rewritten with its old mtime restored (`cp -p`, `rsync -a`,
`tar x`), even with another row count: the config's name therefore ends in a digest of every
file's path, size, mtime, inode and ctime (`files_state`). The ctime cannot be set back
(`utime` sets it to now), so any rewrite — also one keeping the row count, the size and the
mtime — gets its own cache; a metadata-only change (`chmod`) prepares the rows again. The
name begins with a digest of the folder's path and the config (`cache_names`): once the
rows are prepared, the entries of that folder and config in an earlier state can never be
used again, and are removed (`remove_superseded`), else every rebuild left a copy of the
rows (and of their tokenised forms) in the cache. Those names: `prixlm.data.load_cache`.

A local folder is read without any network call: `datasets`' download counter (a request
to S3 for each load, waiting up to 3 s where a firewall drops it) is off while it loads.

A mistake (a folder that does not exist, a folder without a dataset card, a config or split
the dataset does not have, a split expression such as `train[:10%]` where a split's name is
taken (also for a Hub id, which `load_dataset` would slice), a requested split without rows, a Parquet file that is missing,
truncated or otherwise unreadable) raises `DatasetInputError`, a `UsageError` (one `error:`
line in the commands) and a `ValueError`, whose message names the command-line argument:
`--dataset` and `--languages` unless the caller names others, and the file where known. A
Hub id that cannot be reached raises `HubUnreachableError`, and a system error (the datasets
cache read-only or full) passes unchanged (`prixlm.data.load_errors`).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import glob
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets
from huggingface_hub import DatasetCard

from prixlm.data.load_cache import cache_names, escaped_root, remove_superseded
from prixlm.data.load_errors import UNREADABLE as _UNREADABLE
from prixlm.data.load_errors import DatasetInputError, HubUnreachableError, hub_error, system_error
from prixlm.data.load_errors import load_error_line as _first_line
from prixlm.hub.calls import HUB_ERRORS
from prixlm.hub.hf_cache import cache_error

#: `org/name`: what may be a Hub dataset id when no such folder exists.
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
#: A split's name as `datasets` allows one (`datasets.splits._split_re`): no expression
#: (`train[:10%]`, `train+validation`), which the commands would record as a split's name.
SPLIT_NAME = re.compile(r"\w+(\.\w+)*")


def local_data_files(
    folder: str | Path,
    config: str,
    argument: str = "--dataset",
    config_argument: str = "--languages",
) -> dict[str, list[str]]:
    """`{split: [absolute Parquet paths]}` of `config`, read from `folder/README.md`'s YAML.

    The config's files are found as `datasets.load_dataset(folder, config)` finds them:
    `data_files` a path or a list of paths (the split `train`) or a list of `{split, path}`
    entries, relative to the folder or to the config's `data_dir`; without `data_files`,
    the files under `data_dir` (or the folder) split by `datasets`' file-name rules
    (`train*.parquet`, `data/test-00000-of-00001.parquet`, ...).

    Raises `DatasetInputError` without a card, naming the configs it has when `config` is
    not one of them, or naming the card and the config when its entry is of no such form or
    names a file outside the folder (an absolute path, a `..`: `../other/private.parquet`
    would be read as this config). Links inside the folder are followed (a Hub snapshot's
    files are links into the Hub cache).
    """
    card_path, entry = _card_config(folder, config, argument, config_argument)
    folder = card_path.parent
    where = f"{config_argument} {config}: config {config!r} of {card_path}"
    data_dir = entry.get("data_dir")
    if data_dir is not None and (
        not isinstance(data_dir, str)
        or Path(data_dir).is_absolute()
        or ".." in Path(data_dir).parts
    ):
        raise DatasetInputError(f"{where}: data_dir {data_dir!r} is not a folder inside it")
    base = folder / data_dir if data_dir else folder
    if entry.get("data_files") is None:
        return _default_split_files(folder, base, where)
    splits = _split_patterns(entry["data_files"], where)
    for split, paths in splits.items():
        for path in paths:
            if Path(path).is_absolute() or ".." in Path(path).parts:
                raise DatasetInputError(
                    f"{where}: split {split!r} names {path!r}, a file outside the dataset "
                    f"folder {folder}; its data files must lie inside it"
                )
    return {split: [str(base / path) for path in paths] for split, paths in splits.items()}


def _card_config(
    folder: str | Path, config: str, argument: str, config_argument: str
) -> tuple[Path, dict[str, Any]]:
    """`folder`'s card (its absolute path) and its `configs` entry of `config`
    (`DatasetInputError` without)."""
    card_path, by_name = _card_configs(folder, argument)
    if config not in by_name:
        raise DatasetInputError(
            f"{config_argument} {config}: {card_path} has no config {config!r} "
            f"(configs: {sorted(map(str, by_name))})"
        )
    return card_path, by_name[config]


def _card_configs(folder: str | Path, argument: str) -> tuple[Path, dict[Any, dict[str, Any]]]:
    """`folder`'s card (its absolute path) and its `configs` entries by name
    (`DatasetInputError` without a card)."""
    card_path = Path(folder).absolute() / "README.md"
    if not card_path.is_file():
        raise DatasetInputError(
            f"{argument} {folder}: no README.md dataset card (not a dataset build?)"
        )
    # read as `DatasetCard.load` reads it; parsed once per text (`_parsed_configs`)
    with card_path.open(mode="r", newline="", encoding="utf-8-sig") as file:
        configs = copy.deepcopy(_parsed_configs(file.read()))
    return card_path, {
        entry.get("config_name"): entry for entry in configs if isinstance(entry, dict)
    }


@functools.lru_cache(maxsize=8)
def _parsed_configs(card_text: str) -> list[Any]:
    """The `configs` list of a card's text (`DatasetCard`'s YAML parse): kept per text, as a
    job reads its dataset's card at every `load_kb` / `config_names` (a pure-Python parse
    of ~11 ms for three languages' configs: 9.5% of a toy Table 1 run's CPU,
    `bench/bench_card_configs.py`); a card rewritten with other text is parsed anew.
    Callers get a copy (`_card_configs`)."""
    return DatasetCard(card_text).data.to_dict().get("configs") or []


def config_names(dataset: str | Path, argument: str = "--dataset") -> list[str]:
    """The configs of a build folder, read from its card as written (`datasets`'
    `get_dataset_config_names` resolves every config's files as glob patterns under the
    folder's path, and finds none under `runs[1]/kb`), or of a Hub dataset.

    Raises `DatasetInputError` for a local folder without a card; a Hub id's errors pass as
    `datasets.get_dataset_config_names` raises them."""
    if not check_dataset_source(dataset, argument):
        return list(datasets.get_dataset_config_names(str(dataset)))
    return [str(name) for name in _card_configs(dataset, argument)[1] if name is not None]


def _split_patterns(data_files: Any, where: str) -> dict[str, list[str]]:
    """A card's `data_files` as `{split: [patterns]}`, by `datasets`' rule: a path or a list
    of paths is the split `train`; a list of `{split, path}` entries names its splits."""
    if isinstance(data_files, str):
        return {"train": [data_files]}
    if isinstance(data_files, list) and data_files:
        if all(isinstance(item, str) for item in data_files):
            return {"train": list(data_files)}
        splits: dict[str, list[str]] = {}
        for item in data_files:
            path = item.get("path") if isinstance(item, dict) else None
            paths = [path] if isinstance(path, str) else path
            if (
                not isinstance(item, dict)
                or set(item) != {"split", "path"}
                or not isinstance(paths, list)
                or not all(isinstance(one, str) for one in paths)
                or str(item["split"]) in splits
            ):
                break
            splits[str(item["split"])] = paths
        else:
            return splits
    raise DatasetInputError(
        f"{where}: data_files is neither a path, a list of paths nor a list of "
        f"{{split, path}} entries with distinct splits: {data_files!r}"
    )


def _default_split_files(folder: Path, base: Path, where: str) -> dict[str, list[str]]:
    """The files under `base` (a config's `data_dir`, or `folder`) per split, found as
    `datasets` finds them without `data_files` (its own functions), as paths under `folder`
    whose part below it is escaped: each one names that file only."""
    from datasets.data_files import DataFilesDict, get_data_patterns
    from datasets.load import _ALL_ALLOWED_EXTENSIONS

    root = glob.escape(base.as_posix())  # `runs[1]/kb`: no pattern (`datasets` takes it as one)
    try:
        patterns = get_data_patterns(root)
        found = DataFilesDict.from_patterns(
            patterns, base_path=root, allowed_extensions=_ALL_ALLOWED_EXTENSIONS
        )
    except (OSError, ValueError) as error:  # no data files there (`EmptyDatasetError`)
        raise DatasetInputError(f"{where}: {_first_line(error)}") from error
    return {
        str(split): [
            str(folder) + "/" + glob.escape(Path(file).relative_to(folder).as_posix())
            for file in files
        ]
        for split, files in found.items()
    }


def check_dataset_source(dataset: str | Path, argument: str = "--dataset") -> bool:
    """True for a local folder, False for what may be a Hub id (`org/name`);
    `DatasetInputError` for anything else (a file, a path that does not exist)."""
    path = Path(dataset)
    if path.is_dir():
        return True
    if path.exists():
        raise DatasetInputError(f"{argument} {dataset}: not a folder")
    if path.is_absolute() or not HUB_ID.fullmatch(str(dataset)):
        raise DatasetInputError(f"{argument} {dataset}: no such folder (nor a Hub id org/name)")
    return False


def load_kb(
    dataset: str | Path,
    config: str,
    split: str | None = None,
    argument: str = "--dataset",
    config_argument: str = "--languages",
) -> Any:
    """`DatasetDict` of `config` (or the `Dataset` of one `split`) of a build folder or Hub id.

    A build folder's rows are cached by `datasets` under a name of the folder, the config and
    the files' state: the entry of that folder and config in a superseded state (a rebuild,
    a `chmod`) is removed once the current one is prepared, with no network call. `argument`
    and `config_argument` name the options in a `DatasetInputError`; a Hub id that cannot be
    reached raises `HubUnreachableError`, and a system error (the datasets cache read-only or
    full) passes unchanged.
    """
    if split is not None and not SPLIT_NAME.fullmatch(split):  # a Hub id would take it
        raise DatasetInputError(
            f"--split {split}: the name of one split (such as test), not an expression;"
            " slice the rows once loaded"
        )
    if not check_dataset_source(dataset, argument):
        where = f"{argument} {dataset} ({config_argument} {config})"
        try:
            return datasets.load_dataset(str(dataset), config, split=split)
        except (*HUB_ERRORS, *_UNREADABLE) as error:  # offline, unknown repo, config, split
            if (hub := hub_error(error, f"{argument} {dataset}", str(dataset))) is not None:
                raise hub from error  # no connection: no fault of the id nor of the config
            if (system := system_error(error)) is not None:
                raise system from error  # the cache read-only or full: no fault of --dataset
            raise DatasetInputError(f"{where}: {_first_line(error)}") from error
    files = local_data_files(dataset, config, argument, config_argument)
    if split is not None and split not in files:
        raise DatasetInputError(
            f"--split {split}: config {config!r} of {dataset} has the splits {sorted(files)}"
        )
    what = f"{argument} {dataset}: cannot load config {config!r}"
    # every split's files, also for one split: `load_dataset` prepares them all
    rows = {
        name: _check_parquet_files(paths, dataset, f"{what} split {name!r}")
        for name, paths in files.items()
    }
    if split is not None and rows[split] == 0:
        raise DatasetInputError(f"{argument} {dataset}: config {config!r} split {split!r} is empty")
    cache_prefix, cache_name = cache_names(files, dataset, config)
    try:
        with no_download_count():
            loaded = datasets.load_dataset(
                "parquet", name=cache_name, data_files=escaped_root(files, dataset), split=split
            )
    except (FileNotFoundError, *_UNREADABLE) as error:  # a file damaged past its footer
        if (cached := cache_error(error, own=dataset)) is not None:
            raise cached from error  # the datasets cache unwritable: names what to set
        if (system := system_error(error)) is not None:  # a full disk: `user_errors` says
            raise system from error  # what to do, naming the file or the datasets cache
        where = f" split {split!r}" if split is not None else ""
        empty = [name for name, count in rows.items() if count == 0]  # `datasets` fails on it
        cause = f"its split {empty[0]!r} has no rows ({{}})" if empty else "{}"
        raise DatasetInputError(f"{what}{where}: {cause.format(_first_line(error))}") from error
    except OSError as error:  # the datasets cache read-only (a read-only home) or full
        if (cached := cache_error(error, own=dataset)) is not None:
            raise cached from error
        raise
    if cache_names(files, dataset, config)[1] == cache_name:  # not rebuilt meanwhile
        remove_superseded(cache_prefix, cache_name)
    return loaded


@contextlib.contextmanager
def no_download_count() -> Iterator[None]:
    """`datasets`' download counter off (`HF_UPDATE_DOWNLOAD_COUNTS`): each
    `load_dataset("parquet", ...)` sends a request to S3 to count a download of the builder,
    a network call for a local folder that waits up to 3 s where a firewall drops it."""
    counts = datasets.config.HF_UPDATE_DOWNLOAD_COUNTS
    datasets.config.HF_UPDATE_DOWNLOAD_COUNTS = False
    try:
        yield
    finally:
        datasets.config.HF_UPDATE_DOWNLOAD_COUNTS = counts


def _check_parquet_files(paths: list[str], dataset: str | Path, what: str) -> int:
    """The rows of the Parquet files that `paths` (a split's paths from the card, under
    `dataset`, maybe globs) match, read from their footers.

    Raises:
        DatasetInputError: `what`, then a path that matches no file, or a file that is no
            readable Parquet file (truncated, overwritten): `datasets` would raise a bare
            `ArrowInvalid` that names neither.
    """
    import pyarrow.parquet as pq

    rows = 0
    for path, pattern in zip(paths, escaped_root({"": paths}, dataset)[""], strict=True):
        matched = sorted(glob.glob(pattern, recursive=True))
        if not matched:
            raise DatasetInputError(f"{what}: no file {path} (a path of its README.md)")
        for file in matched:
            try:
                rows += pq.read_metadata(file).num_rows
            except (OSError, *_UNREADABLE) as error:
                raise DatasetInputError(
                    f"{what}: {file}: not a readable Parquet file ({_first_line(error)})"
                ) from error
    return rows


def has_config(dataset: str | Path, config: str) -> bool:
    """Whether the build folder's card (or the Hub dataset) lists `config`."""
    if check_dataset_source(dataset):
        try:
            return config in config_names(dataset)
        except DatasetInputError:  # no card
            return False
    try:
        return config in datasets.get_dataset_config_names(str(dataset))
    except (*HUB_ERRORS, ValueError):  # offline or unknown: let loading it name the problem
        return True


__all__ = [
    "DatasetInputError",
    "HubUnreachableError",
    "check_dataset_source",
    "config_names",
    "has_config",
    "load_kb",
    "local_data_files",
    "no_download_count",
]
