"""train.py end to end: release folder, kill-and-resume, and 2-process data parallelism."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[2]


TINY_RUN = {
    "--languages": "en,de", "--hidden_size": "32", "--num_hidden_layers": "2", "--num_attention_heads": "2",
    "--intermediate_size": "64", "--tokenizer_vocab_size": "120", "--learning_rate": "3e-3",
    "--warmup_steps": "2", "--per_device_train_batch_size": "8", "--gradient_accumulation_steps": "1",
    "--lp_eval_queries": "0", "--report_to": "none", "--disable_tqdm": "true", "--seed": "7",
    "--logging_steps": "1",
}  # fmt: skip


def _args(dataset_dir: Path, output_dir: Path, *extra: str, **overrides: str) -> list[str]:
    """train.py arguments of a tiny run; `overrides` replace TINY_RUN values (`lp_eval_queries="4"`)."""
    values = {**TINY_RUN, **{f"--{k}": v for k, v in overrides.items()}}
    pairs = [item for key_value in values.items() for item in key_value]
    return ["--dataset", str(dataset_dir), "--output_dir", str(output_dir), *pairs, *extra]


def _run(command: list[str], **env_overrides: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
        **env_overrides,
    }
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def _weights(folder: Path) -> dict:
    return load_file(str(folder / "model" / "model.safetensors"))


KILL_AT = """
import os, signal, sys
from transformers import TrainerCallback
from prixlm.training.arguments import parse_training_arguments
from prixlm.training.pretrain import pretrain

