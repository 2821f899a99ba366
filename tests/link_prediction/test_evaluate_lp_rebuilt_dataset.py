"""`evaluate_lp` reads each language of `--dataset` when it ranks it: a build into the folder
meanwhile (another split seed, say, for the next experiment) gave a report whose first
languages were ranked on the earlier build and the others on the new one, under one
dataset path. It now says so and writes no report."""

from __future__ import annotations

import shutil

import pytest

from prixlm.data.dbpedia.build import build_dataset
from prixlm.data.dbpedia.schema import SplitSettings
from prixlm.link_prediction import evaluation
from prixlm.link_prediction.evaluate_lp import main


def test_a_dataset_rebuilt_during_the_evaluation_gives_no_report(
    tiny_demo_output, tmp_path, monkeypatch, capsys
):
    dataset, report = tmp_path / "dataset", tmp_path / "report.json"
    shutil.copytree(tiny_demo_output / "dataset", dataset)
    argv = ["--model", str(tiny_demo_output / "run" / "model"), "--dataset", str(dataset),
            "--languages", "en,de", "--limit", "2", "--num_beams", "2"]  # fmt: skip
    assert set(main([*argv, "--output", str(report)])["results"]) == {"en", "de"}  # as it is

    ranked, evaluate_config = [], evaluation.evaluate_config

    def rebuilt_after_the_first(model, tokenizer, splits, config, *args, **kwargs):
        """Rank `config`; after the first, the folder is built again with another seed."""
        results = evaluate_config(model, tokenizer, splits, config, *args, **kwargs)
        ranked.append(config)
        if len(ranked) == 1:
            build_dataset(tiny_demo_output / "cldr_dumps", dataset, ["en", "de", "ja"],
                          settings=SplitSettings(seed=1))  # fmt: skip
        return results

    monkeypatch.setattr(evaluation, "evaluate_config", rebuilt_after_the_first)
    report.unlink()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--output", str(report)])
    assert exit_info.value.code == 2 and ranked == ["en", "de"]
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: --dataset {dataset}: its files changed while it was evaluated (a build into "
        "it?): the languages ranked before and after come from different builds, and no "
        "report is written; evaluate again once nothing writes the folder"
    )
    assert not report.exists()
    monkeypatch.undo()  # nothing writes the folder now: evaluated again, it is reported
    # (the seed-1 build draws its test split from the model's training facts: ranked anyway)
    allowed = [*argv, "--allow_training_facts", "--output", str(report)]
    assert set(main(allowed)["results"]) == {"en", "de"}
