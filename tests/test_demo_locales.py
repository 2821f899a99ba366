"""`python -m prixlm.demo --languages en,zh_Hant`: the demo takes CLDR locale ids (as its help
says) and names the dataset's configs by the codes the export writes (`zh-hant`) from the
build on."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("babel")


def test_locale_ids_become_the_datasets_codes() -> None:
    from prixlm.demo import dataset_languages

    assert dataset_languages(["en", "zh_Hant", "pt_BR", "de"]) == ["en", "zh-hant", "pt-br", "de"]


def test_the_demo_runs_with_a_locale_id_that_is_not_a_code(tmp_path) -> None:
    from prixlm.demo import main

    main(["--output_dir", str(tmp_path), "--languages", "en,zh_Hant", "--max_steps", "1",
          "--test_queries", "1", "--num_beams", "1"])  # fmt: skip
    report = json.loads((tmp_path / "link_prediction_test.json").read_text("utf-8"))
    assert sorted(report["results"]) == ["en", "zh-hant"]
    summary = json.loads((tmp_path / "demo_summary.json").read_text("utf-8"))
    assert summary["languages"] == ["en", "zh-hant"]
    assert (tmp_path / "dataset" / "zh-hant").is_dir()


def test_an_unknown_locale_is_named_before_any_work(tmp_path, capsys) -> None:
    from prixlm.demo import main

    with pytest.raises(SystemExit) as stopped:
        main(["--output_dir", str(tmp_path / "out"), "--languages", "en,zh_Hont"])
    assert stopped.value.code == 2
    assert "zh_Hont" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
