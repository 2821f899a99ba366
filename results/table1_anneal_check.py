"""Prix-LM (All) after a flat validation curve: stop, or anneal first? Checked on validation.

Takes the flat-stopped All job of a Table 1 run (profile `full`: `runs/all-pivot`, flat at
its step-6000 checkpoint, the learning rate then at 64% of its peak), goes on from that
checkpoint with the rate decaying linearly from its value there to 0 over `extra_steps`
more steps (the job's own train.py command, output elsewhere), ranks the same validation
queries as the job (the first 50 per language, every entity of the language a candidate)
and writes both models' figures. Only validation is ranked: this chose the `full` and
`gpu` profiles' `all_anneal_share`.

    python results/table1_anneal_check.py --work_dir outputs/table1 --extra_steps 1200 \
        --output results/table1_anneal_check.json
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import sys
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

from prixlm.experiments.curve import anneal_lambda
from prixlm.experiments.jobs import _limit, job_candidates, load_language, plain_command
from prixlm.experiments.time_budget import _linear_lambda, set_schedule
from prixlm.link_prediction.scorer import PrixLMScorer, evaluate_scorer_protocols
from prixlm.model_loading import load_prixlm
from prixlm.outputs.atomic import atomic_folder, write_json
from prixlm.training.arguments import parse_training_arguments
from prixlm.training.pretrain import pretrain


class Anneal(TrainerCallback):
    """From `start` (where the stopped run's rate factor was `factor`) down to 0 at `end`."""

    def __init__(self, factor: float, start: int, end: int):
        self.schedule = functools.partial(anneal_lambda, factor=factor, start=start, end=end)
        self.end = end

    def on_train_begin(self, args, state, control, lr_scheduler=None, **kwargs):
        set_schedule(lr_scheduler, self.schedule)

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.end:  # the run's last step (pretrain refuses a run that
            state.max_steps = state.global_step  # a callback stopped before its last step)
            control.should_training_stop = True
        return control


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work_dir", type=Path, required=True)
    parser.add_argument("--job", default="all-pivot")
    parser.add_argument("--extra_steps", type=int, default=1200)
    parser.add_argument("--validation_limit", type=int, default=50, help="as the profile's")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    record = json.loads((args.work_dir / "jobs" / f"{args.job}.json").read_text("utf-8"))
    start = record["curve"]["flat_at"]
    budget_end = record["stopped_by_time_limit_at"]  # where the stopped run's decay ended
    factor = _linear_lambda(start, warmup=60, total=budget_end)  # TimeBudget's, 60 warm-up steps
    run = args.work_dir / "anneal_check" / f"{args.job}-{args.extra_steps}"
    started = time.time()
    if not (run / "model").is_dir():
        checkpoint = run / f"checkpoint-{start}"
        if not checkpoint.is_dir():  # copied whole or not at all (a kill mid-copy)
            with atomic_folder(checkpoint, argument="--work_dir") as staging:
                shutil.copytree(
                    args.work_dir / "runs" / args.job / checkpoint.name, staging, dirs_exist_ok=True
                )
        argv = resumed_argv(record["command"], run, checkpoint)
        pretrain(parse_training_arguments(argv), [Anneal(factor, start, start + args.extra_steps)])
    train_seconds = time.time() - started
    model, tokenizer = load_prixlm(run / "model", "cpu")
    scorer = PrixLMScorer(model, tokenizer, 16, 1024)
    dataset = argv_value(record["command"], "--dataset")
    annealed = {}
    for language in record["languages"]:
        data = load_language(dataset, language)
        candidates = job_candidates({language: data}, None)[language]
        rows = _limit(data["validation"], args.validation_limit)
        annealed[language] = evaluate_scorer_protocols(
            scorer, rows, candidates, ["ours"], batch_size=16, train_rows=data["train"]
        )["ours"]
        print(language, annealed[language], flush=True)
    stopped = record["validation"]
    mean = {
        name: {k: sum(v[lang][k] for lang in v) / len(v) for k in ("hits_at_1", "mrr")}
        for name, v in (("stopped", stopped), ("annealed", annealed))
    }
    write_json({"command": "python results/table1_anneal_check.py " + " ".join(sys.argv[1:]),
                "job": args.job, "flat_at": start, "lr_factor_at_flat": factor,
                "extra_steps": args.extra_steps, "train_seconds": round(train_seconds, 1),
                "seconds": round(time.time() - started, 1), "mean": mean,
                "validation": {"stopped": stopped, "annealed": annealed}},
               args.output, "--output")  # fmt: skip


def resumed_argv(command: str, run: Path, checkpoint: Path) -> list[str]:
    """train.py's arguments of a job record's `command` (`[OMP_NUM_THREADS=N] python
    train.py ...`), writing to `run` and resuming from `checkpoint`."""
    argv = plain_command(command).split()[2:]  # after "python train.py"
    argv[argv.index("--output_dir") + 1] = str(run)
    return argv + ["--resume_from_checkpoint", str(checkpoint), "--save_steps", "100000"]


def argv_value(command: str, name: str) -> str:
    words = command.split()
    return words[words.index(name) + 1]


if __name__ == "__main__":
    main()
