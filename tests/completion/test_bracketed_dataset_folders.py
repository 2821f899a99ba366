"""A dataset folder whose path holds `[`…`]` (`runs [1]/kb`, `Données [v2]`) is read by every
command: `train.py`, `complete` and `completion.measure` listed its configs with `datasets`'
`get_dataset_config_names`, which resolves each config's files as glob patterns under the
folder's path (`[1]` a character class) and found none: "error: --dataset ...: cannot read
its configs (Unable to find '.../de/train.parquet')", a file that is there."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from completion_kb import EXPECTED, run_complete

from prixlm.completion.measure import main as measure
from prixlm.data.loading import config_names
from prixlm.training.data import load_training_rows, resolve_languages


def bracketed_copy(dataset: Path, root: Path) -> Path:
    """`dataset` copied to `root/runs [1]/Données [v2]`, beside a folder `runs 1` that the
    path's `[1]`, read as a pattern, would match (it holds no dataset)."""
    (root / "runs 1").mkdir()
    copy = root / "runs [1]" / "Données [v2]"
    shutil.copytree(dataset, copy)
    return copy


def test_complete_reads_a_bracketed_dataset_folder_as_the_same_folder(completion_kb, tmp_path):
    dataset, model = completion_kb
    copy = bracketed_copy(dataset, tmp_path)
    assert config_names(copy) == config_names(dataset) != []
    options = ("--target_splits", "train", "--threshold", "0.3")
    proposals = run_complete(copy, model, tmp_path / "copy.nt", *options)
    assert [(p.query.subject_id, p.query.relation_id, p.object_id) for p in proposals] == [EXPECTED]
    run_complete(dataset, model, tmp_path / "plain.nt", *options)
    assert (tmp_path / "copy.nt").read_bytes() == (tmp_path / "plain.nt").read_bytes() != b""


def test_measure_reads_a_bracketed_dataset_folder(completion_kb, tmp_path):
    dataset, model = completion_kb
    copy = bracketed_copy(dataset, tmp_path)
    output = tmp_path / "completion.json"
    report = measure(
        [
            "--model", str(model), "--dataset", str(copy), "--target_language", "de",
            "--num_beams", "5", "--max_per_pair", "2", "--output", str(output),
        ]
    )  # fmt: skip
    assert json.loads(output.read_text(encoding="utf-8"))["hidden_facts"] == 1
    assert report["hidden_facts_in_evidence_train_split"] == {"en": 1}


def test_training_reads_the_languages_of_a_bracketed_dataset_folder(completion_kb, tmp_path):
    dataset, _ = completion_kb
    copy = bracketed_copy(dataset, tmp_path)
    assert resolve_languages(copy, "all") == resolve_languages(dataset, "all") == ["de", "en"]
    rows = load_training_rows(copy, ["de", "en"], "all")
    assert rows.to_list() == load_training_rows(dataset, ["de", "en"], "all").to_list()
