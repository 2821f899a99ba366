"""Options of model selection and evaluation that training does not run are refused or
warned of; checkpoints are kept as asked; a run a callback stops (a time budget, a flat
validation curve) keeps its last link prediction point in its last checkpoint, writes no
checkpoint with `--save_strategy no`, and records and shows the schedule it trained; the
flat curve ranks the job's candidates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from parsed_options import BASE, refused
from test_train_runs import _args
from transformers import TrainerCallback

from prixlm.experiments.curve import FlatRule, ValidationCurve
from prixlm.experiments.time_budget import TimeBudget
from prixlm.training.arguments import parse_training_arguments
from prixlm.training.pretrain import pretrain


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--metric_for_best_model", "lp_en/mrr"], "error: --metric_for_best_model lp_en/mrr: not supported (it chooses the checkpoint of the best evaluation, and training runs no evaluation"),
        (["--greater_is_better", "true"], "error: --greater_is_better True: not supported (it chooses the checkpoint of the best evaluation"),
        (["--lp_eval_beams", "0"], "error: --lp_eval_beams 0: at least 1 (the beam size K)"),
        (["--lp_eval_queries", "-5"], "error: --lp_eval_queries -5: at least 0 (0: no link prediction at the checkpoints)"),
    ],
)  # fmt: skip
def test_selection_options_and_bad_lp_values_are_one_error_line(capsys, options, message):
    """They were accepted and ignored (the release's record named a selection metric), or
    failed after the tokenizer's training (beams 0), or meant "off" recorded as -5."""
    assert message in refused(capsys, *options)


def test_evaluation_options_are_warned_of_once_and_only_when_given(capsys):
    parse_training_arguments(
        [*BASE, "--do_eval", "true", "--eval_steps=5", "--per_device_eval_batch_size", "2"]
    )
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [
        "warning: --do_eval, --eval_steps, --per_device_eval_batch_size: no effect (training "
        "runs no evaluation loop: link prediction is evaluated on every checkpoint instead, "
        "see --save_steps and --lp_eval_queries)"
    ]
    parse_training_arguments([*BASE, "--lp_eval_split", "train"])
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--do_eval", "true"),
        ("--eval_steps", "5"),
        ("--per_device_eval_batch_size", "2"),
        ("--eval_delay", "5"),
        ("--eval_accumulation_steps", "2"),
        ("--prediction_loss_only", "true"),
    ],
)
def test_each_evaluation_option_alone_is_warned_of(capsys, option, value):
    """Every option of the Trainer's evaluation loop, given alone, is named in the warning."""
    parse_training_arguments([*BASE, option, value])
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [
        f"warning: {option}: no effect (training runs no evaluation loop: link prediction "
        "is evaluated on every checkpoint instead, see --save_steps and --lp_eval_queries)"
    ]


def test_a_curve_on_test_facts_is_warned_of(capsys):
    parse_training_arguments([*BASE, "--lp_eval_split", "test"])
    assert capsys.readouterr().err.startswith(
        "warning: --lp_eval_split test: the checkpoint link prediction curve is taken on test facts"
    )
    parse_training_arguments([*BASE, "--lp_eval_split", "test", "--lp_eval_queries", "0"])
    assert "warning" not in capsys.readouterr().err  # no curve, nothing taken on test


def test_a_negative_save_total_limit_keeps_every_checkpoint(tiny_dataset_dir, tmp_path):
    """-1 deleted every checkpoint right after it was written, the newest one included
    (the Trainer's meaning of a value <= 0: keep all)."""
    run = tmp_path / "run"
    argv = _args(tiny_dataset_dir, run, "--max_steps", "4", "--save_steps", "2",
                 "--save_total_limit", "-1")  # fmt: skip
    pretrain(parse_training_arguments(argv))
    assert sorted(p.name for p in run.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]


def _flat_curve() -> ValidationCurve:
    """Flat at step 6: points at 2, 4, 6, none better than the first."""
    return ValidationCurve(lambda model, tokenizer: {"mean": 1.0}, every=2, rule=FlatRule(2))


def _lp_steps(checkpoint: Path) -> list[int]:
    history = json.loads((checkpoint / "trainer_state.json").read_text())["log_history"]
    return [e["step"] for e in history if any(k.startswith("lp_") for k in e)]


def _card_rows(release: Path) -> list[str]:
    return [line for line in (release / "README.md").read_text().splitlines() if "|" in line]


