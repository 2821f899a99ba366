"""`TimeBudget`: a Trainer callback that fits the steps and the learning-rate schedule to a time
budget (wall or CPU clock), as the Table 1 and DBP-5L profiles use it."""

from __future__ import annotations

import pytest


def test_time_budget_fits_steps_and_schedule_to_the_budget(monkeypatch):
    """After calibration the last step is set from the measured rate and the linear
    schedule decays to 0 exactly there."""
    from types import SimpleNamespace

    import torch
    from transformers import TrainerControl, TrainerState
    from transformers.optimization import get_linear_schedule_with_warmup

    import prixlm.experiments.jobs as jobs
    import prixlm.experiments.time_budget as time_budget

    clock = iter(range(10**6))  # every call of time.time() is one second later
    monkeypatch.setattr(time_budget, "time", SimpleNamespace(time=lambda: float(next(clock))))
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = get_linear_schedule_with_warmup(optimizer, 10, 100_000)
    budget = jobs.TimeBudget(seconds=1000, calibrate_at=20)
    state, control = TrainerState(max_steps=100_000), TrainerControl()
    budget.on_train_begin(None, state, control)  # t = 1
    for step in range(1, 21):  # step 10 marks t = 2, step 20 reads t = 3 and t = 4
        state.global_step = step
        budget.on_step_end(None, state, control, lr_scheduler=scheduler)
    # 10 steps in 1 s; 1000 - 3 s left: 20 + 997 * 10 steps
    assert budget.target == state.max_steps == 20 + 997 * 10
    assert scheduler.lr_lambdas[0](budget.target) == 0.0
    assert scheduler.lr_lambdas[0](budget.target // 2) == pytest.approx(0.5, abs=0.05)
    assert not control.should_training_stop
    state.global_step = budget.target
    budget.on_step_end(None, state, control, lr_scheduler=scheduler)
    assert control.should_training_stop and control.should_save  # a finished run's checkpoint
    assert state.max_steps == state.global_step
    control = TrainerControl()  # but none where the run saves no checkpoints
    budget.on_step_end(SimpleNamespace(save_strategy="no"), state, control, lr_scheduler=scheduler)
    assert control.should_training_stop and not control.should_save


def test_time_budget_warmup_does_not_jump_at_calibration(monkeypatch):
    """The quick profile's All run: transformers warms up over 6% of the placeholder
    max_steps (1,200 of 20,000), the budget allows ~630. The learning rate the optimizer
    uses must rise smoothly to its peak and decay to 0 at the fitted last step; the old
    callback left it at 5e-5 until step 60 and then jumped to 1e-3 (All stayed at chance)."""
    from types import SimpleNamespace

    import torch
    from transformers import TrainerControl, TrainerState
    from transformers.optimization import get_linear_schedule_with_warmup

    import prixlm.experiments.jobs as jobs
    import prixlm.experiments.time_budget as time_budget

    clock = iter(range(10**6))  # every call of time.time() is one second later
    monkeypatch.setattr(time_budget, "time", SimpleNamespace(time=lambda: float(next(clock))))
    peak = 1e-3
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=peak)
    scheduler = get_linear_schedule_with_warmup(optimizer, 1200, 20_000)  # as Trainer makes it
    budget = jobs.TimeBudget(seconds=16, calibrate_at=60)
    state, control = TrainerState(max_steps=20_000), TrainerControl()
    budget.on_train_begin(None, state, control, lr_scheduler=scheduler)  # t = 1
    used = []  # the rate of each optimizer step, as in Trainer: step, scheduler, callback
    while not control.should_training_stop:
        used.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
        state.global_step += 1
        budget.on_step_end(None, state, control, lr_scheduler=scheduler)
    # 50 steps in 1 s (steps 10 -> 60); 16 - 3 s left: 60 + 13 * 50 steps
    assert budget.target == state.max_steps == len(used) == 60 + 13 * 50
    rises = [later - earlier for earlier, later in zip(used, used[1:], strict=False)]
    assert max(rises) == pytest.approx(peak / 60)  # linear warm-up over 60 steps, no jump
    assert max(used) == pytest.approx(peak) and used.index(max(used)) == 60
    assert used[-1] == pytest.approx(peak / (budget.target - 60))  # decays to 0 at the target
    assert all(later <= earlier for earlier, later in zip(used[60:], used[61:], strict=False))


def test_time_budget_on_the_cpu_clock_ignores_time_spent_waiting(monkeypatch):
    """Beside other jobs the wall clock runs 3x faster than this process's CPU time: the
    `cpu` budget fits the steps to CPU time (the wall budget would give a third of them)."""
    from types import SimpleNamespace

    from transformers import TrainerControl, TrainerState

    import prixlm.experiments.jobs as jobs
    import prixlm.experiments.time_budget as time_budget

    calls = iter(range(10**6))
    cpu = lambda: float(next(calls))  # noqa: E731 - one CPU second per call
    monkeypatch.setattr(
        time_budget, "time", SimpleNamespace(process_time=cpu, time=lambda: 3 * cpu())
    )
    budget = jobs.TimeBudget(seconds=1000, calibrate_at=20, clock="cpu")
    state, control = TrainerState(max_steps=100_000), TrainerControl()
    budget.on_train_begin(None, state, control)
    for step in range(1, 21):
        state.global_step = step
        budget.on_step_end(None, state, control)
    assert budget.target == 20 + 997 * 10  # as on an idle machine (the wall-clock test above)
    with pytest.raises(ValueError, match="budget_clock='gpu'"):
        jobs.TimeBudget(10, clock="gpu")


