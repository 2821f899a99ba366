"""results/table1_anneal_check.py's callback ends its run as the run's last step: a callback
that stops training before `max_steps` makes pretrain refuse to write the release."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from transformers import TrainerControl, TrainerState

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location(
        "table1_anneal_check", ROOT / "results" / "table1_anneal_check.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_anneal_ends_the_run_at_its_last_step():
    module = _script()
    anneal = module.Anneal(factor=0.64, start=6000, end=7200)
    state, control = TrainerState(max_steps=16505, global_step=7199), TrainerControl()
    anneal.on_step_end(None, state, control)
    assert not control.should_training_stop and state.max_steps == 16505
    state.global_step = 7200
    anneal.on_step_end(None, state, control)
    assert control.should_training_stop and state.max_steps == 7200


def test_a_job_records_command_with_its_threads_resumes_as_train_py(tmp_path):
    """Job records write `OMP_NUM_THREADS=N python train.py ...`: the script took
    `train.py` for an argument."""
    command = "OMP_NUM_THREADS=1 python train.py --dataset d --output_dir runs/all --seed 0"
    argv = _script().resumed_argv(command, tmp_path / "run", tmp_path / "run" / "checkpoint-20")
    assert argv == ["--dataset", "d", "--output_dir", str(tmp_path / "run"), "--seed", "0",
                    "--resume_from_checkpoint", str(tmp_path / "run" / "checkpoint-20"),
                    "--save_steps", "100000"]  # fmt: skip
    assert _script().resumed_argv(command.split(" ", 1)[1], tmp_path / "run", tmp_path)[0] == (
        "--dataset"
    )
