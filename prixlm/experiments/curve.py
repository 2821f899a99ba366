"""Prix-LM's validation curve during training, and "train until it is flat".

`ValidationCurve` (a `TrainerCallback`) evaluates the model every `every` steps and at the
last step: the validation `loss` (object tokens and `[EOS]`, as trained; cheap) or the
full-ranking `mrr` of a fixed validation sample per language (what Table 1 reports;
costly on a CPU). With a `FlatRule` it stops training once the curve is flat, or, with an
`anneal_share`, anneals first: from the flat step the learning rate decays linearly from its
current value to 0 over that share of the steps trained so far (flat at step 6,000, share
0.2: steps 6,001-7,200), and training stops there. The points go into the job record
(`prixlm_job`) and `plot_curve` draws them for `docs/results.md`.

    rule = FlatRule(window=4, min_gain=0.005)       # 4 evaluations without +0.005: flat
    rule.is_flat([0.20, 0.30, 0.34, 0.341, 0.338, 0.339, 0.340])  # True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from prixlm.experiments.time_budget import saves_checkpoints, set_schedule
from prixlm.training.log_lines import job_prefix

#: (model, tokenizer) -> {"mean": value, <language>: value, ...} of one curve metric
CurveEvaluator = Callable[[Any, Any], dict[str, float]]

#: whether a larger value of the curve metric is better
HIGHER_IS_BETTER = {"mrr": True, "loss": False}


@dataclass(frozen=True)
class FlatRule:
    """A curve is flat when its last `window` values gained at most `min_gain` over the best
    value before them (absolute, in the metric's units; for a loss, "gain" is a decrease).
    Fewer than `window + 1` values are never flat."""

    window: int = 3
    min_gain: float = 0.0
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"flat_window={self.window}: expected at least 1")
        if self.min_gain < 0:
            raise ValueError(f"flat_min_gain={self.min_gain}: expected >= 0")

    def gain(self, values: Sequence[float]) -> float | None:
        """The recent gain (best of the last `window` minus best before), None if too short."""
        if len(values) <= self.window:
            return None
        sign = 1.0 if self.higher_is_better else -1.0
        before = max(sign * value for value in values[: -self.window])
        recent = max(sign * value for value in values[-self.window :])
        return recent - before

    def is_flat(self, values: Sequence[float]) -> bool:
        gain = self.gain(values)
        return gain is not None and gain <= self.min_gain


def anneal_lambda(step: int, factor: float, start: int, end: int) -> float:
    """The learning-rate factor `factor` at step `start`, decaying linearly to 0 at `end`."""
    return factor * max(0.0, (end - step) / max(1, end - start))


class ValidationCurve(TrainerCallback):
    """Evaluate every `every` steps (and at the last step); when `rule` says the curve of
    `evaluate`'s `"mean"` is flat, stop training, or with `anneal_share` > 0 anneal the
    learning rate to 0 over that share of the steps so far, then stop. `points`:
    `[{"step": s, "mean": v, ...}]`; `flat_at`: the step the curve was flat at (None: it
    never was); `anneal`: `{"from_step", "to_step", "lr_factor"}` once annealing began."""

    def __init__(
        self,
        evaluate: CurveEvaluator,
        every: int,
        rule: FlatRule | None = None,
        anneal_share: float = 0.0,
    ):
        if every < 1:
            raise ValueError(f"curve_every={every}: expected at least 1")
        if anneal_share < 0:
            raise ValueError(f"anneal_share={anneal_share}: expected >= 0")
        self.evaluate, self.every, self.rule = evaluate, every, rule
        self.anneal_share = anneal_share
        self.points: list[dict[str, float]] = []
        #: per language, the labels an `mrr` curve ranks among (`curve_callback`); None: not said
        self.candidate_counts: dict[str, int] | None = None
        self.flat_at: int | None = None
        self.anneal: dict[str, Any] | None = None

    def progress(self) -> dict[str, Any]:
        """What a later start needs to go on (`resume`): the points so far, `flat_at`, and
        the anneal under way."""
        return {"points": [dict(point) for point in self.points], "flat_at": self.flat_at,
                "anneal": dict(self.anneal) if self.anneal else None}  # fmt: skip

    def resume(self, progress: Mapping[str, Any]) -> None:
        """Go on from an earlier start's `progress`: its points stay the curve's first, and
        an anneal it began goes on to the same last step."""
        self.points = [dict(point) for point in progress["points"]]
        self.flat_at = progress["flat_at"]
        self.anneal = dict(progress["anneal"]) if progress.get("anneal") else None

    def trained_schedule(self, last_step: int) -> dict[str, Any]:
        """What the curve changed of the schedule trained up to `last_step`, for the
        release's `train_results.json` (`prixlm.training.trainer.trained_schedule`): the
        anneal (`{"from_step", "to_step", "lr_factor"}`) once begun, and `stopped_by` when
        the flat curve (or its anneal's end) ended the run there; `{}` when it changed none."""
        record: dict[str, Any] = {}
        if self.anneal is not None:
            record["anneal"] = dict(self.anneal)
            if last_step >= self.anneal["to_step"]:
                record["stopped_by"] = "flat curve, then annealed"
        elif self.flat_at is not None and last_step == self.flat_at:
            record["stopped_by"] = "flat curve"
        return record

    def _record(self, step: int, model: Any, tokenizer: Any) -> None:
        if self.points and self.points[-1]["step"] == step:
            return
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                values = self.evaluate(model, tokenizer)
        finally:
            model.train(was_training)
        self.points.append({"step": step, **{k: float(v) for k, v in values.items()}})
        print(f"  {job_prefix()}validation curve: step {step} {values}", flush=True)

    def _aim_anneal(self, lr_scheduler: Any) -> None:
        """Point the schedule at the anneal (after `TimeBudget`'s, which runs first)."""
        if lr_scheduler is None or self.anneal is None:
            return
        a = self.anneal
        set_schedule(lr_scheduler, functools.partial(anneal_lambda, factor=a["lr_factor"],
                                                     start=a["from_step"], end=a["to_step"]))  # fmt: skip

    def on_train_begin(self, args, state, control, lr_scheduler=None, **kwargs):
        if self.anneal is not None:  # resumed while annealing
            state.max_steps = self.anneal["to_step"]
            self._aim_anneal(lr_scheduler)

    def _stop(self, args: Any, state: Any, control: Any) -> None:
        # stop here, and save: the last checkpoint then says the run ended at this step
        # (a run stopped before its release folder is written goes on from it no further);
        # with `--save_strategy no` no checkpoint is asked for, none is written
        state.max_steps = state.global_step
        control.should_training_stop = True
        control.should_save = saves_checkpoints(args)

    def on_step_end(
        self, args, state, control, model=None, processing_class=None, lr_scheduler=None, **kwargs
    ):
        step = state.global_step
        if self.anneal is not None and step >= self.anneal["to_step"]:
            self._record(step, model, processing_class)
            self._stop(args, state, control)
            return control
        if step % self.every:
            return control
        self._record(step, model, processing_class)
        if self.flat_at is not None or self.rule is None:
            return control
        if self.rule.is_flat([p["mean"] for p in self.points]):
            self.flat_at = step
            if self.anneal_share <= 0:
                self._stop(args, state, control)
                return control
            factor = 1.0
            if lr_scheduler is not None:
                factor = float(lr_scheduler.lr_lambdas[0](lr_scheduler.last_epoch))
            to_step = step + max(1, math.ceil(self.anneal_share * step))
            self.anneal = {"from_step": step, "to_step": to_step, "lr_factor": factor}
            state.max_steps = to_step
            self._aim_anneal(lr_scheduler)
        return control

    def on_train_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        self._record(state.global_step, model, processing_class)  # the last step's point


def loss_evaluator(
    rows: Mapping[str, Any], max_length: int | None, batch_size: int = 64
) -> CurveEvaluator:
    """Validation loss per language of `rows` (`{language: datasets.Dataset}`), weighted by
    label tokens (tokenized with the training tokenizer at the first call); `"mean"`: the
    mean over languages."""
    from prixlm.training.collator import PrixLMCollator
    from prixlm.training.data import tokenize_rows

    batches: dict[str, list[dict[str, Any]]] = {}

    @torch.no_grad()
    def evaluate(model: Any, tokenizer: Any) -> dict[str, float]:
        if not batches:
            collate = PrixLMCollator.for_model(model.config)
            for language, split in rows.items():
                encoded = tokenize_rows(split, tokenizer, max_length).to_list()
                batches[language] = [
                    collate(encoded[start : start + batch_size])
                    for start in range(0, len(encoded), batch_size)
                ]
        device = next(model.parameters()).device
        values = {}
        for language, language_batches in batches.items():
            total, count = 0.0, 0
            for batch in language_batches:
                inputs = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
                labels = int((batch["labels"] != -100).sum())
                total += float(model(**inputs).loss) * labels
                count += labels
            values[language] = total / max(1, count)
        return {"mean": sum(values.values()) / len(values), **values}

    return evaluate


def mrr_evaluator(
    samples: Mapping[str, Sequence[dict[str, Any]]],
    candidates: Mapping[str, Sequence[str]],
    score_batch: int,
    score_rows: int,
) -> CurveEvaluator:
    """Full-ranking validation MRR per language of `samples` (`{language: rows}`) over
    `candidates` (`PrixLMScorer`: labels that tokenise identically are one entity, as in
    `evaluate_lp --mode full` and Table 1's rankings; labels the model's positions cannot
    hold after a prompt left out as `evaluate_lp` leaves them, `fitted_scoring`); `"mean"`:
    the mean over languages."""
    from prixlm.link_prediction.fitted_scoring import fitted_scorer_protocols
    from prixlm.link_prediction.scorer import PrixLMScorer

    def evaluate(model: Any, tokenizer: Any) -> dict[str, float]:
        scorer = PrixLMScorer(model, tokenizer, score_batch, score_rows)
        values = {}
        for language, rows in samples.items():  # labels the positions cannot hold: left out
            ranked = fitted_scorer_protocols(
                scorer, rows, candidates[language], batch_size=score_batch
            )
            values[language] = float(ranked["ours"]["mrr"])
        return {"mean": sum(values.values()) / len(values), **values}

    return evaluate


def curve_callback(
    dataset_dir: str,
    languages: Sequence[str],
    metric: str,
    every: int,
    queries: int,
    window: int,
    min_gain: float,
    score_batch: int = 8,
    score_rows: int = 512,
    max_length: int | None = None,
    anneal_share: float = 0.0,
    candidates: Mapping[str, Sequence[str]] | None = None,
) -> ValidationCurve:
    """The `ValidationCurve` of a run on `languages` of `dataset_dir`: `metric` `loss` (every
    validation fact) or `mrr` (the first `queries` validation rows per language, ranked
    over `candidates[language]`, the labels the job's evaluation ranks among; default: the
    language's `dataset_candidates`, as `evaluate_lp` ranks them), flat by
    `FlatRule(window, min_gain)`, then stopped or annealed over `anneal_share` more steps.
    For `mrr`, the curve's `candidate_counts` say how many labels it ranked per language."""
    from prixlm.training.data import load_split

    if metric not in HIGHER_IS_BETTER:
        raise ValueError(f"curve_metric={metric!r}: expected one of {sorted(HIGHER_IS_BETTER)}")
    rule = FlatRule(window, min_gain, HIGHER_IS_BETTER[metric])
    splits = {language: load_split(dataset_dir, language, "validation") for language in languages}
    if metric == "loss":
        return ValidationCurve(loss_evaluator(splits, max_length), every, rule, anneal_share)
    from prixlm.link_prediction.candidate_files import dataset_candidates

    if candidates is None:
        candidates = dataset_candidates(dataset_dir, languages)
    samples = {language: split.to_list()[:queries] for language, split in splits.items()}
    evaluate = mrr_evaluator(samples, candidates, score_batch, score_rows)
    curve = ValidationCurve(evaluate, every, rule, anneal_share)
    curve.candidate_counts = {language: len(candidates[language]) for language in languages}
    return curve


def plot_curve(curve: Mapping[str, Any], path: Path, title: str) -> None:
    """The curve's mean (thick) and per-language values against steps; `flat_at` and the
    anneal's end marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from prixlm.outputs.atomic import atomic_file

    points = curve["points"]
    steps = [p["step"] for p in points]
    figure, axis = plt.subplots(figsize=(7, 4))
    languages = sorted({k for p in points for k in p} - {"step", "mean"})
    for language in languages:
        axis.plot(steps, [p.get(language, float("nan")) for p in points], lw=1, alpha=0.6,
                  label=language)  # fmt: skip
    axis.plot(steps, [p["mean"] for p in points], color="black", lw=2.5, marker="o", label="mean")
    anneal = curve.get("anneal")
    if curve.get("flat_at") is not None:
        label = "flat: annealed from here" if anneal else "flat: stopped"
        axis.axvline(curve["flat_at"], color="grey", ls="--", label=label)
    if anneal:
        axis.axvline(anneal["to_step"], color="grey", ls=":", label="learning rate 0: stopped")
    axis.set_xlabel("training step")
    axis.set_ylabel(f"validation {curve['metric']}")
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    with atomic_file(path, "--chart") as staging:
        figure.savefig(staging, format="png", dpi=100)
    plt.close(figure)


__all__ = [
    "HIGHER_IS_BETTER",
    "FlatRule",
    "anneal_lambda",
    "ValidationCurve",
    "curve_callback",
    "loss_evaluator",
    "mrr_evaluator",
    "plot_curve",
]
