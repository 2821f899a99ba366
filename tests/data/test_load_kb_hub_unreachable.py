"""A Hub dataset id that cannot be reached: one `error:` line naming the id and the ways to
work without the network, never a traceback, and never the dataset blamed for the cache.

`datasets.load_dataset("org/name", ...)` with the card in the Hub cache and no connection
raises huggingface_hub's `httpx2.ConnectError`, which is no `OSError`: evaluate_lp ended in a
traceback (exit status 1). The failures are raised here as `datasets` 5.2 raises them.
"""

from __future__ import annotations

import errno
from pathlib import Path

import datasets
import httpx2
import pytest

from prixlm.data.loading import has_config, load_kb

HUB_ID = "me/prixlm-kb"
OFFLINE_HINT = (
    "check the connection, set HF_HUB_OFFLINE=1 to use the copy in the Hugging Face cache, "
    "or pass a local build folder"
)


def no_connection(*args: object, **kwargs: object) -> None:
    """What `load_dataset` raises for a Hub id with no connection: huggingface_hub's
    `ConnectError` (its socket's error as context), re-raised by `datasets` `from None`."""
    try:
        raise OSError(errno.ENETUNREACH, "Network is unreachable")
    except OSError:
        raise httpx2.ConnectError("[Errno 101] Network is unreachable") from None


@pytest.fixture
def no_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No folder named like the id here; `datasets` cannot reach the Hub."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets, "load_dataset", no_connection)
    monkeypatch.setattr(datasets, "get_dataset_config_names", no_connection)


def test_evaluate_lp_says_the_hub_cannot_be_reached_in_one_line(no_hub, tmp_path, capsys):
    from prixlm.link_prediction import evaluate_lp

    argv = ["--model", str(tmp_path / "model"), "--dataset", HUB_ID, "--languages", "en",
            "--split", "test", "--output", str(tmp_path / "lp.json")]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        evaluate_lp.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines() == [
        f"error: --dataset {HUB_ID}: cannot reach the Hub "
        f"([Errno 101] Network is unreachable); {OFFLINE_HINT}"
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == []  # no output written


def test_offline_mode_without_a_cached_copy_says_what_to_unset(monkeypatch, tmp_path):
    """With HF_HUB_OFFLINE=1 and nothing cached, `datasets` raises a `ConnectionError`: the
    message said only "Couldn't reach ..."; it now names the setting to change."""
    from huggingface_hub.errors import OfflineModeIsEnabled

    def offline(*args: object, **kwargs: object) -> None:
        try:
            raise OfflineModeIsEnabled("Cannot reach https://huggingface.co: offline mode")
        except OfflineModeIsEnabled as error:
            message = f"Couldn't reach the Hugging Face Hub for dataset '{HUB_ID}': {error}"
            raise ConnectionError(message) from None

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(Exception) as raised:
        load_kb(HUB_ID, "de", "train")
    assert str(raised.value) == (
        f"--dataset {HUB_ID}: HF_HUB_OFFLINE=1 is set and no copy of it is "
        f"cached (Couldn't reach the Hugging Face Hub for dataset '{HUB_ID}': Cannot reach "
        "https://huggingface.co: offline mode); unset HF_HUB_OFFLINE to download it, or pass "
        "a local build folder"
    )


def test_has_config_of_an_unreachable_hub_id_leaves_it_to_loading(no_hub):
    """`has_config` caught only `OSError` and `ValueError`: the `ConnectError` of a Hub id
    was a traceback before loading could say what failed."""
    assert has_config(HUB_ID, "links") is True


def test_a_hub_id_with_a_read_only_cache_names_the_cache(monkeypatch, tmp_path):
    """A system error of a Hub id's load (the datasets cache read-only) passes as it is,
    naming the cache, as for a local folder; it was reported as a fault of `--dataset`."""
    cache = str(tmp_path / "hf_home" / "datasets")

    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", cache)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datasets, "load_dataset", read_only)
    with pytest.raises(OSError) as raised:
        load_kb(HUB_ID, "de", "train")
    assert (raised.value.errno, raised.value.filename) == (errno.EROFS, cache)
    assert not isinstance(raised.value, ValueError)  # not the dataset's `DatasetInputError`