@pytest.fixture(scope="module")
def flat_run(tiny_dataset_dir, tmp_path_factory) -> tuple[Path, list[list[str]]]:
    """A run of `--max_steps 40` that the flat curve stops at step 6 (checkpoints every 4),
    its checkpoint link prediction on the train split; and the titles of every plot saved."""
    from matplotlib.figure import Figure

    titles: list[list[str]] = []
    original = Figure.savefig

    def savefig(figure, *args, **kwargs):
        titles.append([axis.get_title() for axis in figure.axes])
        return original(figure, *args, **kwargs)

    run = tmp_path_factory.mktemp("flat") / "run"
    argv = _args(tiny_dataset_dir, run, "--max_steps", "40", "--save_steps", "4",
                 lp_eval_queries="2", lp_eval_beams="2", lp_eval_split="train")  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Figure, "savefig", savefig)
        pretrain(parse_training_arguments(argv), [_flat_curve()])
    return run, titles


def test_the_stop_steps_checkpoint_holds_its_link_prediction_point(flat_run):
    """Its point was computed after the checkpoint was written: a release rewritten from
    the checkpoint reported the previous point's numbers for the step-6 weights."""
    run, _ = flat_run
    assert sorted(p.name for p in run.glob("checkpoint-*")) == ["checkpoint-4", "checkpoint-6"]
    assert _lp_steps(run / "checkpoint-6") == [0, 4, 6]
    results = json.loads((run / "model" / "train_results.json").read_text())
    assert [point["step"] for point in results["checkpoint_link_prediction"]] == [0, 4, 6]


def test_a_flat_stopped_release_records_and_shows_the_steps_it_trained(flat_run):
    """The card said `max_steps | 40` for a model trained 6 steps."""
    run, _ = flat_run
    results = json.loads((run / "model" / "train_results.json").read_text())
    assert results["trained_schedule"] == {
        "last_step": 6, "max_steps_given": 40, "warmup_steps": 2, "decay_to_zero_at": 40,
        "stopped_by": "flat curve",
    }  # fmt: skip
    rows = _card_rows(run / "model")
    assert "| steps trained | 6 of --max_steps 40 (stopped by: flat curve) |" in rows
    assert "| warmup_steps | 2 steps, then linear decay to 0 at step 40 (given: 2) |" in rows
    assert not [row for row in rows if row.startswith("| max_steps |")]


def test_an_annealed_release_records_and_shows_its_anneal(tiny_dataset_dir, tmp_path):
    """Flat at step 6 with `anneal_share` 0.4 (2.4 steps, a whole step more: 3): the
    learning rate decays from its value at step 6 (the linear schedule's 34/38 there: a
    2-step warm-up, decay to 0 at step 40) to 0 at step 9, where the run stops; the record
    and the card say so."""
    curve = ValidationCurve(
        lambda model, tokenizer: {"mean": 1.0}, every=2, rule=FlatRule(2), anneal_share=0.4
    )
    argv = _args(tiny_dataset_dir, tmp_path / "run", "--max_steps", "40", "--save_steps", "100")
    release = pretrain(parse_training_arguments(argv), [curve])
    results = json.loads((release / "train_results.json").read_text())
    factor = (40 - 6) / (40 - 2)
    assert results["trained_schedule"] == {
        "last_step": 9, "max_steps_given": 40, "warmup_steps": 2, "decay_to_zero_at": 40,
        "stopped_by": "flat curve, then annealed",
        "anneal": {"from_step": 6, "to_step": 9, "lr_factor": pytest.approx(factor)},
    }  # fmt: skip
    rows = _card_rows(release)
    assert "| steps trained | 9 of --max_steps 40 (stopped by: flat curve, then annealed) |" in rows
    assert (
        "| warmup_steps | 2 steps, then linear decay to 0 at step 40 (given: 2); from step 6 "
        "annealed from 0.895 × the learning rate to 0 at step 9 |"
    ) in rows


def test_the_curve_plot_names_the_split_it_sampled(flat_run):
    """It said "validation sample" for a curve taken on train."""
    _, titles = flat_run
    assert ["link prediction hits_at_1, train sample", "link prediction MRR@K (beam), train "
            "sample", "training loss"] in titles  # fmt: skip
    assert not [title for plot in titles for title in plot if "validation" in title]


