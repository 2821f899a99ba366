"""The training-facts check of a `--model` given by its Hub id (its `train_results.json`
fetched, or read from the Hub cache offline): a release in the cache with the file is
checked as its folder is; one whose file is not in the cache (`from_pretrained` does not
download it) said the release records no split ("a release of an earlier version, or the
official checkpoint") and ranked on: it now says the file could not be fetched."""

from __future__ import annotations

import pytest
from hub_cache import hub_repo
from huggingface_hub import constants

from prixlm.cli import UsageError
from prixlm.data.dbpedia.build import main as build_main
from prixlm.data.split_record import check_training_facts


@pytest.fixture(scope="module")
def seed1(tiny_demo_output, tmp_path_factory):
    """The demo's CLDR export built with `--seed 1`: ~85% of its test rows are training rows
    of the demo's model."""
    out = tmp_path_factory.mktemp("rebuild") / "seed1"
    argv = ["--dump_dir", str(tiny_demo_output / "cldr_dumps"), "--output_dir", str(out),
            "--languages", "en,de,ja", "--seed", "1", "--no_progress"]  # fmt: skip
    assert build_main(argv) == 0
    return out


def _check(seed1):
    return check_training_facts("me/prixlm-demo", str(seed1), "test", ["en"], False, "--split")


def test_a_cached_hub_release_is_checked_by_its_record(
    tiny_demo_output, seed1, tmp_path, monkeypatch
):
    hub_repo(tmp_path, "me/prixlm-demo", tiny_demo_output / "run" / "model")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(UsageError) as refused:
        _check(seed1)
    assert str(refused.value).startswith("--model me/prixlm-demo was trained on ")
    assert "of its test split (en) is drawn from the model's training facts" in str(refused.value)


def test_a_hub_release_without_its_record_in_the_cache_says_so(
    tiny_demo_output, seed1, tmp_path, monkeypatch, capsys
):
    hub_repo(tmp_path, "me/prixlm-demo", tiny_demo_output / "run" / "model", drop=("train_results.json",))  # fmt: skip
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    capsys.readouterr()
    assert _check(seed1) == {"result": "not read"}
    err = capsys.readouterr().err
    assert err.startswith(
        "warning: --model me/prixlm-demo: its train_results.json, which records the split it "
        "was trained on, cannot be fetched ("
    )
    assert err.endswith("): whether --split test holds facts it was trained on is not checked\n")
