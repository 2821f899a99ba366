"""`make demo` a second time: it trains afresh over the first demo's run folder (a run
folder holding a release is refused by train.py, so the demo clears its own first)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("babel")


def test_the_demo_runs_again_over_an_earlier_demo(tmp_path):
    from prixlm.demo import main

    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)  # an earlier demo's release and checkpoint
    (run / "model" / "model.safetensors").write_bytes(b"the earlier weights")
    (run / "checkpoint-5").mkdir()
    main(["--output_dir", str(tmp_path), "--languages", "en,de", "--max_steps", "2",
          "--test_queries", "2", "--num_beams", "2"])  # fmt: skip
    assert (run / "model" / "model.safetensors").read_bytes() != b"the earlier weights"
    assert not (run / "checkpoint-5").exists()
    report = json.loads((tmp_path / "link_prediction_test.json").read_text("utf-8"))
    assert {lang: report["results"][lang]["num_queries"] for lang in ("en", "de")} == {
        "en": 2, "de": 2}  # fmt: skip
