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
    # what the card checks a kept report by, as evaluate_lp records it: the weights evaluated
    # (a report of earlier weights is refused) and the dataset folder by its absolute path
    from prixlm.release.card_results import WEIGHTS_DIGEST, weights_digest

    assert report[WEIGHTS_DIGEST] == weights_digest(run / "model") is not None
    assert report["dataset_folder"] == str((tmp_path / "dataset").resolve()) == report["dataset"]
    assert report["dtype"] == "float32"
    kept = json.loads((run / "model" / "evaluation_results.json").read_text("utf-8"))
    assert kept[-1][WEIGHTS_DIGEST] == report[WEIGHTS_DIGEST]


def test_a_stopped_demo_leaves_no_results_of_the_earlier_model(tmp_path, monkeypatch):
    """Killed during training, a re-run left the earlier demo's `demo_summary.json` and
    `link_prediction_test.json` beside the new run, describing a model no longer there."""
    import prixlm.data.cldr.export
    import prixlm.data.dbpedia.build
    import prixlm.training.pretrain
    from prixlm.demo import main

    for name, text in (("demo_summary.json", '{"max_steps": 1000}'),
                       ("link_prediction_test.json", '{"results": {}}')):  # fmt: skip
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "run" / "model").mkdir(parents=True)

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt  # the demo stopped while it trains

    monkeypatch.setattr(prixlm.data.cldr.export, "export_cldr_kb", lambda *a, **k: {})
    monkeypatch.setattr(prixlm.data.dbpedia.build, "build_dataset", lambda *a, **k: None)
    monkeypatch.setattr(prixlm.training.pretrain, "pretrain", stopped)
    with pytest.raises(SystemExit, match="130"):  # Ctrl-C: "interrupted", exit 130
        main(["--output_dir", str(tmp_path), "--languages", "en,de", "--max_steps", "2"])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run"]
    assert not any((tmp_path / "run").iterdir())
