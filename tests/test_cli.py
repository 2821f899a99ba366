"""The command lines' shared vocabulary: old option spellings are renamed with a warning."""

from __future__ import annotations

from prixlm.cli import renamed_options


def test_old_spellings_are_renamed_with_one_warning_each(capsys):
    renames = {"--config": "--languages", "--dataset_dir": "--dataset"}
    argv = ["--config", "en,de", "--dataset_dir=data/", "--split", "test", "--configs", "x"]
    assert renamed_options(argv, renames) == [
        "--languages", "en,de", "--dataset=data/", "--split", "test", "--configs", "x"
    ]  # fmt: skip
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "warning: --config is deprecated: use --languages (the old spelling is accepted until "
        "the next release)",
        "warning: --dataset_dir is deprecated: use --dataset (the old spelling is accepted "
        "until the next release)",
    ]
    assert renamed_options(["--languages", "en"], renames) == ["--languages", "en"]
    assert capsys.readouterr().err == ""


COMMANDS = [
    "prixlm.demo", "prixlm.complete", "prixlm.publish", "prixlm.link_prediction.evaluate_lp",
    "prixlm.release.model_card", "prixlm.release.convert_official", "prixlm.data.cldr.export",
    "prixlm.data.dbpedia.build", "prixlm.similarity.mirror", "prixlm.similarity.plain_mlm",
    "prixlm.similarity.bli_cldr", "prixlm.similarity.xel", "prixlm.similarity.probing",
    "prixlm.similarity.probing_export", "prixlm.similarity.study", "prixlm.experiments.table1",
    "prixlm.experiments.ablations", "prixlm.experiments.table1_docs", "prixlm.completion.measure",
    "prixlm.experiments.kge_search", "prixlm.similarity.study_docs",
]  # fmt: skip


def test_every_usage_line_is_the_command_to_type(capsys):
    """`--help` says `python -m prixlm...`, not `demo.py` (what argparse takes from argv[0])."""
    import importlib

    import pytest

    for module in COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            importlib.import_module(module).main(["--help"])
        assert exit_info.value.code == 0, module
        usage = " ".join(capsys.readouterr().out.split())
        assert usage.startswith(f"usage: python -m {module} "), (module, usage[:80])
