"""The flatness rule of Prix-LM (All)'s validation curve, and the callback that applies it."""

from __future__ import annotations

import functools
import itertools
import json

import pytest
import torch
from transformers import TrainerControl, TrainerState

from prixlm.experiments.curve import FlatRule, ValidationCurve
from prixlm.experiments.prixlm_jobs import _curve_record
from prixlm.experiments.time_budget import _linear_lambda

RISING = [0.10, 0.20, 0.28, 0.33, 0.36, 0.38]
PLATEAU = [0.10, 0.20, 0.30, 0.340, 0.342, 0.338, 0.341, 0.339]


def test_a_rising_curve_is_not_flat_a_plateau_is():
    rule = FlatRule(window=3, min_gain=0.005)
    assert not rule.is_flat(RISING)
    # best before the last 3: 0.342; best of the last 3: 0.341 -> gain -0.001
    assert rule.gain(PLATEAU) == pytest.approx(-0.001)
    assert rule.is_flat(PLATEAU)
    assert not rule.is_flat(PLATEAU[:6])  # [..., 0.34, 0.342, 0.338]: 0.342 - 0.30 > 0.005
    assert [rule.is_flat(PLATEAU[:n]) for n in range(1, 9)] == [False] * 6 + [True, True]


def test_min_gain_and_window_decide():
    values = [0.30, 0.31, 0.314, 0.318]
    # best before the last 2 is 0.31, best of the last 2 is 0.318: gain 0.008
    assert FlatRule(window=2).gain(values) == pytest.approx(0.008)
    assert not FlatRule(window=2, min_gain=0.005).is_flat(values)
    assert FlatRule(window=2, min_gain=0.01).is_flat(values)
    assert FlatRule(window=1, min_gain=0.005).is_flat(values)  # 0.318 - 0.314 = 0.004
    assert not FlatRule(window=1, min_gain=0.003).is_flat(values)
    assert FlatRule(window=3).gain(values) == pytest.approx(0.018)
    assert FlatRule(window=4).gain(values) is None  # too short to judge
    assert not FlatRule(window=4).is_flat(values)


def test_a_loss_curve_gains_when_it_goes_down():
    loss = [4.0, 3.0, 2.5, 2.45, 2.46, 2.452]
    assert FlatRule(window=3, min_gain=0.1, higher_is_better=False).is_flat(loss)  # 2.5 -> 2.45
    assert not FlatRule(window=3, min_gain=0.01, higher_is_better=False).is_flat(loss)
    # the same falling values as an MRR (higher is better): no gain at all, flat
    assert FlatRule(window=3, min_gain=0.0).is_flat([4, 3, 2, 1, 0])
    assert not FlatRule(window=3, min_gain=0.0, higher_is_better=False).is_flat([4, 3, 2, 1, 0])
    with pytest.raises(ValueError, match="flat_window=0"):
        FlatRule(window=0)
    with pytest.raises(ValueError, match="flat_min_gain=-1"):
        FlatRule(min_gain=-1)


class _Model:
    training = True

    def eval(self):
        self.training = False

    def train(self, mode=True):
        self.training = mode


def test_the_callback_evaluates_every_n_steps_and_stops_training_when_flat():
    values = iter(PLATEAU)
    calls = []

    def evaluate(model, tokenizer):
        calls.append((model.training, tokenizer))
        return {"mean": next(values), "en": 0.0}

    curve = ValidationCurve(evaluate, every=10, rule=FlatRule(window=3, min_gain=0.005))
    state, control, model = TrainerState(max_steps=1000), TrainerControl(), _Model()
    while not control.should_training_stop:
        state.global_step += 1
        curve.on_step_end(None, state, control, model=model, processing_class="tok")
    # PLATEAU becomes flat at its 7th value: step 70
    assert state.global_step == curve.flat_at == 70
    assert state.max_steps == 70 and control.should_save  # its checkpoint says the run ended
    assert [p["step"] for p in curve.points] == [10, 20, 30, 40, 50, 60, 70]
    assert [p["mean"] for p in curve.points] == PLATEAU[:7]
    assert calls[0] == (False, "tok") and model.training  # evaluated in eval mode, restored
    curve.on_train_end(None, state, control, model=model, processing_class="tok")
    assert len(curve.points) == 7  # the last step was evaluated already


def test_without_a_rule_the_callback_only_records_and_adds_the_last_step():
    values = iter(RISING + [0.5])
    curve = ValidationCurve(lambda m, t: {"mean": next(values)}, every=4)
    state, control, model = TrainerState(max_steps=10), TrainerControl(), _Model()
    for step in range(1, 11):
        state.global_step = step
        curve.on_step_end(None, state, control, model=model)
    curve.on_train_end(None, state, control, model=model)
    assert [p["step"] for p in curve.points] == [4, 8, 10]
    assert not control.should_training_stop and curve.flat_at is None
    with pytest.raises(ValueError, match="curve_every=0"):
        ValidationCurve(lambda m, t: {}, every=0)


