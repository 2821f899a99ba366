"""Link prediction results as a model card shows them: `model-index` entries and a table.

A result is an `evaluate_lp` report (`{"dataset", "split", "mode", "num_beams", "results":
{config: metrics}}`; `model_card.checkpoint_report` makes one from `train_results.json`).
`eval_results` turns the reports into `huggingface_hub.EvalResult`s (hits@1/3/10 and MRR or
MRR@K, fractions in [0, 1], unrounded); `results_table` into the card's Markdown table (%).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult

from prixlm.link_prediction.ranking_rules import metric_label

TASK_TYPE = "link-prediction"
TASK_NAME = "Link prediction (filtered)"
METRICS = ("hits_at_1", "hits_at_3", "hits_at_10")


#: A Hub repo id (`name` or `namespace/name`).
HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


def is_hub_id(dataset: str) -> bool:
    """Whether `dataset` names a Hub repo (not a folder on this machine)."""
    return bool(HUB_ID.match(dataset)) and not Path(dataset).exists()


def _dataset_id(report: Mapping[str, Any], dataset_id: str | None) -> str:
    """The Hub id a report's dataset is shown under: its own when it is a Hub id; else
    `dataset_id` (the Hub id of the local folder it was evaluated on); else the folder's
    name."""
    dataset = str(report.get("dataset") or "")
    if dataset and is_hub_id(dataset):
        return dataset
    if dataset_id:
        return dataset_id
    return Path(dataset).name if dataset else "prixlm-dataset"


def _metric_name(metric: str) -> str:
    """`hits_at_1` -> `Hits@1 (filtered)`, `mrr_at_10` -> `MRR@10 (filtered)`."""
    return f"{metric_label(metric)} (filtered)"


def _mrr_key(metrics: Mapping[str, Any]) -> str | None:
    return next((key for key in metrics if key == "mrr" or key.startswith("mrr_at_")), None)


def _ranking_config(report: Mapping[str, Any]) -> str | None:
    """The report's mode, its ranking protocol when it is not `ours` (`mode, protocol kens`),
    and its query limit when it had one (`mode, first 20 queries`)."""
    mode, protocol = report.get("mode"), report.get("protocol", "ours")
    parts = [mode or ""]
    if protocol != "ours":
        parts.append(f"protocol {protocol}")
    if report.get("limit"):
        parts.append(f"first {report['limit']} queries")
    return ", ".join(part for part in parts if part) or None


def eval_results(
    reports: Sequence[Mapping[str, Any]], dataset_id: str | None = None
) -> list[EvalResult]:
    """One `EvalResult` per report, config and metric (hits@1/3/10 and MRR or MRR@K).

    A result key `config/language` (the `all` or `links` config, per object language) gives
    `dataset_config=config` and `dataset_args={"object_language": language}`.
    """
    results = []
    for report in reports:
        dataset = _dataset_id(report, dataset_id)
        for name, metrics in report["results"].items():
            config, _, language = name.partition("/")
            mrr = _mrr_key(metrics)
            for metric in [m for m in METRICS if m in metrics] + ([mrr] if mrr else []):
                results.append(
                    EvalResult(
                        task_type=TASK_TYPE,
                        task_name=TASK_NAME,
                        dataset_type=dataset,
                        dataset_name=dataset,
                        dataset_config=config,
                        dataset_split=report.get("split"),
                        dataset_args={"object_language": language} if language else None,
                        metric_type=metric,
                        metric_name=_metric_name(metric),
                        metric_value=metrics[metric],
                        metric_config=_ranking_config(report),
                    )
                )
    return results


def results_table(reports: Sequence[Mapping[str, Any]], dataset_id: str | None = None) -> str:
    """A Markdown table: one row per report and config, metrics in %."""
    lines = [
        "| dataset | config | split | mode | queries | hits@1 | hits@3 | hits@10 | MRR |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for report in reports:
        mode = report.get("mode") or ""
        if report.get("num_beams") and mode == "beam":
            mode = f"beam (K={report['num_beams']})"
        if "step" in report:
            mode += f", step {report['step']}"
        if report.get("protocol", "ours") != "ours":
            mode += f", protocol {report['protocol']}"
        for name, metrics in report["results"].items():
            mrr = _mrr_key(metrics)
            values = [
                f"{100 * metrics[key]:.1f}" if key in metrics else "–"
                for key in (*METRICS, mrr or "mrr")
            ]
            mrr_label = f" ({metric_label(mrr)})" if mrr and mrr != "mrr" else ""
            lines.append(
                f"| {_dataset_id(report, dataset_id)} | {name} | {report.get('split', '')} "
                f"| {mode} | {metrics.get('num_queries', '–')} | {' | '.join(values)}{mrr_label} |"
            )
    return "\n".join(lines)


__all__ = ["METRICS", "TASK_NAME", "TASK_TYPE", "eval_results", "results_table"]
