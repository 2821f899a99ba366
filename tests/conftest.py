"""Shared fixtures: a tiny tokenizer trained on real-looking facts and tiny Prix-LMs."""

from __future__ import annotations

import os

# The suite runs offline, as `HF_HUB_OFFLINE=1 pytest` runs it, also where that is not set
# (`make test`, CI): set before huggingface_hub is imported (it reads it once), and passed to
# the commands the tests start. Online without a network, each lookup of a Hub id (a
# `--base_model xlm-roberta-base` resolved as a possible release) retried for ~23 s.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402
from tiny_models import TINY_LANGUAGES, make_tiny_model, tiny_texts  # noqa: E402

from modeling_prixlm.formatting import add_prixlm_tokens  # noqa: E402
from prixlm.training.tokenizer_training import train_tokenizer  # noqa: E402

# One thread: stable timings when other jobs share the 2 cores (CI, benchmarks).
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _torch_threads_kept():
    """Code under test may set torch's thread count (a job runs with its worker's count):
    the next test starts with the suite's, whatever order the tests run in."""
    threads = torch.get_num_threads()
    yield
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session", autouse=True)
def _datasets_cache_of_the_session(tmp_path_factory):
    """The `datasets` cache of this test session (each xdist worker's) in its temporary
    folder, for this process and the commands it starts: the tests load datasets from new
    temporary folders (new cache keys), which grew the user's ~/.cache/huggingface/datasets
    by tens of MB per run, never removed."""
    import datasets

    folder = tmp_path_factory.mktemp("datasets_cache")
    earlier = os.environ.get("HF_DATASETS_CACHE"), datasets.config.HF_DATASETS_CACHE
    os.environ["HF_DATASETS_CACHE"] = str(folder)
    datasets.config.HF_DATASETS_CACHE = Path(folder)
    yield folder
    if earlier[0] is None:
        os.environ.pop("HF_DATASETS_CACHE", None)
    else:
        os.environ["HF_DATASETS_CACHE"] = earlier[0]
    datasets.config.HF_DATASETS_CACHE = earlier[1]


@pytest.fixture(scope="session")
def tiny_tokenizer():
    tokenizer = train_tokenizer(tiny_texts(), vocab_size=200)
    add_prixlm_tokens(tokenizer, TINY_LANGUAGES)
    return tokenizer


@pytest.fixture(scope="session")
def tiny_prixlm(tiny_tokenizer):
    """(model, tokenizer): a random 2-layer Prix-LM in eval mode."""
    return make_tiny_model(tiny_tokenizer), tiny_tokenizer


@pytest.fixture(scope="session")
def tiny_demo_output(tmp_path_factory):
    """A tiny `make demo` output folder (tests/demo_output.py): dataset, run/model, test JSON."""
    from demo_output import make_tiny_demo_output

    return make_tiny_demo_output(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def hub_online(monkeypatch):
    """HF_HUB_OFFLINE off in this process (the tests run with it set), for a path refused
    offline; the test replaces whatever would reach the Hub."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def drawn(monkeypatch):
    """The matplotlib figures `savefig` was called on, in order (a chart's lines and legend
    are read from them, not from pixels)."""
    import matplotlib.figure

    figures = []
    original = matplotlib.figure.Figure.savefig

    def savefig(self, *args, **kwargs):
        figures.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    return figures
