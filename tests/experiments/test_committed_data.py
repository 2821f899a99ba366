"""The committed Table 1 was measured on the dataset today's code builds: the runner's own
data step (CLDR export of the nine languages, then the build) gives the entity, triple and
split counts `results/table1.json` states. A builder change that moves them makes this fail:
the table must then be measured again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prixlm.experiments.table1_data import kb_statistics, prepare_data

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("babel")


def test_table1_counts_come_from_todays_build(tmp_path):
    table = json.loads((ROOT / "results" / "table1.json").read_text("utf-8"))
    languages = table["languages"]
    datasets = prepare_data(tmp_path, languages)
    assert kb_statistics(datasets["main"], languages) == table["kb"]