def test_time_budget_without_seconds_changes_nothing():
    from transformers import TrainerControl, TrainerState

    from prixlm.experiments.jobs import TimeBudget

    budget, state, control = TimeBudget(None), TrainerState(max_steps=50), TrainerControl()
    for step in range(1, 51):
        state.global_step = step
        budget.on_step_end(None, state, control)
    assert budget.target is None and state.max_steps == 50 and not control.should_training_stop
    assert budget.steps == 50


def test_time_budget_resumed_keeps_its_last_step_schedule_and_seconds(monkeypatch):
    """A run stopped at step 500 of a budget fitted to 1,017 steps goes on with the same
    last step (the Trainer's restored state says 100,000), the same decay, and the seconds
    already spent still counted."""
    from types import SimpleNamespace

    import torch
    from transformers import TrainerControl, TrainerState
    from transformers.optimization import get_linear_schedule_with_warmup

    import prixlm.experiments.time_budget as time_budget

    now = [0.0]
    monkeypatch.setattr(time_budget, "time", SimpleNamespace(time=lambda: now[0]))

    def run(budget, scheduler, state, last):
        control = TrainerControl()
        budget.on_train_begin(None, state, control, lr_scheduler=scheduler)
        while state.global_step < last and not control.should_training_stop:
            scheduler.step()
            state.global_step += 1
            now[0] += 1.0  # one second a step
            budget.on_step_end(None, state, control, lr_scheduler=scheduler)
        return control

    def fresh():
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        return get_linear_schedule_with_warmup(optimizer, 10, 100_000)

    whole_scheduler, whole = fresh(), time_budget.TimeBudget(seconds=1000, calibrate_at=20)
    run(whole, whole_scheduler, TrainerState(max_steps=100_000), 10**6)
    assert whole.target == 20 + 980 * 1  # 1 step a second, 980 s left at step 20
    assert whole.progress()["spent"] == 1000.0

    now[0] = 0.0
    first_scheduler, first = fresh(), time_budget.TimeBudget(seconds=1000, calibrate_at=20)
    run(first, first_scheduler, TrainerState(max_steps=100_000), 500)
    progress = first.progress()
    assert progress == {"spent": 500.0, "target": whole.target, "bound": True, "steps": 500}

    now[0] = 10_000.0  # another process, another day
    scheduler = fresh()
    scheduler.load_state_dict(first_scheduler.state_dict())  # as the Trainer restores it
    scheduler.optimizer.param_groups[0]["lr"] = first_scheduler.get_last_lr()[0]
    again = time_budget.TimeBudget(seconds=1000, calibrate_at=20)
    again.resume(progress)
    state = TrainerState(max_steps=100_000, global_step=500)
    control = run(again, scheduler, state, 10**6)
    assert state.max_steps == state.global_step == whole.target and control.should_training_stop
    assert scheduler.get_last_lr() == whole_scheduler.get_last_lr() == [0.0]
    assert again.progress()["spent"] == 1000.0  # 500 s before the stop + 500 s after


def test_a_budget_larger_than_max_steps_did_not_stop_the_run(monkeypatch):
    """max_steps came first: the record said "time budget" and stopped_by_time_limit_at."""
    from types import SimpleNamespace

    from transformers import TrainerControl, TrainerState

    import prixlm.experiments.time_budget as time_budget

    clock = iter(range(10**6))
    monkeypatch.setattr(time_budget, "time", SimpleNamespace(time=lambda: float(next(clock))))
    budget = time_budget.TimeBudget(seconds=1000, calibrate_at=20)
    state, control = TrainerState(max_steps=50), TrainerControl()
    budget.on_train_begin(None, state, control)
    for step in range(1, 51):
        state.global_step = step
        budget.on_step_end(None, state, control)
    assert budget.target == 50 and budget.stopped_at is None and not budget.bound
    again = time_budget.TimeBudget(seconds=1000, calibrate_at=20)
    again.resume(budget.progress())  # a start that only writes the release takes no step
    assert (again.steps, again.stopped_at) == (50, None)


def test_a_run_the_flat_curve_stopped_was_not_stopped_by_the_budget(monkeypatch):
    """The budget aimed at step 100, the validation curve stopped training at 30: the record
    said stopped_by_time_limit_at 100."""
    from types import SimpleNamespace

    from transformers import TrainerControl, TrainerState

    import prixlm.experiments.time_budget as time_budget

    clock = iter(range(10**6))
    monkeypatch.setattr(time_budget, "time", SimpleNamespace(time=lambda: float(next(clock))))
    budget = time_budget.TimeBudget(seconds=100, calibrate_at=20)
    state, control = TrainerState(max_steps=10**5), TrainerControl()
    budget.on_train_begin(None, state, control)
    for step in range(1, 31):  # then a callback stops training
        state.global_step = step
        budget.on_step_end(None, state, control)
    assert budget.bound and budget.target > 30
    assert budget.stopped_at is None
    for step in range(31, budget.target + 1):  # had it gone on, the budget would stop it
        state.global_step = step
        budget.on_step_end(None, state, control)
    assert budget.stopped_at == budget.target
