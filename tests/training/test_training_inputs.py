"""What train.py reads from a dataset folder: the tokenizer's texts, the links, odd paths."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "completion"))

from completion_kb import dataset_rows, link_row, write_dataset  # noqa: E402

from prixlm.data.loading import load_kb  # noqa: E402
from prixlm.training.data import load_training_rows, tokenizer_training_texts  # noqa: E402


def test_labels_only_links_have_train_the_tokenizer_once(tmp_path):
    """An entity linked but in no fact: its labels reached the model as `<unk>` pieces."""
    configs = dataset_rows()
    facts_only = tokenizer_training_texts(write_dataset(tmp_path / "a", configs), ["en", "de"])
    omega = {**link_row("Atlantis", "en", "de"), "subject": "Ωmega Ψ", "object": "Ωmega Ψ (de)"}
    configs["links"]["train"] += [omega, {**omega}]
    texts = tokenizer_training_texts(write_dataset(tmp_path / "b", configs), ["en", "de"])
    assert texts == [*facts_only, "Ωmega Ψ", "Ωmega Ψ (de)"]
    # one language: the link ends in it (its candidates), not the other end
    english = tokenizer_training_texts(tmp_path / "b", ["en"])
    assert "Ωmega Ψ" in english and "Ωmega Ψ (de)" not in english


def test_a_dataset_without_links_trains_its_triples(tmp_path, capsys):
    """Dumps without link files: `--variant all` (the default) failed naming --languages."""
    configs = dataset_rows()
    del configs["links"]
    folder = write_dataset(tmp_path / "no_links", configs)
    rows = load_training_rows(folder, ["en", "de"], "all")
    assert set(rows["kind"]) == {"triple"}
    assert len(rows) == len(configs["en"]["train"]) + len(configs["de"]["train"])
    assert (
        "has no links config: training on the languages' triples alone" in capsys.readouterr().err
    )


def test_a_folder_path_with_pattern_characters_loads(tmp_path):
    """`runs[1]/dataset` was read as a glob pattern: no data files, or another folder's."""
    configs = dataset_rows()
    folder = write_dataset(tmp_path / "runs[1]" / "dataset", configs)
    (tmp_path / "runs1").mkdir()  # what the pattern would match
    write_dataset(tmp_path / "runs1" / "dataset", {"en": {"train": configs["en"]["train"][:1]}})
    rows = load_kb(folder, "en", split="train")
    assert len(rows) == len(configs["en"]["train"]) > 1


def test_a_vocabulary_smaller_than_the_datasets_characters_is_an_error_line(tmp_path, capsys):
    """A KG with many characters (DBP-5L el + ja: 1,280) and the tiny runs' vocabulary ended
    `train.py` with a `ValueError` traceback from the tokenizer trainer."""
    import pytest

    import train

    folder = write_dataset(tmp_path / "data", dataset_rows())
    characters = len(set("".join(tokenizer_training_texts(folder, ["en", "de"]))))
    argv = ["--dataset", str(folder), "--languages", "en,de", "--output_dir",
            str(tmp_path / "run"), "--tokenizer_vocab_size", "20", "--lp_eval_queries", "0",
            "--report_to", "none"]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        train.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"error: --tokenizer_vocab_size 20: too small for the {characters:,} "
        f"distinct characters of the texts; choose at least {characters + 5}"
    )
    assert not (tmp_path / "run" / "model").exists()