def _scheduled(total: int = 1000) -> torch.optim.lr_scheduler.LambdaLR:
    """An optimizer at lr 1.0 under TimeBudget's schedule: linear decay to 0 at `total`."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = functools.partial(_linear_lambda, warmup=0, total=total)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def _train(curve, scheduler, state, control, until=None):
    """Steps as the Trainer takes them: optimizer step, scheduler step, then the callback;
    returns {step: the learning rate the next step uses}."""
    rates = {}
    while not control.should_training_stop and state.global_step != until:
        scheduler.optimizer.step()
        scheduler.step()
        state.global_step += 1
        curve.on_step_end(None, state, control, model=_Model(), lr_scheduler=scheduler)
        rates[state.global_step] = scheduler.optimizer.param_groups[0]["lr"]
    return rates


def _plateau_then_level():
    return itertools.chain(PLATEAU, itertools.repeat(PLATEAU[-1]))


def test_a_flat_curve_with_an_anneal_share_decays_the_rate_to_zero_then_stops():
    values = _plateau_then_level()
    curve = ValidationCurve(lambda m, t: {"mean": next(values)}, every=10,
                            rule=FlatRule(window=3, min_gain=0.005), anneal_share=0.5)  # fmt: skip
    state, control, scheduler = TrainerState(max_steps=1000), TrainerControl(), _scheduled()
    rates = _train(curve, scheduler, state, control)
    # flat at step 70 (as without the share), then 35 more steps: 0.5 x 70
    assert curve.flat_at == 70 and curve.anneal == {"from_step": 70, "to_step": 105, "lr_factor": pytest.approx(0.93)}  # fmt: skip
    assert state.global_step == state.max_steps == 105 and control.should_save
    assert rates[69] == pytest.approx(0.931) and rates[70] == pytest.approx(0.93)  # continuous
    assert rates[88] == pytest.approx(0.93 * 17 / 35) and rates[105] == 0.0
    assert [p["step"] for p in curve.points] == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 105]
    guard = type("Guard", (), {"target": 1000, "stopped_at": 1000, "steps": 105})()
    settings = {"metric": "loss", "every": 10, "queries": 0, "flat_window": 3,
                "flat_min_gain": 0.005, "anneal_share": 0.5}  # fmt: skip
    record = _curve_record(settings, curve, guard)
    assert record["stopped_by"] == "flat curve, then annealed"
    assert record["anneal"] == {"share": 0.5, **curve.anneal} and record["flat_at"] == 70
    guard.target = guard.stopped_at = guard.steps = 90  # the time budget ended first
    assert _curve_record(settings, curve, guard)["stopped_by"] == "time budget (while annealing)"
    with pytest.raises(ValueError, match="anneal_share=-0.1"):
        ValidationCurve(lambda m, t: {}, every=1, anneal_share=-0.1)


def test_a_run_stopped_while_annealing_goes_on_with_the_same_rates():
    def run(stop_at=None):
        values = _plateau_then_level()
        curve = ValidationCurve(lambda m, t: {"mean": next(values)}, every=10,
                                rule=FlatRule(window=3, min_gain=0.005), anneal_share=0.5)  # fmt: skip
        state, control, scheduler = TrainerState(max_steps=1000), TrainerControl(), _scheduled()
        return curve, scheduler, state, _train(curve, scheduler, state, control, until=stop_at)

    _, _, _, uninterrupted = run()
    curve, scheduler, state, first = run(stop_at=90)
    # a new start: the Trainer builds its schedule again (TimeBudget's decay to 1000) and
    # loads the scheduler's state from the checkpoint; the curve is resumed from its progress
    resumed = ValidationCurve(lambda m, t: {"mean": PLATEAU[-1]}, every=10,
                              rule=FlatRule(window=3, min_gain=0.005), anneal_share=0.5)  # fmt: skip
    resumed.resume(json.loads(json.dumps(curve.progress())))
    new_scheduler = _scheduled()
    new_scheduler.load_state_dict(scheduler.state_dict())
    new_state, control = TrainerState(max_steps=1000, global_step=90), TrainerControl()
    resumed.on_train_begin(None, new_state, control, lr_scheduler=new_scheduler)
    assert new_state.max_steps == 105
    assert new_scheduler.optimizer.param_groups[0]["lr"] == pytest.approx(uninterrupted[90])
    rest = _train(resumed, new_scheduler, new_state, control)
    assert {**first, **rest} == pytest.approx(uninterrupted) and new_state.global_step == 105
    assert resumed.points == curve.points + [{"step": 100, "mean": PLATEAU[-1]},
                                             {"step": 105, "mean": PLATEAU[-1]}]  # fmt: skip