def test_a_flat_stop_writes_no_checkpoint_with_save_strategy_no(tiny_dataset_dir, tmp_path):
    """It wrote a full checkpoint (optimizer state included) at the flat step."""
    run = tmp_path / "run"
    argv = _args(tiny_dataset_dir, run, "--max_steps", "40", "--save_strategy", "no")
    pretrain(parse_training_arguments(argv), [_flat_curve()])
    assert list(run.glob("checkpoint-*")) == []
    results = json.loads((run / "model" / "train_results.json").read_text())
    assert results["trained_schedule"]["last_step"] == 6


def test_a_time_budget_release_records_and_shows_the_schedule_it_trained(
    tiny_dataset_dir, tmp_path
):
    """The card and record said a warm-up of 6% of 40 steps, decaying at step 40; the budget
    trained a 3-step warm-up decaying to 0 at step 20, where it stopped."""
    clock = [0.0]

    class Tick(TrainerCallback):  # one second a step
        def on_step_end(self, args, state, control, **kwargs):
            clock[0] += 1.0

    guard = TimeBudget(20.0, calibrate_at=12, warmup_steps=3)  # 1 step/s: step 20
    guard.clock = lambda: clock[0]
    guard.started = guard.marked = 0.0
    run = tmp_path / "run"
    argv = _args(tiny_dataset_dir, run, "--max_steps", "40", "--save_steps", "100",
                 warmup_steps="0.06")  # fmt: skip
    release = pretrain(parse_training_arguments(argv), [Tick(), guard])
    results = json.loads((release / "train_results.json").read_text())
    assert results["trained_schedule"] == {
        "last_step": 20, "max_steps_given": 40, "warmup_steps": 3, "decay_to_zero_at": 20,
        "stopped_by": "time budget",
    }  # fmt: skip
    rows = _card_rows(release)
    assert "| steps trained | 20 of --max_steps 40 (stopped by: time budget) |" in rows
    assert (
        "| warmup_steps | 3 steps, then linear decay to 0 at step 20 (given: 6% of steps) |"
    ) in rows


def test_the_flat_curve_ranks_among_the_jobs_candidates(tiny_dataset_dir, tmp_path, monkeypatch):
    """With a candidates file the job ranked its evaluation among the file's labels and the
    curve that stops training among the dataset's own."""
    from prixlm.experiments import curve as curve_module
    from prixlm.experiments.prixlm_jobs import _curve_record, prixlm_job
    from prixlm.link_prediction import fitted_scoring, scorer
    from prixlm.link_prediction.candidate_files import dataset_candidates

    own = dataset_candidates(str(tiny_dataset_dir), ["en", "de"])
    extra = {"en": ["Extra one"], "de": ["Extra one", "Extra two"]}  # lists of other sizes
    listed = {language: [*labels, *extra[language]] for language, labels in own.items()}
    candidates_file = tmp_path / "candidates.json"
    candidates_file.write_text(json.dumps(listed), encoding="utf-8")

    class Made(Exception):
        pass

    made = []
    real = curve_module.curve_callback

    def curve_callback(*args, **kwargs):
        made.append(real(*args, **kwargs))
        raise Made  # the job's training is not needed here

    monkeypatch.setattr(curve_module, "curve_callback", curve_callback)
    ranked = []
    monkeypatch.setattr(scorer, "PrixLMScorer", lambda *args: None)
    # each language's MRR is its number of labels: the curve's point says which it ranked
    monkeypatch.setattr(fitted_scoring, "fitted_scorer_protocols",
                        lambda s, rows, labels, **kw: ranked.append(list(labels))
                        or {"ours": {"mrr": len(labels)}})  # fmt: skip
    with pytest.raises(Made):
        prixlm_job(str(tiny_dataset_dir), str(tmp_path / "run"), ["en", "de"], "all", "tok", {},
                   candidates_file=str(candidates_file), curve_every=2, curve_metric="mrr",
                   curve_queries=2)  # fmt: skip
    (curve,) = made
    assert curve.candidate_counts == {"en": len(listed["en"]), "de": len(listed["de"])}
    en, de = len(listed["en"]), len(listed["de"])
    assert en != de and en != len(own["en"])  # the point tells the lists apart
    assert curve.evaluate(None, None) == {"mean": (en + de) / 2, "en": en, "de": de}
    assert sorted(ranked) == sorted(listed.values())
    settings = {"metric": "mrr", "every": 2, "queries": 2, "flat_window": 3, "flat_min_gain": 0.0}
    record = _curve_record(settings, curve, TimeBudget(None))
    assert record["candidates"] == {"en": len(listed["en"]), "de": len(listed["de"])}
