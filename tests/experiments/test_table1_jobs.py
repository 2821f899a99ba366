"""`make table1`'s jobs started again (after a stop while ranking or while training) and
All's anneal, at toy size (the run in conftest.py's `table1_toy_run`)."""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("pykeen")

from prixlm.experiments import table1  # noqa: E402


def test_a_job_stopped_after_training_only_ranks_again(table1_toy_run, capsys):
    """All's job lost its record and one language's kept ranking (stopped while ranking):
    started again, it reuses the kept release (weights untouched, same steps and curve) and
    ranks only what is missing, to the same metrics."""
    root, argv, table = table1_toy_run
    record_file = root / "work" / "jobs" / "all-lr1e3.json"
    run_dir = root / "work" / "runs" / "all-lr1e3"
    weights = run_dir / "model" / "model.safetensors"
    original, written = record_file.read_text("utf-8"), weights.stat().st_mtime_ns
    record = json.loads(original)
    kept_en = run_dir / "job_eval" / "test-en.json"
    kept_de = run_dir / "job_eval" / "test-de.json"
    de_written = kept_de.stat().st_mtime_ns
    try:
        record_file.unlink()
        kept_en.unlink()
        again = table1.main(argv)
        assert "8 of 9 jobs already done" in capsys.readouterr().out
        renewed = json.loads(record_file.read_text("utf-8"))
        assert renewed["evaluated_again"] is True and weights.stat().st_mtime_ns == written
        for key in ("steps", "train_seconds", "command", "curve", "test", "validation"):
            assert renewed[key] == record[key], key
        assert kept_en.is_file() and kept_de.stat().st_mtime_ns == de_written
        assert again["methods"] == table["methods"]
        docs = (root / "docs" / "results.md").read_text("utf-8")
        assert re.search(r"`all-lr1e3`: \d+ steps.*, trained by an earlier start of the run", docs)
    finally:
        record_file.write_text(original, "utf-8")
        table1.main(argv)  # the outputs of the untouched records again


def test_a_job_stopped_mid_training_goes_on_from_its_last_checkpoint(table1_toy_run, tmp_path):
    """Stopped after its step-10 checkpoint, All's job started again trains steps 11-20
    only, with the curve's first points kept, and ends where an uninterrupted job ends."""
    from transformers import TrainerCallback

    import prixlm.training.pretrain as pretrain_module
    from prixlm.experiments.kept_runs import PROGRESS_FILE
    from prixlm.experiments.prixlm_jobs import prixlm_job
    from prixlm.experiments.profiles import get_profile

    root, _, _ = table1_toy_run
    work = root / "work"
    settings = {**get_profile("toy")["prixlm"], "max_steps": 20, "save_steps": 5}
    arguments = {"dataset_dir": str(work / "data"), "languages": ["en", "de"], "variant": "all",
                 "tokenizer_dir": str(work / "tokenizer"), "settings": settings,
                 "eval_limit": 4, "validation_limit": 4, "curve_every": 5, "flat_window": 10,
                 "score_batch": 8, "score_rows": 512}  # fmt: skip
    whole = prixlm_job(run_dir=str(tmp_path / "whole"), **arguments)

    class MachineGoesAway(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 12:
                raise KeyboardInterrupt

    real, started = pretrain_module.pretrain, []

    def pretrain(run, callbacks):
        started.append(run.training.resume_from_checkpoint)
        extra = [MachineGoesAway()] if len(started) == 1 else []
        return real(run, list(callbacks) + extra)

    pretrain_module.pretrain = pretrain
    try:
        with pytest.raises(KeyboardInterrupt):
            prixlm_job(run_dir=str(tmp_path / "stopped"), **arguments)
        kept = json.loads((tmp_path / "stopped" / PROGRESS_FILE).read_text("utf-8"))
        assert kept["step"] == 10 and [p["step"] for p in kept["curve"]["points"]] == [5, 10]
        resumed = prixlm_job(run_dir=str(tmp_path / "stopped"), **arguments)
    finally:
        pretrain_module.pretrain = real
    assert started == [None, str(tmp_path / "stopped" / "checkpoint-10")]
    assert resumed["resumed_from_step"] == 10 and resumed["steps"] == whole["steps"] == 20
    assert [p["step"] for p in resumed["curve"]["points"]] == [5, 10, 15, 20]
    for ours, theirs in zip(resumed["curve"]["points"], whole["curve"]["points"], strict=True):
        assert ours["mean"] == pytest.approx(theirs["mean"], rel=1e-4)
    for split in ("validation", "test"):
        for language in ("en", "de"):
            for metric, value in whole[split][language].items():
                if metric == "ranks":  # test's per-query ranks: the same model ranks alike
                    assert resumed[split][language][metric] == value
                    continue
                assert resumed[split][language][metric] == pytest.approx(value, rel=1e-4), metric
    assert resumed["command"] == whole["command"].replace(str(tmp_path / "whole"),
                                                          str(tmp_path / "stopped"))  # fmt: skip


def test_all_with_an_anneal_share_trains_past_the_flat_point_down_to_a_zero_rate(
    table1_toy_run, tmp_path
):
    """Through the real Trainer: flat at step 4 (any gain below 10 is none), the rate then
    decays linearly from its step-4 value, aimed at 0 at step 8 (share 1.0: 4 more steps),
    where training stops."""
    from prixlm.experiments.prixlm_jobs import prixlm_job
    from prixlm.experiments.profiles import get_profile

    root, _, _ = table1_toy_run
    work = root / "work"
    settings = {**get_profile("toy")["prixlm"], "max_steps": 20, "logging_steps": 1}
    record = prixlm_job(
        run_dir=str(tmp_path / "all"), dataset_dir=str(work / "data"), languages=["en", "de"],
        variant="all", tokenizer_dir=str(work / "tokenizer"), settings=settings, eval_limit=2,
        validation_limit=2, curve_every=2, flat_window=1, flat_min_gain=10.0, anneal_share=1.0,
        splits=("validation",),
    )  # fmt: skip
    curve = record["curve"]
    assert record["steps"] == 8 and curve["flat_at"] == 4
    assert curve["stopped_by"] == "flat curve, then annealed"
    assert {k: curve["anneal"][k] for k in ("share", "from_step", "to_step")} == {
        "share": 1.0, "from_step": 4, "to_step": 8}  # fmt: skip
    assert [p["step"] for p in curve["points"]] == [2, 4, 6, 8]
    state = json.loads(next((tmp_path / "all").glob("checkpoint-*/trainer_state.json")).read_text())
    # the Trainer logs at step s the rate step s used: the anneal's begin at step 5
    rates = {e["step"]: e["learning_rate"] for e in state["log_history"] if "learning_rate" in e}
    at_flat = settings["learning_rate"] * curve["anneal"]["lr_factor"]
    assert rates[4] > at_flat > 0  # the decay goes on from where it was
    assert [rates[s] for s in (5, 6, 7, 8)] == pytest.approx([at_flat, at_flat * 3 / 4, at_flat / 2, at_flat / 4])  # fmt: skip
    from prixlm.experiments.table1_docs import curve_section

    table = {"details": {"Prix-LM (All)": {"selected_variant": "x", "variants": {"all-x": record}}}}
    assert (
        "Flat at step 4; the learning rate then decayed linearly to 0 over 100% more steps "
        "(to step 8); training stopped at step 8 (flat curve, then annealed)."
    ) in curve_section(table)