class KillAt(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == int(os.environ["KILL_AT_STEP"]):
            os.kill(os.getpid(), signal.SIGKILL)

pretrain(parse_training_arguments(sys.argv[1:]), [KillAt()])
"""


def test_release_folder_and_kill_and_resume_give_identical_weights(tiny_dataset_dir, tmp_path):
    """The uninterrupted run is train.py's main in this process (one torch thread, as the
    runs in subprocesses); the killed run and its resume (train.py) are processes of their
    own, and neither logs the special-token warning."""
    import train

    steps = ["--max_steps", "12", "--save_steps", "4"]
    release = train.main(_args(tiny_dataset_dir, tmp_path / "a", *steps))
    assert release == tmp_path / "a" / "model"
    names = {p.name for p in release.iterdir()}
    assert {"config.json", "model.safetensors", "modeling_prixlm.py", "configuration_prixlm.py", "formatting.py",
            "tokenizer.json", "generation_config.json", "training_args.json", "train_results.json", "README.md"} <= names  # fmt: skip
    assert not any(n.endswith((".bin", ".pth", ".pt")) for n in names)
    generation = json.loads((release / "generation_config.json").read_text())
    config = json.loads((release / "config.json").read_text())
    assert generation["eos_token_id"] == config["end_of_object_token_id"]
    # checkpoints too: a fact ends at [EOS] alone, not also at the tokenizer's </s>
    checkpoint = json.loads(
        (tmp_path / "a" / "checkpoint-12" / "generation_config.json").read_text()
    )
    assert checkpoint["eos_token_id"] == config["end_of_object_token_id"]
    assert json.loads((release / "training_args.json").read_text())["adam_beta2"] == 0.98
    logged = json.loads((tmp_path / "a" / "checkpoint-12" / "trainer_state.json").read_text())[
        "log_history"
    ]
    losses = [h["loss"] for h in logged if "loss" in h]
    assert losses[-1] < losses[0]

    killed = _run(
        [sys.executable, "-c", KILL_AT, *_args(tiny_dataset_dir, tmp_path / "b", *steps)],
        KILL_AT_STEP="6",
    )
    assert killed.returncode == -9, killed.stderr[-3000:]
    run_b = tmp_path / "b"
    assert sorted(p.name for p in run_b.glob("checkpoint-*")) == ["checkpoint-4"]
    assert not (run_b / "model").exists()
    resumed = _run(
        [
            sys.executable,
            "train.py",
            *_args(tiny_dataset_dir, run_b, *steps, "--resume_from_checkpoint", "true"),
        ]
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming from {run_b / 'checkpoint-4'}" in resumed.stderr
    assert "new PAD/BOS/EOS" not in killed.stderr + resumed.stderr
    expected, got = _weights(tmp_path / "a"), _weights(run_b)
    assert expected.keys() == got.keys()
    for name in expected:
        assert (expected[name] - got[name]).abs().max() < 1e-6, name


@pytest.mark.skipif(
    shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None, reason="no torchrun"
)
def test_two_processes_match_one_process_with_the_same_global_batch(
    tiny_dataset_dir, tmp_path, capsys
):
    import train

    common = [
        "--max_steps",
        "4",
        "--save_steps",
        "100",
        "--dropout",
        "0",
        "--use_cpu",
    ]
    # the 1-process reference: train.py's main in this process (the notes are printed to
    # sys.stderr, which capsys holds)
    train.main(_args(tiny_dataset_dir, tmp_path / "one", *common))
    one = capsys.readouterr()
    torchrun = str(Path(sys.executable).parent / "torchrun")
    two_args = _args(tiny_dataset_dir, tmp_path / "two", *common, per_device_train_batch_size="4")
    two = _run([torchrun, "--nproc_per_node", "2", "--master_port", "29517", "train.py", *two_args])
    assert two.returncode == 0, two.stderr[-3000:]
    for run, world_size in (("one", 1), ("two", 2)):
        results = json.loads((tmp_path / run / "model" / "train_results.json").read_text())
        assert results["world_size"] == world_size
        assert results["train_facts_repeated_per_epoch"] == 0  # 32 facts: 4 batches of 2 x 4
    assert "global batch: 2 processes x 4 facts x 1 accumulation steps = 8 facts" in two.stderr
    assert "global batch:" not in one.err and "'loss'" in one.out  # its lines were captured
    expected, got = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    differences = {name: float((expected[name] - got[name]).abs().max()) for name in expected}
    assert max(differences.values()) < 1e-5, differences
    moved = load_file(str(tmp_path / "one" / "model" / "model.safetensors"))
    assert any(float(v.abs().sum()) > 0 for v in moved.values())


def test_tiny_training_memorises_facts_that_constrained_lp_then_recovers(
    tiny_dataset_dir, tmp_path
):
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import train
    from modeling_prixlm.beam_search import predict_objects
    from modeling_prixlm.formatting import encode_row, within_length
    from prixlm.link_prediction.evaluation import candidate_labels

    settings = {
        "max_steps": "300",
        "save_steps": "150",
        "hidden_size": "64",
        "intermediate_size": "128",
    }
    settings.update(dropout="0", lp_eval_queries="4", lp_eval_beams="5", lp_eval_split="train")
    settings.update(report_to="tensorboard")
    release = train.main(_args(tiny_dataset_dir, tmp_path / "memorise", **settings))
    model = AutoModelForCausalLM.from_pretrained(release, trust_remote_code=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(release, trust_remote_code=True)
    results = json.loads((release / "train_results.json").read_text())
    assert [r["step"] for r in results["checkpoint_link_prediction"]] == [0, 150, 300]
    assert (tmp_path / "memorise" / "lp_curve.png").stat().st_size > 10_000
    curve = (tmp_path / "memorise" / "lp_curve.csv").read_text().splitlines()
    assert (
        curve[0] == "step,lp_de/hits_at_1,lp_de/mrr,lp_en/hits_at_1,lp_en/mrr" and len(curve) == 4
    )
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(
        str(next((tmp_path / "memorise" / "runs").rglob("events.out.tfevents.*")).parent)
    )
    events.Reload()
    assert {"train/loss", "train/lp_en/hits_at_1", "train/lp_de/mrr"} <= set(
        events.Tags()["scalars"]
    )
    for language in ("en", "de"):
        splits = datasets.load_dataset(str(tiny_dataset_dir), language)
        # Facts of 30 tokens or more are dropped from training (the paper's filter).
        train_rows = [row for row in splits["train"] if within_length(encode_row(tokenizer, row))]
        assert len(train_rows) >= 5
        ranked = predict_objects(
            model, tokenizer, train_rows, candidate_labels(splits, language), num_beams=5
        )
        correct = sum(
            r.labels[0] == row["object"] for r, row in zip(ranked, train_rows, strict=True)
        )
        wrong = [
            (row["subject"], row["relation"], row["object"], r.labels[:3])
            for r, row in zip(ranked, train_rows, strict=True)
            if r.labels[0] != row["object"]
        ]
        assert correct == len(train_rows), (language, wrong)


def _log_steps(log_history: list[dict], key_prefix: str) -> list[int]:
    return [h["step"] for h in log_history if any(k.startswith(key_prefix) for k in h)]


def test_last_step_logs_loss_and_lp_and_tokenizer_has_the_position_budget(
    tiny_dataset_dir, tmp_path
):
    """logging_steps=5, max_steps=20: losses at 5, 10, 15 and 20 (the last was lost), LP at
    0, 10 (checkpoint) and 20 (last step), in the log history, TensorBoard and lp_curve.csv."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from transformers import AutoTokenizer

    import train

    run = tmp_path / "run"
    settings = dict(
        logging_steps="5", lp_eval_queries="2", lp_eval_beams="2", lp_eval_split="train"
    )
    settings.update(report_to="tensorboard", max_steps="20", save_steps="10")
    release = train.main(_args(tiny_dataset_dir, run, **settings))
    history = json.loads((run / "checkpoint-20" / "trainer_state.json").read_text())["log_history"]
    assert _log_steps(history, "loss") == [5, 10, 15, 20]
    assert _log_steps(history, "lp_en/") == [0, 10, 20]
    curve = (run / "lp_curve.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in curve[1:]] == ["0", "10", "20"]
    events = EventAccumulator(str(next((run / "runs").rglob("events.out.tfevents.*")).parent))
    events.Reload()
    assert [e.step for e in events.Scalars("train/loss")] == [5, 10, 15, 20]
    assert [e.step for e in events.Scalars("train/lp_de/mrr")] == [0, 10, 20]

    config = json.loads((release / "config.json").read_text())
    budget = config["max_position_embeddings"] - config["pad_token_id"] - 1
    for folder in (release, run / "checkpoint-20"):
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
        assert tokenizer.model_max_length == budget == 2 * 30


def test_checkpoints_are_published_only_when_complete(tiny_dataset_dir, tmp_path, monkeypatch):
    """A save that fails midway leaves no `checkpoint-<step>` and removes its partial folder;
    the partial folder of a save killed midway is removed by the next writer of that
    checkpoint (the resumed run)."""
    from transformers.trainer_utils import get_last_checkpoint

    from prixlm.training.arguments import parse_training_arguments
    from prixlm.training.pretrain import pretrain
    from prixlm.training.trainer import PrixLMTrainer

    run = tmp_path / "run"
    (run / ".model.partial").mkdir(parents=True)  # left by an earlier killed release write
    steps = ["--max_steps", "8", "--save_steps", "4"]
    original = PrixLMTrainer._save_rng_state

    def fail_at_step_8(self, output_dir):
        if self.state.global_step == 8:
            raise OSError("disk full")
        return original(self, output_dir)

    monkeypatch.setattr(PrixLMTrainer, "_save_rng_state", fail_at_step_8)
    with pytest.raises(OSError, match="disk full"):
        pretrain(parse_training_arguments(_args(tiny_dataset_dir, run, *steps)))
    assert sorted(p.name for p in run.glob("*checkpoint-*")) == ["checkpoint-4"]
    assert get_last_checkpoint(str(run)) == str(run / "checkpoint-4")

    killed = run / ".checkpoint-8.partial" / "checkpoint-8"  # what a save killed midway leaves
    killed.mkdir(parents=True)
    (killed / "model.safetensors").write_bytes(b"\0" * 16)
    monkeypatch.setattr(PrixLMTrainer, "_save_rng_state", original)
    resume = ["--resume_from_checkpoint", "true"]
    pretrain(parse_training_arguments(_args(tiny_dataset_dir, run, *steps, *resume)))
    names = sorted(p.name for p in run.iterdir() if "checkpoint" in p.name or "model" in p.name)
    assert names == ["checkpoint-4", "checkpoint-8", "model"]
    assert (run / "checkpoint-8" / "rng_state.pth").is_file()


def test_a_run_stopped_early_reports_the_speed_of_the_steps_it_ran(tiny_dataset_dir, tmp_path):
    """The Trainer scales its speed by the planned max_steps: a run a callback stopped at
    step 3 of 200 reported 67 times its samples per second."""
    import json

    from transformers import TrainerCallback

    from prixlm.training.arguments import parse_training_arguments
    from prixlm.training.pretrain import pretrain

    class StopAtThree(TrainerCallback):  # ends the run as a time budget does: max_steps 3
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= 3:
                state.max_steps = state.global_step
                control.should_training_stop = control.should_save = True
            return control

    run = parse_training_arguments(
        _args(tiny_dataset_dir, tmp_path / "run", "--max_steps", "200", "--save_steps", "1000",
              lp_eval_queries="0")
    )  # fmt: skip
    release = pretrain(run, [StopAtThree()])
    results = json.loads((release / "train_results.json").read_text())
    batch = run.training.per_device_train_batch_size * run.training.gradient_accumulation_steps
    expected = 3 * batch / results["train_runtime"]
    assert results["train_samples_per_second"] == pytest.approx(expected, rel=0.01)
    assert results["train_steps_per_second"] == pytest.approx(
        3 / results["train_runtime"], rel=0.01
    )


def test_epoch_checkpoints_hold_their_own_link_prediction_point(tiny_dataset_dir, tmp_path):
    """With --save_strategy epoch the point was computed after the checkpoint was written:
    a resume from it lost that point."""
    import json

    from prixlm.training.arguments import parse_training_arguments
    from prixlm.training.pretrain import pretrain

    out = tmp_path / "run"
    argv = _args(tiny_dataset_dir, out, "--num_train_epochs", "2", "--save_strategy", "epoch",
                 lp_eval_queries="2", lp_eval_beams="2", lp_eval_split="train")  # fmt: skip
    pretrain(parse_training_arguments(argv))
    checkpoints = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    assert len(checkpoints) >= 1
    for checkpoint in checkpoints:
        step = int(checkpoint.name.split("-")[1])
        history = json.loads((checkpoint / "trainer_state.json").read_text())["log_history"]
        points = [e["step"] for e in history if any(k.startswith("lp_") for k in e)]
        assert points and points[-1] == step, (checkpoint.name, points)


def test_a_job_restarted_only_to_write_its_release_keeps_its_steps_and_curve(
    tiny_dataset_dir, tmp_path
):
    """Killed after its last checkpoint, before its release folder: the start that only
    writes the release reported 0 steps, "time budget" and a curve without its last point."""
    import shutil

    from prixlm.experiments.curve import FlatRule, ValidationCurve
    from prixlm.experiments.kept_runs import training_identity
    from prixlm.experiments.prixlm_jobs import _curve_record, train_release, training_record
    from prixlm.experiments.time_budget import TimeBudget

    run = tmp_path / "run"
    argv = _args(tiny_dataset_dir, run, "--max_steps", "20", "--save_steps", "5",
                 "--save_total_limit", "1", lp_eval_queries="0")  # fmt: skip
    settings = {"metric": "loss", "every": 3, "queries": 0, "flat_window": 50, "flat_min_gain": 0.0}
    identity = training_identity(argv, 1000, "wall", settings)

    def job() -> dict:
        guard = TimeBudget(1000, calibrate_at=12)  # a large budget: max_steps ends the run
        curve = ValidationCurve(lambda m, t: {"mean": 1.0}, every=3, rule=FlatRule(50))
        trained = train_release(str(run), identity, argv, guard, curve)
        record = training_record("all", ["en", "de"], {}, 0, "cpu", argv, guard, "wall", 1.0)
        points = _curve_record(settings, curve, guard)
        return {"steps": record["steps"], "at": record["stopped_by_time_limit_at"],
                "stopped_by": points["stopped_by"], "curve": [p["step"] for p in points["points"]],
                "resumed": trained.get("resumed_from_step")}  # fmt: skip

    first = job()
    assert first == {"steps": 20, "at": None, "stopped_by": "step limit (max_steps)",
                     "curve": [3, 6, 9, 12, 15, 18, 20], "resumed": None}  # fmt: skip
    shutil.rmtree(run / "model")
    assert job() == {**first, "resumed": 20}


def test_a_bf16_run_evaluates_link_prediction_in_fp32(tiny_dataset_dir, tmp_path, monkeypatch):
    """`--bf16 --use_cpu` trains under bf16 autocast (accelerate wraps the model's forward);
    the checkpoint evaluations ran under it too, so the curve, `train_results.json` and the
    card held numbers that `evaluate_lp` (fp32) does not give the same weights."""
    import torch

    import train
    from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB

    seen: dict[bool, set[bool]] = {True: set(), False: set()}  # training: autocast states
    forward = PrixLMForCausalKB.forward

    def recording(self, *args, **kwargs):
        seen[self.training].add(torch.is_autocast_enabled("cpu"))
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(PrixLMForCausalKB, "forward", recording)
    settings = dict(lp_eval_queries="2", lp_eval_beams="2", max_steps="2", save_steps="2")
    settings.update(warmup_steps="0")
    train.main(_args(tiny_dataset_dir, tmp_path / "run", "--bf16", "--use_cpu", **settings))
    assert seen == {True: {True}, False: {False}}  # bf16 training, fp32 evaluations


def test_a_diverged_run_writes_no_release(tiny_dataset_dir, tmp_path, capsys):
    """A learning rate of 1e38 made every weight NaN: the run exited 0, and its release and
    card published hits@1 0.0 as measured (beam search ranked the NaN model)."""
    import train

    run = tmp_path / "run"
    for queries, message in (("0", "error: training diverged: the weights are not all finite ("),
                             ("2", "error: the model's next-token scores are not finite (")):  # fmt: skip
        shutil.rmtree(run, ignore_errors=True)
        settings = dict(learning_rate="1e38", warmup_steps="0", max_steps="3", save_steps="3")
        with pytest.raises(SystemExit) as exit_info:
            train.main(_args(tiny_dataset_dir, run, lp_eval_queries=queries, **settings))
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
        assert not (run / "model").exists()
