"""`results/completion.json` against the code of today: its own export and build commands
(its `notes`) rebuild the dataset it measured, so every model-free number it states comes
out again (hidden facts, queries, link projection). A builder change that moves the split
makes this fail: the committed figures must then be measured again."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from prixlm.completion.knowledge import completion_queries
from prixlm.completion.loading import load_completion_kb
from prixlm.completion.measure import (
    hidden_facts,
    link_projection,
    precision_recall,
    seen_in_training,
)
from prixlm.data.cldr.export import main as export_main
from prixlm.data.dbpedia.build import main as build_main

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("babel")


def _argv(command: str, prefix: str, folder: Path) -> list[str]:
    """The arguments of `python -m <module> ...`, its folders moved under `folder`."""
    words = shlex.split(command.replace(prefix, str(folder)))
    assert words[:2] == ["python", "-m"]
    return words[3:]


def test_the_committed_report_is_rebuilt_from_its_own_commands(tmp_path):
    report = json.loads((ROOT / "results" / "completion.json").read_text("utf-8"))
    notes = report["notes"]
    prefix = shlex.split(notes["export_command"])[-1].rsplit("/", 1)[0]  # the run's folder
    export_main(_argv(notes["export_command"], prefix, tmp_path))
    assert build_main([*_argv(notes["dataset_command"], prefix, tmp_path), "--no_progress"]) == 0
    dataset = str(tmp_path / "dataset")
    target, hidden = report["target_language"], report["hidden_split"]
    probe = load_completion_kb(dataset, target)
    visible = [split for split in probe.target_rows if split != hidden]
    kb = load_completion_kb(dataset, target, target_splits=visible)
    truth = hidden_facts(kb.target_rows[hidden])
    queries, _ = completion_queries(kb.target, kb.evidence, kb.links)
    pairs = {(q.subject_id, q.relation_id) for q in queries}
    assert sum(map(len, truth.values())) == report["hidden_facts"]
    assert len(queries) == report["queries"]["queries"]
    assert (
        sum(len(o) for k, o in truth.items() if k in pairs) == report["hidden_facts_with_evidence"]
    )
    seen = {f.language: seen_in_training(truth, kb.links, dataset, f.language) for f in kb.evidence}
    assert seen == report["hidden_facts_in_evidence_train_split"]
    projected = link_projection(queries)
    for row in report["methods"]["link_projection"]:
        assert precision_recall(projected, truth, row["threshold"]) == row
