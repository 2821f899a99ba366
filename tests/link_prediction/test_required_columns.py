"""`evaluate_lp` on a dataset without a column ranking reads: one `error:` line naming
`--dataset`, the config and the missing columns, before the weights load. A dataset without
`all_objects` was ranked unfiltered and reported as filtered; one without `object_language`
ended in a bare `KeyError`. A protocol that filters nothing by `all_objects` does not need it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from datasets import Dataset
from test_evaluate_lp import tiny_rows

from prixlm.link_prediction.evaluate_lp import main
from prixlm.link_prediction.evaluation import EvaluationSettings, evaluate_config


def _dataset(folder: Path, dropped: tuple[str, ...] = ()) -> Path:
    """`tiny_rows()` without the `dropped` columns as the `en` config of `folder` (the
    first 10 rows train, the others test)."""
    rows = [{k: v for k, v in row.items() if k not in dropped} for row in tiny_rows()]
    (folder / "en").mkdir(parents=True)
    Dataset.from_list(rows[:10]).to_parquet(folder / "en" / "train.parquet")
    Dataset.from_list(rows[10:]).to_parquet(folder / "en" / "test.parquet")
    (folder / "README.md").write_text(
        "---\nconfigs:\n- config_name: en\n  data_files:\n"
        "  - split: train\n    path: en/train.parquet\n"
        "  - split: test\n    path: en/test.parquet\n---\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="module")
def saved(tiny_prixlm, tmp_path_factory) -> Path:
    """The tiny model in `model`; datasets `full`, `no_all_objects`, `no_object_language`."""
    model, tokenizer = tiny_prixlm
    root = tmp_path_factory.mktemp("required_columns")
    model.save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    _dataset(root / "full")
    _dataset(root / "no_all_objects", ("all_objects",))
    _dataset(root / "no_object_language", ("object_language",))
    return root


def _argv(root: Path, dataset: str, *extra: str) -> list[str]:
    return ["--model", str(root / "model"), "--dataset", str(root / dataset),
            "--languages", "en", "--num_beams", "5", *extra]  # fmt: skip


def _refused(argv: list[str], capsys, monkeypatch) -> str:
    """The one `error:` line of a refused run, whose weights never loaded."""

    def not_loaded(*args, **kwargs):
        raise AssertionError("the weights were loaded")

    monkeypatch.setattr("prixlm.model_loading.load_prixlm", not_loaded)
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    return line


def test_a_dataset_without_all_objects_is_refused_not_ranked_unfiltered(
    saved, capsys, monkeypatch
) -> None:
    line = _refused(_argv(saved, "no_all_objects"), capsys, monkeypatch)
    assert line == (
        f"error: --dataset {saved / 'no_all_objects'}: config 'en', split 'test' has no "
        "column all_objects, which --protocol ours ranks with (its columns: kind, subject, "
        "relation, object, subject_language, object_language, subject_id, relation_id, "
        "object_id)"
    )
    full = _argv(saved, "no_all_objects", "--mode", "full", "--protocol", "raw,ours")
    assert "--protocol raw,ours ranks with" in _refused(full, capsys, monkeypatch)


def test_a_protocol_that_filters_nothing_by_all_objects_does_not_need_it(saved, capsys) -> None:
    """`raw` filters nothing, `kens` the train split's objects: the same ranks without the
    column as with it."""
    extra = ("--mode", "full", "--protocol", "raw,kens")
    without = main(_argv(saved, "no_all_objects", *extra))["results_by_protocol"]
    with_column = main(_argv(saved, "full", *extra))["results_by_protocol"]
    capsys.readouterr()
    assert without == with_column
    assert without["raw"]["en"]["num_queries"] == len(tiny_rows()) - 10


def test_a_dataset_without_object_language_is_named_not_a_key_error(
    saved, capsys, monkeypatch
) -> None:
    line = _refused(_argv(saved, "no_object_language"), capsys, monkeypatch)
    assert line.startswith(
        f"error: --dataset {saved / 'no_object_language'}: config 'en', split 'test' has no "
        "column object_language, which --protocol ours ranks with (its columns: kind, "
    )


def test_the_library_refuses_a_split_without_all_objects(tiny_prixlm, saved) -> None:
    """`evaluate_config` (which `evaluate_dataset` calls) ranked the rows unfiltered too."""
    from prixlm.data.loading import load_kb

    model, tokenizer = tiny_prixlm
    splits = load_kb(str(saved / "no_all_objects"), "en")
    settings = EvaluationSettings(mode="full", protocols=("ours",), progress=False)
    with pytest.raises(ValueError, match=r"config 'en', split 'test': no column all_objects"):
        evaluate_config(model, tokenizer, splits, "en", settings)
    raw = EvaluationSettings(mode="full", protocols=("raw",), progress=False)
    assert evaluate_config(model, tokenizer, splits, "en", raw)["raw"]["en"]["num_queries"] == 4
