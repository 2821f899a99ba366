"""Resuming continues the same run (its tokenizer, every curve point) or refuses and says
why; a finished run is left alone; two trainings never share an output folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
from safetensors.torch import load_file
from test_train_runs import KILL_AT, ROOT, _args, _run
from transformers import AutoTokenizer

from prixlm.cli import UsageError
from prixlm.training import pretrain as pretrain_module
from prixlm.training.arguments import parse_training_arguments
from prixlm.training.checkpoint_files import TRAINING_STATE, check_checkpoint
from prixlm.training.pretrain import pretrain

STEPS = ["--max_steps", "12", "--save_steps", "4"]
LP = {"lp_eval_queries": "2", "lp_eval_beams": "2", "lp_eval_split": "train"}
RESUME = ["--resume_from_checkpoint", "true"]


def _train(dataset: Path, output: Path, *extra: str, **overrides: str) -> Path:
    return pretrain(
        parse_training_arguments(_args(dataset, output, *STEPS, *extra, **LP, **overrides))
    )


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


@pytest.fixture(scope="module")
def finished(tiny_dataset_dir, tmp_path_factory) -> Path:
    """An uninterrupted tiny run (12 steps, checkpoints every 4, link prediction at each)."""
    output = tmp_path_factory.mktemp("runs") / "uninterrupted"
    _train(tiny_dataset_dir, output)
    return output


def test_killed_run_resumes_with_its_tokenizer_and_keeps_every_curve_point(
    tiny_dataset_dir, finished, tmp_path, monkeypatch
) -> None:
    """Killed at step 6 and resumed: the tokenizer is the checkpoint's, although training
    one again gives other ids (as it does at a real vocabulary size: simulated here), and
    the curve and train_results.json hold every point of the uninterrupted run."""
    run = tmp_path / "killed"
    lp = [f"--{key}={value}" for key, value in LP.items()]
    killed = _run(
        [sys.executable, "-c", KILL_AT, *_args(tiny_dataset_dir, run, *STEPS, *lp)],
        KILL_AT_STEP="6",
    )
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert sorted(p.name for p in run.glob("checkpoint-*")) == ["checkpoint-4"]
    original = pretrain_module.train_tokenizer

    def other_ids(texts, vocab_size):  # a tokenizer training that gives other ids this time
        return original(list(texts)[::2], vocab_size=vocab_size)  # (38 of 53 ids moved)

    monkeypatch.setattr(pretrain_module, "train_tokenizer", other_ids)
    release = _train(tiny_dataset_dir, run, *RESUME)
    # the checkpoint's tokenizer: the uninterrupted run's ids (a score may differ in its
    # last digit between two processes)
    saved = (run / "checkpoint-4" / "tokenizer.json").read_bytes()
    assert (release / "tokenizer.json").read_bytes() == saved
    ids = [
        AutoTokenizer.from_pretrained(folder / "model").get_vocab() for folder in (finished, run)
    ]
    assert ids[1] == ids[0]
    expected, got = (
        load_file(finished / "model" / "model.safetensors"),
        load_file(release / "model.safetensors"),
    )
    assert max(float((expected[k] - got[k]).abs().max()) for k in expected) < 1e-6
    results = [
        json.loads((folder / "model" / "train_results.json").read_text())
        for folder in (finished, run)
    ]
    curves = [r["checkpoint_link_prediction"] for r in results]
    assert [point["step"] for point in curves[1]] == [0, 4, 8, 12]
    assert curves[1] == curves[0]
    assert (run / "lp_curve.csv").read_text() == (finished / "lp_curve.csv").read_text()
    # the whole run's loss, not the last start's (steps 5-12 alone); this start's runtime
    logged = [e for e in json.loads((run / "checkpoint-12" / "trainer_state.json").read_text())[
        "log_history"] if "loss" in e]  # fmt: skip
    befores = [0] + [e["step"] for e in logged[:-1]]
    spans = [e["step"] - before for e, before in zip(logged, befores, strict=True)]
    whole = sum(e["loss"] * n for e, n in zip(logged, spans, strict=True)) / sum(spans)
    assert logged[-1]["step"] == 12 and results[1]["train_loss"] == pytest.approx(whole)
    assert results[0]["train_loss"] == pytest.approx(whole, rel=1e-5)  # uninterrupted: same
    assert results[1]["resumed_from_step"] == 4 and "train_runtime" not in results[1]
    assert results[1]["last_start_runtime"] > 0


def test_resuming_a_finished_run_does_nothing(tiny_dataset_dir, finished, tmp_path, capsys) -> None:
    """It used to train one step past max_steps and write the release again."""
    run = tmp_path / "finished"
    shutil.copytree(finished, run)
    before = _digests(run / "model")
    assert _train(tiny_dataset_dir, run, *RESUME) == run / "model"
    assert "is finished (step 12)" in capsys.readouterr().err
    assert _digests(run / "model") == before
    assert sorted(p.name for p in run.glob("checkpoint-*")) == [
        "checkpoint-12",
        "checkpoint-4",
        "checkpoint-8",
    ]
    # another run's settings are refused, not answered with the finished run's release
    with pytest.raises(
        UsageError, match=r"differs from the checkpoint's in --learning_rate 0\.001"
    ):
        _train(tiny_dataset_dir, run, *RESUME, learning_rate="1e-3")
    # a new run (no --resume_from_checkpoint) into the folder: refused as a finished run
    # (it said "continue it with --resume_from_checkpoint true": nothing to continue)
    with pytest.raises(
        UsageError, match=r"holds a finished run \(its last checkpoint: checkpoint-12; its release"
    ):
        _train(tiny_dataset_dir, run)
    assert _digests(run / "model") == before
    # killed after its last checkpoint, before the release folder: written, nothing trained
    shutil.rmtree(run / "model")
    # a new run (no --resume_from_checkpoint) is refused: its checkpoints went beside these
    refused = r"holds an earlier run's checkpoints \(the last: checkpoint-12\): continue it"
    with pytest.raises(UsageError, match=refused):
        _train(tiny_dataset_dir, run)
    _train(tiny_dataset_dir, run, *RESUME)
    assert _digests(run / "model")["model.safetensors"] == before["model.safetensors"]
    results = json.loads((run / "model" / "train_results.json").read_text())
    assert [point["step"] for point in results["checkpoint_link_prediction"]] == [0, 4, 8, 12]
    assert sorted(p.name for p in run.glob("checkpoint-*")) == [
        "checkpoint-12",
        "checkpoint-4",
        "checkpoint-8",
    ]


def test_resume_refuses_another_run_and_a_damaged_checkpoint(
    tiny_dataset_dir, finished, tmp_path
) -> None:
    run = tmp_path / "other"
    shutil.copytree(finished, run)
    shutil.rmtree(run / "model")
    shutil.rmtree(run / "checkpoint-12")
    with pytest.raises(UsageError, match=r"differs from the checkpoint's in --learning_rate 0\.001 "
                                         r"\(the checkpoint's: 0\.003\); --seed 8 \(the checkpoint's: 7\)"):  # fmt: skip
        _train(tiny_dataset_dir, run, *RESUME, learning_rate="1e-3", seed="8")
    with pytest.raises(
        UsageError, match=r"in --tokenizer_vocab_size 111 \(the checkpoint's: 120\);"
    ):
        _train(tiny_dataset_dir, run, *RESUME, tokenizer_vocab_size="111")
    with pytest.raises(UsageError, match=r"in --data_seed 5 \(the checkpoint's: None\);"):
        _train(tiny_dataset_dir, run, *RESUME, data_seed="5")  # another order of the data
    with pytest.raises(  # noise added from here on: it went on silently
        UsageError, match=r"in --neftune_noise_alpha 50\.0 \(the checkpoint's: None\);"
    ):
        _train(tiny_dataset_dir, run, *RESUME, neftune_noise_alpha="50")
    moved = tmp_path / "dataset"  # a dataset moved elsewhere resumes; another one does not
    shutil.copytree(tiny_dataset_dir, moved)
    train_file = moved / "en" / "train.parquet"
    pq.write_table(pq.read_table(train_file).slice(1), train_file)
    with pytest.raises(UsageError, match=rf"in the dataset in --dataset {moved} \(other files"):
        _train(moved, run, *RESUME)
    weights = run / "checkpoint-8" / "model.safetensors"
    os.truncate(weights, weights.stat().st_size // 2)  # a checkpoint cut short
    with pytest.raises(UsageError) as raised:
        _train(tiny_dataset_dir, run, *RESUME)
    message = str(raised.value)
    assert f"{weights}: unreadable" in message
    assert f"--resume_from_checkpoint {run / 'checkpoint-4'}" in message


def test_a_damaged_checkpoint_offers_the_newest_complete_earlier_one(tmp_path) -> None:
    """The offer is by step, not by folder name: with checkpoint-4, -12 and a damaged -20,
    resuming from -12 loses the least work (by name, "checkpoint-4" sorts after
    "checkpoint-12" and would be offered, throwing away 8 steps)."""
    for step in (4, 12, 20):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        state = {"global_step": step, "max_steps": 100}
        (folder / "trainer_state.json").write_text(json.dumps(state), "utf-8")
        for name in (*TRAINING_STATE, "rng_state.pth"):
            torch.save({}, folder / name)
    (tmp_path / "checkpoint-20" / "trainer_state.json").write_text("{cut", "utf-8")
    with pytest.raises(UsageError) as raised:
        check_checkpoint(tmp_path / "checkpoint-20")
    message = str(raised.value)
    assert f"{tmp_path / 'checkpoint-20' / 'trainer_state.json'}: not valid JSON" in message
    assert f"--resume_from_checkpoint {tmp_path / 'checkpoint-12'} (or remove" in message
    (tmp_path / "checkpoint-12" / "scheduler.pt").unlink()  # -12 incomplete: -4 is offered
    with pytest.raises(UsageError, match=r"checkpoint-4 \(or remove"):
        check_checkpoint(tmp_path / "checkpoint-20")


def test_two_trainings_into_one_folder(tiny_dataset_dir, tmp_path, capsys) -> None:
    """The second stops at once naming the first one's process; the first finishes and its
    release loads. Both used to exit 0, the second replacing the first's checkpoints."""
    from transformers import AutoModelForCausalLM

    import train
    from prixlm.outputs.lock import _lock_files

    out = tmp_path / "run"
    first = subprocess.Popen(
        [
            sys.executable,
            "train.py",
            *_args(tiny_dataset_dir, out, "--max_steps", "40", "--save_steps", "20"),
        ],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    owner = _lock_files(out.resolve())[1]
    deadline = time.monotonic() + 120
    while not owner.exists():
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    with pytest.raises(SystemExit) as stopped:
        train.main(_args(tiny_dataset_dir, out, "--max_steps", "4", seed="8"))
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: --output_dir {out.resolve()}: process {first.pid} on ")
    assert first.wait(timeout=300) == 0, first.stderr.read()[-3000:]
    assert json.loads((out / "model" / "training_args.json").read_text())["seed"] == 7
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-20", "checkpoint-40"]
    AutoModelForCausalLM.from_pretrained(out / "model", trust_remote_code=True)


def test_a_full_disk_ends_training_in_one_line(tiny_dataset_dir, tmp_path, capsys) -> None:
    """A file-size limit (as a full disk) at the first checkpoint: one `error:` line naming
    the checkpoint, exit 2 (torch's writer used to end in a RuntimeError traceback).

    train.py's `main` in this process under the limit (its soft value: this process sets it
    back after), as `python train.py` runs it; Python ignores SIGXFSZ, as in train.py's
    process, so a write past the limit fails with EFBIG."""
    import resource
    import signal

    import train

    assert signal.getsignal(signal.SIGXFSZ) == signal.SIG_IGN
    out = tmp_path / "run"
    argv = _args(tiny_dataset_dir, out, "--max_steps", "4", "--save_steps", "2")
    before = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, before[1]))
    try:
        with pytest.raises(SystemExit) as stopped:
            train.main(argv)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, before)
    stderr = capsys.readouterr().err
    assert stopped.value.code == 2, stderr[-3000:]
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1] == (
        f"error: {out}/.checkpoint-2.partial/checkpoint-2: no space left on the device (or a "
        "file-size limit reached); free space there or choose another folder"
    )
    assert not (out / "checkpoint-2").exists()
