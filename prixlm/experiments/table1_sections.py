"""Sections of the Table 1 docs block on how the runs went: each search's winner, the
Prix-LM variants (steps, wall times, commands, beam MRR) and the ablations.

`table1_docs.render` puts them in the block (and re-exports them with `percent`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prixlm.link_prediction.ranking_rules import metric_label


def percent(value: float) -> str:
    """A fraction as the table shows it: percent, one decimal."""
    return f"{100 * value:.1f}"


def runs_section(table: Mapping[str, Any]) -> str:
    """Search grids' winners, Prix-LM variants with steps and wall times, seeds, commands."""
    details, lines = table.get("details", {}), []
    for model in ("TransE", "RotatE"):
        for lang, run in details.get(model, {}).items():
            winner = ", ".join(f"{k}={v}" for k, v in run["winner"].items() if k != "model")
            cut = " (search cut by its time limit)" if run.get("grid_truncated") else ""
            if "grid_points" in run:  # the early-stopped search: configurations x epoch points
                stop = run.get("early_stopping") or {}
                rule = (
                    (
                        f", early stopping after {stop['patience']} evaluations without a relative "
                        f"gain of {stop['relative_delta']:g}"
                    )
                    if stop
                    else ""
                )
                hits = run.get("validation", {}).get("hits_at_1")
                lines.append(f"- {model} {lang}: {run['grid_points']} configurations, "
                             f"{len(run['grid'])} validation points{cut}{rule}; winner {winner} "
                             f"(validation MRR {percent(run['validation_mrr'])}"
                             + (f", hits@1 {percent(hits)}" if hits is not None else "")
                             + f"), {run['seconds']} s")  # fmt: skip
                continue
            lines.append(f"- {model} {lang}: {len(run['grid'])} grid points{cut}, winner {winner} "
                         f"(validation MRR {percent(run['validation_mrr'])}), {run['seconds']} s")  # fmt: skip
    if "RotatE (union graph)" in details:
        union = details["RotatE (union graph)"]
        winner = ", ".join(f"{k}={v}" for k, v in union["winner"].items() if k != "model")
        cut = " (search cut by its time limit)" if union.get("grid_truncated") else ""
        lines.append(f"- RotatE (union graph): {union['train_triples']} training triples "
                     f"(triples + sameAs links), winner {winner}{cut}, {union['seconds']} s")  # fmt: skip
    for method in ("Prix-LM (Single)", "Prix-LM (All)"):
        if method not in details:
            continue
        info = details[method]
        lines.append(f"- {method}: selected variant `{info['selected_variant']}` "
                     f"(mean validation MRR {percent(info['validation_mrr'])})")  # fmt: skip
        for name, run in sorted(info["variants"].items()):
            budget = run.get("time_budget_s")
            note = f" (fitted to a {budget:g} s training budget)" if budget else ""
            if run.get("resumed_from_step"):
                note += f", stopped and gone on from its step-{run['resumed_from_step']} checkpoint"
            if run.get("evaluated_again"):
                note += ", trained by an earlier start of the run"
            lines.append(f"  - `{name}`: {run['steps']} steps{note}, train {run['train_seconds']} s, "
                         f"eval {run['eval_seconds']} s; `{run['command']}`")  # fmt: skip
            beam = {
                lang: m
                for lang, m in run["test"].items()
                if any(k.startswith("mrr_at_") for k in m)
            }
            for lang, m in sorted(beam.items()):
                key = next(k for k in m if k.startswith("mrr_at_"))
                lines.append(f"    - {lang}: full-ranking MRR {percent(m['mrr'])}, beam {metric_label(key)} {percent(m[key])}")  # fmt: skip
    return "\n".join(lines)


def model_size(settings: Mapping[str, Any]) -> str:
    """`hidden x layers` of a Prix-LM run's train.py `settings`, e.g. `256 x 4`."""
    return f"{settings['hidden_size']} x {settings['num_hidden_layers']}"


def ablations_section(table: Mapping[str, Any]) -> str:
    """Prix-LM ablations on validation (`ablations`: runs with settings and metrics)."""
    ablations = table.get("ablations")
    if not ablations:
        return ""
    languages = ablations["languages"]
    lines = [
        f"### Ablations (Prix-LM All on {', '.join(languages)}, {ablations['split']} split, "
        "full ranking, %)",
        "",
        "| variant | links | model | steps | train s | "
        + " | ".join(f"{lang} hits@1 | {lang} MRR" for lang in languages)
        + " | avg hits@1 | avg MRR |",
        "|---|---|---|---:|---:|" + "---:|" * (2 * len(languages) + 2),
    ]
    for name, run in ablations["runs"].items():
        cells = run["validation"]
        values = []
        for lang in languages:
            values += [percent(cells[lang]["hits_at_1"]), percent(cells[lang]["mrr"])]
        mean_h1 = sum(cells[lang]["hits_at_1"] for lang in languages) / len(languages)
        mean_mrr = sum(cells[lang]["mrr"] for lang in languages) / len(languages)
        lines.append(
            f"| {name} | {run['dataset']} | {model_size(run['settings'])} | {run['steps']} | "
            f"{run['train_seconds']} | "
            + " | ".join(values)
            + f" | {percent(mean_h1)} | {percent(mean_mrr)} |"
        )
    return "\n".join(lines) + "\n"
