"""The flatness rule of Prix-LM (All)'s validation curve, and the callback that applies it."""

from __future__ import annotations

import pytest
from transformers import TrainerControl, TrainerState

from prixlm.experiments.curve import FlatRule, ValidationCurve

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
