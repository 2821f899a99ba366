"""prixlm.completion.measure records what its scores depend on beyond the model and data:
the decoding batch size (another one can change a score's last digits, so a fact right at a
threshold goes in or out) and the torch threads; "deterministic" is said for those only."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from prixlm.completion.measure import main
from prixlm.completion.results_docs import results_block


def test_the_report_records_its_decoding_batch_and_threads(completion_kb, tmp_path):
    dataset, model = completion_kb
    argv = ["--model", str(model), "--dataset", str(dataset), "--target_language", "de",
            "--num_beams", "5", "--max_per_pair", "2"]  # fmt: skip
    default = main([*argv, "--output", str(tmp_path / "default.json")])
    assert default["batch_size"] == 8  # the CPU default, resolved, not null
    assert default["torch_num_threads"] == torch.get_num_threads()
    assert default["torch_version"] == torch.__version__
    assert default["decoding"].startswith("deterministic for a given batch_size, torch_num_threads")
    given = main([*argv, "--batch_size", "3", "--output", str(tmp_path / "three.json")])
    assert json.loads((tmp_path / "three.json").read_text("utf-8"))["batch_size"] == 3
    block = results_block(given)
    assert f"Decoding: 3 queries per forward, {torch.get_num_threads()} torch threads" in block


def test_a_report_without_them_renders_as_before():
    """results/completion.json predates the fields: its block has no decoding line."""
    root = Path(__file__).resolve().parents[2]
    report = json.loads((root / "results" / "completion.json").read_text(encoding="utf-8"))
    assert "batch_size" not in report and "Decoding:" not in results_block(report)
