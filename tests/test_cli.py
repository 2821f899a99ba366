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
