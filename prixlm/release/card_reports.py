"""A release folder's JSON files and the evaluation reports it keeps.

`read_json_object` reads `config.json`, `training_args.json` and `train_results.json` (one
error line naming the file and line for a file that is not a JSON object);
`checkpoint_report` turns the training's last checkpoint evaluation into an `evaluate_lp`
report; `stored_evaluations`, `merged_evaluations` and `keep_evaluations` read, merge and
write the folder's `evaluation_results.json` (a newer report of the same evaluation replaces
the kept one; kept reports are checked against the folder's weights).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prixlm.outputs.atomic import atomic_file
from prixlm.release.card_results import check_report, unrecorded
from prixlm.release.report_checks import (
    EVALUATIONS_FILE,
    check_kept,
    current_metric_keys,
    half_precision,
)
from prixlm.text_lines import utf8_lines


def read_json(path: Path) -> Any:
    """The JSON value of `path` (`{}` if there is no such file); `ValueError` naming the file
    and line for a file that is not JSON or not UTF-8."""
    if not path.is_file():
        return {}
    # line by line: a byte that is not UTF-8 named by its line (a bare UnicodeDecodeError
    # named no file); the lines joined keep JSON's line numbers
    text = "\n".join(line for _, line in utf8_lines(path))
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from error


def read_json_object(path: Path) -> dict[str, Any]:
    """`read_json` of a file that must hold a JSON object (`{}` if there is none): a list or
    a string there was an `AttributeError` traceback."""
    value = read_json(path)
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a JSON object, not {type(value).__name__}")
    return value


def checkpoint_report(train_results: Mapping[str, Any]) -> dict[str, Any] | None:
    """The last checkpoint's link prediction in `train_results.json`, as an `evaluate_lp`
    report (`{"dataset", "split", "mode", "num_beams", "results": {language: metrics}}`).

    `checkpoint_link_prediction` records are `{"step": n, "lp_<language>/hits_at_1": x,
    "lp_<language>/mrr": y}` (MRR over the K beams, i.e. MRR@K); the sampling settings are
    `checkpoint_link_prediction_settings`; `sample_size` is the random sample asked per
    language (`--lp_eval_queries`), which the model-index names. `None` when no checkpoint
    was evaluated.
    """
    records = train_results.get("checkpoint_link_prediction") or []
    if not records:
        return None
    last = max(records, key=lambda record: record["step"])
    settings = train_results.get("checkpoint_link_prediction_settings", {})
    num_beams = settings.get("num_beams")
    results: dict[str, dict[str, float | int]] = {}
    for key, value in last.items():
        if key == "step":
            continue
        language, metric = key.removeprefix("lp_").split("/", 1)
        metric = next(iter(current_metric_keys({metric: None})))  # `hits@1`: earlier runs'
        if metric == "mrr" and num_beams:
            metric = f"mrr_at_{num_beams}"
        results.setdefault(language, {})[metric] = value
        # the sample's size (fewer than asked where the split is smaller); older runs
        # recorded only the number asked for
        queries = settings.get("queries", {}).get(language, settings.get("queries_per_language"))
        if queries:
            results[language].setdefault("num_queries", queries)
    return {
        "dataset": settings.get("dataset"),
        **({"dataset_folder": settings["dataset_folder"]} if "dataset_folder" in settings else {}),
        "split": settings.get("split", "validation"),
        "mode": "beam",
        "num_beams": num_beams,
        "sample_size": settings.get("queries_per_language"),
        "step": last["step"],
        "results": results,
    }


def stored_evaluations(folder: str | Path, weights: bool = True) -> list[dict[str, Any]]:
    """The reports kept in `folder/evaluation_results.json` (oldest first; [] if none),
    with `weights` each checked against the folder's weights (`check_kept`)."""
    path = Path(folder) / EVALUATIONS_FILE
    stored = read_json(path) if path.is_file() else []
    if not isinstance(stored, list):
        raise ValueError(f"{path}: expected a JSON list of evaluate_lp reports")
    reports = [check_report(report, f"{path}, report {i + 1}") for i, report in enumerate(stored)]
    return check_kept(dict(enumerate(reports, 1)), path, folder) if weights else reports


def _report_key(report: Mapping[str, Any]) -> tuple:
    """What makes a report another evaluation: its dataset (a local folder by its absolute
    path, `dataset_folder`, however `--dataset` was typed), split, mode, beams, protocol,
    limit, configs, candidates (`evaluate_lp --candidates`, by content) and half-precision
    weights (`evaluate_lp --dtype bfloat16`: not the float32 evaluation); a newer report
    with the same key replaces the kept one."""
    dataset = report.get("dataset_folder") or report.get("dataset")
    return (dataset, report.get("split"), report.get("mode"),
            report.get("num_beams"), report.get("protocol", "ours"), report.get("limit"),
            tuple(sorted(report.get("results", {}))),
            report.get("candidates_sha256") or report.get("candidates")
            or ("not recorded" if unrecorded(report, "candidates") else None),
            half_precision(report))  # fmt: skip


def merged_evaluations(
    folder: str | Path, reports: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The folder's kept reports with `reports` added (a report of the same dataset, split,
    mode, K, protocol, query limit and configs replaces the earlier one); a kept report that
    none replaces is checked against the folder's weights (`check_kept`)."""
    stored = dict(enumerate(stored_evaluations(folder, weights=False), 1))
    new = {_report_key(r): dict(r) for r in reports}
    left = {i: r for i, r in stored.items() if _report_key(r) not in new}
    check_kept(left, Path(folder) / EVALUATIONS_FILE, folder)
    kept = {_report_key(r): dict(r) for r in stored.values()}
    kept.update(new)
    return list(kept.values())


def keep_evaluations(folder: str | Path, reports: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Write `merged_evaluations` into the folder (when `reports` adds any); returns them."""
    merged = merged_evaluations(folder, reports)
    if reports:
        with atomic_file(Path(folder) / EVALUATIONS_FILE, argument="--evaluation") as staging:
            staging.write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
    return merged


__all__ = [
    "checkpoint_report",
    "keep_evaluations",
    "merged_evaluations",
    "read_json",
    "read_json_object",
    "stored_evaluations",
]
