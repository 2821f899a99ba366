"""Checkpoint-wise downstream evaluation during training (the paper's Fig. 2).

At the start of training, at every checkpoint step and at the last step,
`LinkPredictionCallback` runs link prediction on a fixed validation sample, logs the metrics
beside the loss (TensorBoard and the Trainer's log history), and rewrites `lp_curve.csv` and
`lp_curve.png` in the run folder.

At such a step the callback asks the Trainer to log the training loss (`should_log`), and
runs link prediction in `on_log`, right after the Trainer has logged the loss: its own
`trainer.log` then comes second, so it never clears the Trainer's pending loss log (which
it did when called from `on_step_end`: the last step's loss went missing).

The evaluation runs in the model's own precision (fp32 weights: fp32), as `evaluate_lp`
runs it, also in a `--bf16`/`--fp16` run, whose forward accelerate wraps in autocast
(`own_forward`): the curve's numbers are the ones `evaluate_lp` gives the checkpoint.

A resumed run's curve begins with the checkpoint's points. A point is comparable with the
next ones only when it was ranked among the same candidates: every checkpoint's record
holds their number and digest per language (`lp_candidates`: `candidate_summary`), and the
points of a checkpoint whose record names other candidates, or none (an earlier version's),
are left out of the curve, said on stderr and in the run's record (`restored_points`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

#: (model, language) -> metrics such as {"hits_at_1": 0.2, "mrr": 0.3}
Evaluator = Callable[[Any, str], dict[str, float]]


@contextmanager
def own_forward(model: Any) -> Iterator[None]:
    """For the block, `model.forward` is the model's own, without autocast.

    With mixed precision, `Accelerator.prepare` replaces the model's `forward` by one that
    runs under autocast (bf16 or fp16 matrix products) and keeps the original as
    `model._original_forward`; the original is put back for the block, and the wrapped
    one restored afterwards, also on errors. Autocast is also off for the block on the
    model's device type. A model without `_original_forward` keeps its `forward`.
    """
    original = getattr(model, "_original_forward", None)
    wrapped = model.__dict__.get("forward")  # accelerate's, an instance attribute
    parameter = next(model.parameters(), None) if hasattr(model, "parameters") else None
    device_type = parameter.device.type if parameter is not None else "cpu"
    if torch.amp.is_autocast_available(device_type):
        no_autocast: Any = torch.autocast(device_type, enabled=False)
    else:
        no_autocast = nullcontext()
    if original is not None:
        model.forward = original
    try:
        with no_autocast:
            yield
    finally:
        if original is not None:
            if wrapped is None:
                del model.forward  # the class's forward again
            else:
                model.forward = wrapped


def candidate_summary(candidates: Mapping[str, Sequence[str]]) -> dict[str, dict[str, Any]]:
    """Per language, how many candidate labels the curve ranks among (`count`) and a sha256
    of them, in order (`sha256`)."""
    return {
        language: {
            "count": len(labels),
            "sha256": hashlib.sha256(
                json.dumps(list(labels), ensure_ascii=False).encode()
            ).hexdigest(),
        }
        for language, labels in sorted(candidates.items())
    }


def restored_points(checkpoint: str | Path | None, summary: dict[str, Any]) -> dict[str, Any]:
    """What a run's record says of its curve: `lp_candidates` (`summary`, this run's), and
    `lp_points_left_out` (`{"through_step", "why"}`) when the run resumes `checkpoint`, whose
    points up to its step were ranked among other candidates than `summary`, or among ones
    its record does not name (an earlier version's); carried on from the checkpoint's record
    when its candidates are these."""
    record: dict[str, Any] = {"lp_candidates": summary}
    if checkpoint is None:
        return record
    checkpoint = Path(checkpoint)
    stored_file = checkpoint / "prixlm_run.json"  # `prixlm.training.resume.RUN_FILE`
    stored = json.loads(stored_file.read_text("utf-8")) if stored_file.is_file() else {}
    earlier = stored.get("lp_candidates")
    if earlier == summary:
        if stored.get("lp_points_left_out"):
            record["lp_points_left_out"] = stored["lp_points_left_out"]
        return record
    now = ", ".join(f"{lang} {value['count']}" for lang, value in summary.items())
    if earlier is None:
        why = (
            f"ranked among candidates that {checkpoint}'s record does not name (an earlier "
            f"version's), the next points among {now} labels"
        )
    else:
        changes = []
        for lang, value in summary.items():
            old = earlier.get(lang) or {}
            if old != value:
                other = ", other labels" if old.get("count") == value["count"] else ""
                changes.append(f"{lang} {old.get('count', 0)} labels (now {value['count']}{other})")
        why = f"ranked among other candidates than the next points: {', '.join(changes) or now}"
    state = json.loads((checkpoint / "trainer_state.json").read_text("utf-8"))
    record["lp_points_left_out"] = {"through_step": int(state["global_step"]), "why": why}
    return record


class LinkPredictionCallback(TrainerCallback):
    """Evaluate link prediction per language at each checkpoint; plot metric vs step.

    `left_out` (`{"through_step", "why"}`: `restored_points`): the checkpoint's points up to
    that step are not restored (ranked among other candidates); `points_left_out` then
    holds their steps and why (also said on stderr). `split`: the split sampled, named in
    the plot's titles."""

    def __init__(
        self,
        evaluate: Evaluator,
        languages: list[str],
        output_dir: str | Path,
        at_start: bool = True,
        left_out: Mapping[str, Any] | None = None,
        split: str = "validation",
    ):
        self.evaluate = evaluate
        self.split = split
        self.languages = list(languages)
        self.output_dir = Path(output_dir)
        self.at_start = at_start
        self.left_out = dict(left_out) if left_out else None
        self.trainer: Any = None  # set by the caller, to log through trainer.log
        self.records: list[dict[str, float]] = []
        self.points_left_out: dict[str, Any] | None = None
        self._due_step: int | None = None  # a step whose loss log is awaited

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if self.at_start and state.global_step == 0:
            self._run(args, state, model)
        elif state.global_step > 0:  # resumed: the checkpoint's points first
            self.restore(state.log_history)

    def restore(self, log_history: list[dict[str, Any]]) -> None:
        """The records of a resumed run's earlier steps, from the checkpoint's log history
        (the curve and `train_results.json` then keep every point), but for those ranked
        among other candidates (`left_out`: said on stderr, kept in `points_left_out`)."""
        done = {record["step"] for record in self.records}
        through = self.left_out["through_step"] if self.left_out else None
        dropped = []
        for entry in log_history:
            metrics = {k: v for k, v in entry.items() if k.startswith("lp_")}
            if not metrics or entry.get("step") in done:
                continue
            if through is not None and entry["step"] <= through:
                dropped.append(entry["step"])
                continue
            self.records.append({"step": entry["step"], **metrics})
            done.add(entry["step"])
        self.records.sort(key=lambda record: record["step"])
        if dropped and self.left_out and self.points_left_out is None:
            steps = sorted(set(dropped))
            self.points_left_out = {"steps": steps, "why": self.left_out["why"]}
            print(
                f"link prediction curve: the points of steps {', '.join(map(str, steps))} "
                f"restored from the checkpoint are left out ({self.left_out['why']})",
                file=sys.stderr,
            )

    def on_step_end(self, args, state, control, **kwargs):
        # Runs after DefaultFlowCallback: `should_save` marks a checkpoint step. Every process
        # sets `should_log` (the loss log gathers the loss across processes).
        if control.should_save or state.global_step >= state.max_steps:
            control.should_log = True
            self._due_step = state.global_step

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        # `--save_strategy epoch`: DefaultFlowCallback sets `should_save` here, not at the
        # step's end, and the step's loss may be logged already: evaluate now, before the
        # checkpoint is written (after it, a resume from that checkpoint lost the point).
        if control.should_save:
            self._due_step = None
            self._run(args, state, model)

    def on_log(self, args, state, control, logs=None, model=None, **kwargs):
        # also a step that a later callback (a time budget, a flat curve) made a checkpoint
        # step or the last one, after this callback's `on_step_end`: evaluated before its
        # checkpoint is written (in `on_save` the point missed the checkpoint's log history)
        due = self._due_step == state.global_step
        due = due or control.should_save or state.global_step >= state.max_steps
        if due and "loss" in (logs or {}):
            self._due_step = None
            self._run(args, state, model)

    def on_save(self, args, state, control, model=None, **kwargs):
        self._run(args, state, model)  # skipped if this step was already evaluated

    def _run(self, args, state, model) -> None:
        if not state.is_world_process_zero:
            return
        if any(r["step"] == state.global_step for r in self.records):
            return
        was_training = model.training
        model.eval()
        metrics: dict[str, float] = {}
        try:
            with own_forward(model):  # fp32 as `evaluate_lp`, not a --bf16 run's autocast
                for language in self.languages:
                    for name, value in self.evaluate(model, language).items():
                        metrics[f"lp_{language}/{name}"] = float(value)
        finally:
            model.train(was_training)
        self.records.append({"step": state.global_step, **metrics})
        if self.trainer is not None:
            self.trainer.log(dict(metrics))
        self.write(state.log_history)

    def write(self, log_history: list[dict[str, Any]]) -> None:
        """Rewrite `lp_curve.csv` and `lp_curve.png` from the records so far, each replaced
        in one rename (a run killed while writing left a cut file, which the similarity study
        reads and the model card copies), the two together: a failed plot leaves both as
        they were, not a new CSV beside the plot of fewer points."""
        from prixlm.outputs.atomic import atomic_file, published_together

        self.output_dir.mkdir(parents=True, exist_ok=True)
        columns = sorted({k for r in self.records for k in r} - {"step"})
        with published_together():
            with atomic_file(self.output_dir / "lp_curve.csv") as staging:
                with open(staging, "w", newline="", encoding="utf-8") as handle:
                    writer = csv.DictWriter(handle, fieldnames=["step", *columns])
                    writer.writeheader()
                    writer.writerows(self.records)
            with atomic_file(self.output_dir / "lp_curve.png") as staging:
                plot_curves(self.records, log_history, staging, self.split)


def plot_curves(
    records: list[dict[str, float]],
    log_history: list[dict[str, Any]],
    path: Path,
    split: str = "validation",
) -> None:
    """Hits@1 and MRR per language against steps (a sample of `split`), and the training
    loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric_names = sorted({k.split("/", 1)[1] for r in records for k in r if "/" in k})
    panels = [m for m in ("hits_at_1", "mrr") if m in metric_names] or metric_names[:2]
    figure, axes = plt.subplots(
        1, len(panels) + 1, figsize=(5 * (len(panels) + 1), 4), squeeze=False
    )
    steps = [r["step"] for r in records]
    for axis, metric in zip(axes[0], panels, strict=False):
        for key in sorted({k for r in records for k in r if k.endswith("/" + metric)}):
            axis.plot(
                steps,
                [r.get(key, float("nan")) for r in records],
                marker="o",
                label=key.split("/")[0][3:],
            )
        shown = "MRR@K (beam)" if metric == "mrr" else metric
        axis.set_title(f"link prediction {shown}, {split} sample")
        axis.set_xlabel("step")
        axis.set_ylim(0, 1)
        axis.legend(fontsize=8)
    losses = [(h["step"], h["loss"]) for h in log_history if "loss" in h]
    loss_axis = axes[0][-1]
    if losses:
        loss_axis.plot(*zip(*losses, strict=True), color="black", marker=".")
    loss_axis.set_title("training loss")
    loss_axis.set_xlabel("step")
    figure.tight_layout()
    figure.savefig(path, dpi=100, format="png")  # `path` may be a staging name
    plt.close(figure)
