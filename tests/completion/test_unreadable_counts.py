"""Completion's target labels holding a control token's text (`Radio [O]`) are left out
with a warning: they are counted too (`candidates_unreadable`), in what `prixlm.complete`
prints and in the measure JSON's `queries` (both `QueryStats.counts`), and never as too long."""

from __future__ import annotations

import pytest
from completion_kb import dataset_rows, write_dataset

from prixlm.complete import main
from prixlm.completion.loading import load_completion_kb
from prixlm.completion.propose import fitted_inputs
from prixlm.model_loading import load_prixlm


def _with_unreadable_label(tmp_path):
    """The tiny KB plus a link-only German entity labelled `Radio [O]`."""
    configs = dataset_rows()
    link = configs["links"]["train"][0]
    configs["links"]["train"].append(
        {**link, "subject": "Radio [O]", "subject_language": "de", "object_language": "en",
         "subject_id": "http://de.dbpedia.org/resource/Radio", "object": "Radio",
         "object_id": "http://dbpedia.org/resource/Radio", "all_objects": ["Radio"]}
    )  # fmt: skip
    return write_dataset(tmp_path / "unreadable", configs)


def test_unreadable_target_labels_are_counted(completion_kb, tmp_path, capsys):
    _, model = completion_kb
    dataset = _with_unreadable_label(tmp_path)
    loaded, tokenizer = load_prixlm(str(model), "cpu")
    kb = load_completion_kb(str(dataset), "de", target_splits=["train"])
    with pytest.warns(UserWarning, match=r"completion: 1 of the \d+ candidate labels hold"):
        inputs = fitted_inputs(loaded, tokenizer, kb)
    stats = inputs.stats
    assert (stats.candidates_unreadable, stats.candidates_too_long) == (1, 0)
    assert "Radio [O]" not in inputs.candidates
    assert stats.candidates == len(inputs.candidates) + 1
    assert stats.counts()["candidates_unreadable"] == 1

    output = tmp_path / "x.nt"
    argv = ["--model", str(model), "--dataset", str(dataset), "--target_language", "de",
            "--output", str(output), "--num_beams", "5", "--no_progress",
            "--target_splits", "train", "--threshold", "0.3"]  # fmt: skip
    with pytest.warns(UserWarning, match="hold the text of one of the model's control tokens"):
        main(argv)
    printed = capsys.readouterr().out
    assert ", candidates_too_long 0, candidates_unreadable 1," in printed
