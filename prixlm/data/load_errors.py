"""What loading a Prix-LM dataset raises, and whose fault it is.

A mistake in the dataset (`DatasetInputError`) names the command-line argument. Two kinds of
failure are no fault of the dataset and are never reported as one: a system error
(`system_error`: the datasets cache on a read-only or full disk, a permission), which the
commands' `prixlm.cli.user_errors` prints with the path it names, and a Hub dataset id that
cannot be reached (`HubUnreachableError`), whose message says how to work without the
network. `not_the_dataset` picks either out of what `load_kb` raised, for the callers that
name the dataset in their own messages.
"""

from __future__ import annotations

import errno
import os

import datasets
import httpx2
import pyarrow

from prixlm.cli import UsageError, first_line

#: What `datasets` and `pyarrow` raise for a dataset file they cannot read (besides OSError).
UNREADABLE = (ValueError, pyarrow.ArrowException, datasets.exceptions.DatasetsError)

#: A full disk, a quota, a file-size limit.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class DatasetInputError(UsageError, ValueError):
    """A dataset, config or split that cannot be loaded; the message names the argument."""


class HubUnreachableError(UsageError):
    """A Hub dataset id that cannot be loaded for want of the Hub (no connection, a timeout,
    offline mode without a cached copy); the message names the id and what to do."""


def system_error(error: BaseException, errnos: tuple[int, ...] = ()) -> OSError | None:
    """The system error (an errno, not ENOENT; one of `errnos` when given) in the chain of
    `error` (`datasets` wraps the `OSError` of a failed write in a `DatasetGenerationError`),
    else None. A full disk that names no file names the datasets cache, where `datasets`
    writes the rows it prepares."""
    for link in error_chain(error):
        if isinstance(link, OSError) and link.errno not in (None, errno.ENOENT):
            if errnos and link.errno not in errnos:
                return None
            if link.errno in DISK_FULL and link.filename is None:
                cache = f"the datasets cache {datasets.config.HF_DATASETS_CACHE}"
                return OSError(link.errno, link.strerror, f"{cache} (HF_DATASETS_CACHE)")
            return link
    return None


def unreachable(error: BaseException) -> bool:
    """Whether `error` (or an error in its chain) says the Hub could not be reached: a
    connection failure or a timeout of its HTTP client, a `ConnectionError` (huggingface_hub's
    offline mode, `datasets`' "Couldn't reach ... on the Hub")."""
    return any(
        isinstance(link, (httpx2.TransportError, ConnectionError)) for link in error_chain(error)
    )


def hub_error(
    error: BaseException, where: str, dataset: str | None = None
) -> HubUnreachableError | None:
    """`HubUnreachableError` for a Hub call's failure that `unreachable` recognises (`where`
    names the argument and the id), else None. Where the Hub cache holds a download of the
    repo `dataset` (`huggingface-cli download --repo-type dataset`), the message names its
    folder: `datasets` never loads a Hub id from it (offline, only from the rows an earlier
    `load_dataset` of the id prepared), but it loads as a local build folder."""
    if not unreachable(error):
        return None
    reason = load_error_line(error)
    folder = hub_download_folder(dataset) if dataset else None
    if folder is not None:
        return HubUnreachableError(
            f"{where}: the Hub cannot be asked ({reason}), and `datasets` loads a Hub id "
            "without it only from the rows of an earlier load, not from its download in the "
            f"Hub cache; pass that download's folder instead: {folder}"
        )
    if datasets.config.HF_HUB_OFFLINE:
        return HubUnreachableError(
            f"{where}: HF_HUB_OFFLINE=1 is set and no copy of it is cached ({reason}); "
            "unset HF_HUB_OFFLINE to download it, or pass a local build folder"
        )
    return HubUnreachableError(
        f"{where}: cannot reach the Hub ({reason}); check the connection, set "
        "HF_HUB_OFFLINE=1 to use the copy in the Hugging Face cache, or pass a local build folder"
    )


def hub_download_folder(dataset: str) -> str | None:
    """The folder of the Hub cache's download of the dataset repo `dataset` at main (its
    snapshot, with its card `README.md`), or None when the cache holds none."""
    from huggingface_hub import try_to_load_from_cache

    try:
        card = try_to_load_from_cache(dataset, "README.md", repo_type="dataset")
    except ValueError:  # not a repo id
        return None
    return os.path.dirname(card) if isinstance(card, str) else None


def not_the_dataset(error: BaseException) -> BaseException | None:
    """What to raise unchanged instead of an error naming the dataset, for an error that
    `load_kb` (or a `datasets` call on a build folder or Hub id) raised: a
    `HubUnreachableError`, or the system error in its chain (`system_error`: the datasets
    cache read-only or full, a permission); None for a fault of the dataset itself (a
    `DatasetInputError`, which names its own files, or an error of no such kind)."""
    if isinstance(error, HubUnreachableError):
        return error
    if isinstance(error, DatasetInputError):
        return None
    return system_error(error)


def load_error_line(error: BaseException) -> str:
    """The first line of `error`'s message, of its cause's for a `datasets` wrapper
    (\"An error occurred while generating the dataset\"), else its type's name."""
    if isinstance(error, datasets.exceptions.DatasetGenerationError) and error.__cause__:
        error = error.__cause__
    return first_line(error)


def error_chain(error: BaseException) -> list[BaseException]:
    """`error`, its cause (or context), theirs and so on, each once."""
    links: list[BaseException] = []
    link: BaseException | None = error
    while link is not None and all(link is not seen for seen in links):
        links.append(link)
        link = link.__cause__ or link.__context__
    return links


__all__ = [
    "DISK_FULL",
    "error_chain",
    "UNREADABLE",
    "DatasetInputError",
    "HubUnreachableError",
    "hub_download_folder",
    "hub_error",
    "load_error_line",
    "not_the_dataset",
    "system_error",
    "unreachable",
]
