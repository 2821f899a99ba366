"""Continuing a release on another build of its data, and the help texts of the options the
README's "Continue training a release" and "Predicted facts" name.

A release continued on a rebuild with another `--seed` trained on the rebuild's train split,
about 85% of which the release held out as test facts, and on nothing of the rebuild's test
split that the release did not already learn: evaluate_lp refuses that test split afterwards
(`continued_from.training_splits`), but train.py said nothing as the run began, so the
training ran to its end for a release that no build evaluates. It now warns at the start."""

from __future__ import annotations

import pytest

import train
from prixlm.data.dbpedia.build import build_dataset
from prixlm.data.dbpedia.schema import SplitSettings
from prixlm.training.arguments import parse_training_arguments

SETTINGS = ["--languages", "en,de", "--max_steps", "2", "--per_device_train_batch_size", "4",
            "--gradient_accumulation_steps", "1", "--lp_eval_queries", "0", "--report_to",
            "none", "--disable_tqdm", "true"]  # fmt: skip


def _continue(release, dataset, output) -> list[str]:
    return ["--base_model", str(release), "--dataset", str(dataset), "--output_dir",
            str(output), *SETTINGS]  # fmt: skip


def test_continuing_a_release_on_a_rebuild_with_another_seed_warns(
    tiny_demo_output, tmp_path, capsys
):
    release = tiny_demo_output / "run" / "model"
    rebuilt = tmp_path / "seed1"
    build_dataset(tiny_demo_output / "cldr_dumps", rebuilt, ["en", "de", "ja"],
                  settings=SplitSettings(seed=1), progress=False)  # fmt: skip
    capsys.readouterr()
    train.main(_continue(release, rebuilt, tmp_path / "on-seed1"))
    err = " ".join(capsys.readouterr().err.split())
    assert (
        f"warning: --base_model {release.resolve()} was trained on "
        f"{(tiny_demo_output / 'dataset').resolve()} (protocol fact, seed 0, test fraction "
        f"0.1, validation fraction 0.05); --dataset {rebuilt} has protocol fact, seed 1, test "
        "fraction 0.1, validation fraction 0.05: about 85% of its test split is drawn from "
        "facts the release was trained on" in err
    )
    # the build the release was trained on (the same draw): no warning
    train.main(_continue(release, tiny_demo_output / "dataset", tmp_path / "on-seed0"))
    assert "warning: --base_model" not in capsys.readouterr().err


def test_object_attention_help_does_not_call_causal_the_releases_default(capsys):
    with pytest.raises(SystemExit):
        parse_training_arguments(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "causal (default" not in text  # read as: causal is a release's default
    assert (
        "With a Prix-LM release as --base_model, the release's own mask unless given; "
        "otherwise (default: prefix_bidirectional)" in text
    )


def test_build_help_names_every_predicted_facts_line_it_refuses(capsys):
    from prixlm.data.dbpedia.build import main as build_main
    from prixlm.data.dbpedia.predicted_facts import PREDICTED_MARK

    with pytest.raises(SystemExit):
        build_main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"opens with a '{PREDICTED_MARK}' line" in text
    assert "Space's Batch tab" in text
