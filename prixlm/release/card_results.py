"""Results and settings as a model card shows them: `model-index` entries and tables.

A result is an `evaluate_lp` report (`{"model", "dataset", "split", "mode", "num_beams",
"results": {config: metrics}}`; `model_card.checkpoint_report` makes one from
`train_results.json`). `eval_results` turns the reports into `huggingface_hub.EvalResult`s
(hits@1/3/10 and MRR or MRR@K, fractions in [0, 1], unrounded; the metric config says the
mode, K and the queries measured; a metric a result lacks, or holds as null, is not listed,
nor hits@k for k > K of a beam of K: `shown_metric`); `results_table` into the card's
Markdown table (%); `check_report` refuses what the card cannot show (or another model's report);
`hyperparameters` gives the training table (`prixlm.release.card_settings`) and
`training_data` what the model trained on.

A dataset is named by its Hub id when it has one; a local dataset folder by its card's
`pretty_name`, with a `type` that says it is not on the Hub (no invented Hub id), or by the
card's `--dataset_id` where it is the folder whose Hub copy that id is (`id_folder`). A
result whose candidate labels merged (`merged_candidates`) says how many (`merged_note`).
`check_report` and the weights digest live in `prixlm.release.report_checks`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import EvalResult
from huggingface_hub.repocard import metadata_load

from prixlm.link_prediction.ranking_rules import metric_label
from prixlm.release.card_settings import HYPERPARAMETERS, hyperparameters
from prixlm.release.report_checks import (
    WEIGHTS_DIGEST,
    check_report,
    distinct_names,
    half_precision,
    remembered_digests,
    weights_digest,
)

TASK_TYPE = "link-prediction"
TASK_NAME = "Link prediction (filtered)"
METRICS = ("hits_at_1", "hits_at_3", "hits_at_10")


#: A Hub repo id (`name` or `namespace/name`).
HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


def is_hub_id(dataset: str) -> bool:
    """Whether `dataset` names a Hub repo (not a folder on this machine)."""
    return bool(HUB_ID.match(dataset)) and not Path(dataset).exists()


def on_hub(record: Mapping[str, Any]) -> bool:
    """Whether the `dataset` of `record` (a report, `checkpoint_link_prediction_settings`)
    is a Hub id. Training records it (`dataset_folder`: the absolute path of a local
    `--dataset`, `dataset` that path or a Hub id), so the working directory of the card's
    rendering plays no part; an older record's `dataset`, as typed, is a Hub id when it
    has the form of one and names no folder here (`is_hub_id`)."""
    dataset = str(record.get("dataset") or "")
    if "dataset_folder" in record:
        return bool(dataset) and dataset != record["dataset_folder"]
    return is_hub_id(dataset)


#: The model-index `type` of a local dataset folder: no Hub id, and it says so.
LOCAL_DATASET_TYPE = "{name} (local folder, not on the Hub)"
#: What a report without a dataset is shown as.
UNKNOWN_DATASET = "dataset not recorded"


def dataset_card_metadata(folder: str | Path) -> dict[str, Any]:
    """The YAML front matter of a local dataset folder's `README.md` ({} without one, or
    where it is unreadable: the card then names the folder)."""
    path = Path(folder) / "README.md"
    if not path.is_file():
        return {}
    try:
        metadata = metadata_load(path)
    except (yaml.YAMLError, UnicodeDecodeError):
        return {}
    return metadata if isinstance(metadata, dict) else {}


def report_folder(record: Mapping[str, Any]) -> str | None:
    """The local dataset folder a report (or training's checkpoint settings) evaluated, by
    its absolute path (`dataset_folder`; an older record's `dataset` resolved), None for a
    Hub dataset or none recorded."""
    dataset = str(record.get("dataset") or "")
    if not dataset or on_hub(record):
        return None
    return str(record.get("dataset_folder") or Path(dataset).resolve())


def _report_name(report: Mapping[str, Any]) -> str:
    """A report as an error names it: `test split: en, de` (`, step 300` for a checkpoint's)."""
    step = f", step {report['step']}" if "step" in report else ""
    return f"{report.get('split')} split: {', '.join(report.get('results') or {})}{step}"


def id_folder(
    reports: Sequence[Mapping[str, Any]],
    dataset_id: str | None,
    trained_on: Mapping[str, Any] | None = None,
) -> str | None:
    """The local dataset folder whose Hub copy `dataset_id` is: the one training read
    (`trained_on`: `train_results.json`'s `checkpoint_link_prediction_settings`; its
    `dataset_folder` also where `dataset` is the run's own --dataset_id) where it
    records one, else the one local folder the reports evaluated (None: no id, or none).

    Raises:
        ValueError: without a training folder, the reports evaluate several local folders
            (one id would name them all, with contradictory results).
    """
    if not dataset_id:
        return None
    # a run trained with --dataset_id records the id as `dataset` and its folder apart
    trained = (trained_on or {}).get("dataset_folder") or report_folder(trained_on or {})
    if trained:
        return str(trained)
    folders: dict[str, list[str]] = {}
    for report in reports:
        if (folder := report_folder(report)) is not None:
            folders.setdefault(folder, []).append(_report_name(report))
    if len(folders) > 1:
        listed = "; ".join(f"{f} ({'; '.join(names)})" for f, names in sorted(folders.items()))
        raise ValueError(
            f"--dataset_id {dataset_id} names one dataset, but the reports evaluate "
            f"{len(folders)} local dataset folders: {listed}; keep the reports of one "
            "folder, or render the card without --dataset_id"
        )
    return next(iter(folders), None)


def dataset_names(
    report: Mapping[str, Any],
    dataset_id: str | None,
    folder: str | None = None,
    names: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """(type, name) of a report's dataset in the model-index: its Hub id (both) when it is
    one; else `dataset_id` where the report evaluated `folder` (the local folder whose Hub
    copy the id is: `id_folder`); else, for a local folder, its card's `pretty_name` (or
    the folder's name) and a type saying that the folder is not on the Hub. `names`
    (`local_names` of the card's reports) tells apart local folders of one name."""
    dataset = str(report.get("dataset") or "")
    if dataset and on_hub(report):
        return dataset, dataset
    if dataset_id and folder is not None and report_folder(report) == folder:
        return dataset_id, dataset_id
    if not dataset:
        return UNKNOWN_DATASET, UNKNOWN_DATASET
    name = Path(dataset).name or dataset
    pretty = str(dataset_card_metadata(dataset).get("pretty_name") or name)
    distinct = (names or {}).get(report_folder(report) or "", name)
    if distinct != name:  # another local folder has this name
        return LOCAL_DATASET_TYPE.format(name=distinct), f"{pretty} ({distinct})"
    return LOCAL_DATASET_TYPE.format(name=name), pretty


def local_names(reports: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """`report_checks.distinct_names` of the reports' local dataset folders."""
    return distinct_names(filter(None, map(report_folder, reports)))


def merged_note(metrics: Mapping[str, Any]) -> str:
    """`1,727 of 1,793 candidate labels ranked as another` for a result whose candidates
    merged labels that tokenise alike (`merged_candidates`); empty where none did."""
    merged = metrics.get("merged_candidates") or 0
    if not merged:
        return ""
    distinct = metrics.get("num_candidates")
    of = f" of {merged + distinct:,}" if isinstance(distinct, int) else ""
    return f"{merged:,}{of} candidate labels ranked as another"


def _metric_name(metric: str, language: str = "") -> str:
    """`hits_at_1` -> `Hits@1 (filtered)`, `mrr_at_10` -> `MRR@10 (filtered)`; with the
    object `language` of a result of the `all` or `links` config: `Hits@1 (filtered, de)`."""
    return f"{metric_label(metric)} (filtered{f', {language}' if language else ''})"


def shown_metric(report: Mapping[str, Any], metrics: Mapping[str, Any], metric: str) -> bool:
    """Whether the card shows `metric` of a result (`metrics`, of `report`): it has a value
    (not absent, not null), and for hits@k of a beam of K (`num_beams`), k <= K. A gold
    outside the K beams is a miss, so hits@k for k > K is not hits@k: `evaluate_lp` leaves
    it out, and the card leaves it out of a report of an earlier version that holds it."""
    if metrics.get(metric) is None:
        return False
    name, _, cutoff = metric.partition("_at_")
    beams = report.get("num_beams") if report.get("mode") == "beam" else None
    if name != "hits" or not cutoff.isdigit() or not isinstance(beams, int):
        return True
    return int(cutoff) <= beams


def _mrr_key(metrics: Mapping[str, Any]) -> str | None:
    return next((key for key in metrics if key == "mrr" or key.startswith("mrr_at_")), None)


def _queries(report: Mapping[str, Any], metrics: Mapping[str, Any]) -> str | None:
    """Which queries a result measured: `first 20 queries` (`evaluate_lp --limit`; `all 9
    queries` where the split had fewer), `60 sampled queries` (a checkpoint's random sample, `sample_size` per language), `all 275
    queries` (a sample asked larger than the split is all of it, too)."""
    count = metrics.get("num_queries")
    if report.get("limit"):  # fewer where the split has fewer: all of them
        if count is None or count >= report["limit"]:
            return f"first {report['limit']} queries"
    asked = report.get("sample_size")
    if asked and not (count is not None and count < asked):
        return f"{count if count is not None else asked} sampled queries"
    if count is not None and unrecorded(report, "limit"):
        return f"{count} queries (query limit not recorded)"
    return f"all {count} queries" if count is not None else None


def unrecorded(report: Mapping[str, Any], key: str) -> bool:
    """Whether `evaluate_lp`'s report lacks `key` (`limit`, `candidates`): written by an
    earlier version, which did not record it (a checkpoint's report never has them)."""
    return key not in report and "step" not in report


def candidates_note(report: Mapping[str, Any]) -> str:
    """`candidates <file> (sha256 <first 8>)` for a report over `evaluate_lp --candidates`
    (its `candidates` path and `candidates_sha256`), empty for the dataset's own labels."""
    if unrecorded(report, "candidates"):
        return "candidates not recorded"
    if not report.get("candidates"):
        return ""
    digest = (report.get("candidates_sha256") or "")[:8]
    return f"candidates {Path(report['candidates']).name}" + (
        f" (sha256 {digest})" if digest else ""
    )


def _ranking_config(report: Mapping[str, Any], metrics: Mapping[str, Any]) -> str | None:
    """The metric config of one result: the mode with its K (`beam K=10`), the ranking
    protocol when it is not `ours` (`protocol kens`) and the queries measured (`_queries`):
    `beam K=10, 60 sampled queries`, `beam K=50, all 275 queries`."""
    mode, protocol = report.get("mode") or "", report.get("protocol", "ours")
    if mode == "beam" and report.get("num_beams"):
        mode = f"beam K={report['num_beams']}"
    dtype = half_precision(report)
    parts = [mode, f"protocol {protocol}" if protocol != "ours" else "",
             f"{dtype} weights" if dtype else "", candidates_note(report),
             _queries(report, metrics), merged_note(metrics)]  # fmt: skip
    return ", ".join(part for part in parts if part) or None


def _result_args(language: str) -> dict[str, str] | None:
    """The metric args of a result key's part after its config (`lp_rows.query_groups`):
    `de` -> `{"object_language": "de"}`, `links/de` (the link rows of the `all` config) ->
    `{"object_language": "de", "kind": "link"}`; None for a language's own config."""
    if not language:
        return None
    kind, _, code = language.rpartition("/")
    return {"object_language": code, **({"kind": "link"} if kind == "links" else {})}


def eval_results(
    reports: Sequence[Mapping[str, Any]],
    dataset_id: str | None = None,
    trained_on: Mapping[str, Any] | None = None,
) -> list[EvalResult]:
    """One `EvalResult` per report, config and metric (hits@1/3/10 and MRR or MRR@K).

    A result key `config/language` (the `all` or `links` config, per object language) gives
    `dataset_config=config` and, on each metric, `metric_args={"object_language": language}`
    (named in the metric's name too): the model-index groups results by task, dataset,
    config and split only, and gives a group the dataset args of its first result. `dataset_id`
    names the reports of the local folder `id_folder` finds (`trained_on`: training's
    checkpoint settings). A result whose candidates merged labels says how many in its
    metric config (`merged_note`).
    """
    folder, names = id_folder(reports, dataset_id, trained_on), local_names(reports)
    results = []
    for report in reports:
        dataset_type, dataset_name = dataset_names(report, dataset_id, folder, names)
        for name, metrics in report["results"].items():
            config, _, language = name.partition("/")
            args = _result_args(language)
            mrr = _mrr_key(metrics)
            listed = [*METRICS, *([mrr] if mrr else [])]
            for metric in [m for m in listed if shown_metric(report, metrics, m)]:
                results.append(
                    EvalResult(
                        task_type=TASK_TYPE,
                        task_name=TASK_NAME,
                        dataset_type=dataset_type,
                        dataset_name=dataset_name,
                        dataset_config=config,
                        dataset_split=report.get("split"),
                        metric_type=metric,
                        metric_name=_metric_name(metric, language),
                        metric_args=args,
                        metric_value=metrics[metric],
                        metric_config=_ranking_config(report, metrics),
                    )
                )
    return _named_apart(results)


def _named_apart(results: list[EvalResult]) -> list[EvalResult]:
    """`results` with a metric name that one model-index group (task, dataset, config,
    split) would show twice, for other values (a beam and a full ranking of one split, a
    checkpoint's and a final evaluation), followed by its metric config: `Hits@1
    (filtered) [full, all 275 queries]`. The Hub shows a metric by its name and value."""

    def key(e: EvalResult) -> tuple:
        return (e.dataset_type, e.dataset_name, e.dataset_config, e.dataset_split, e.metric_name)

    counts: dict[tuple, int] = {}
    for result in results:
        counts[key(result)] = counts.get(key(result), 0) + 1
    for result in results:
        if counts[key(result)] > 1 and result.metric_config:
            result.metric_name = f"{result.metric_name} [{result.metric_config}]"
    return results


#: What Markdown reads as markup in a line of text or a table cell: escaped by a backslash.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~])")


def markdown_cell(text: Any) -> str:
    """`text` as one Markdown table cell or line, shown as it is: `|` (a column boundary),
    backslashes and inline markup (`*_`[]<>&~`) escaped, line breaks read as spaces."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))


def results_table(
    reports: Sequence[Mapping[str, Any]],
    dataset_id: str | None = None,
    trained_on: Mapping[str, Any] | None = None,
) -> str:
    """A Markdown table: one row per report and config, metrics in %, `–` for one not shown
    (`shown_metric`); the dataset, config, split and mode cells are shown as they are
    (`markdown_cell`); datasets named as `eval_results` names them. A result whose
    candidates merged labels that tokenise alike (`merged_candidates`) is marked `[n]`, and
    note n under the table says how many labels of how many were ranked as another."""
    folder, names = id_folder(reports, dataset_id, trained_on), local_names(reports)
    lines = [
        "| dataset | config | split | mode | queries | hits@1 | hits@3 | hits@10 | MRR |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    notes: list[str] = []
    for report in reports:
        dataset = markdown_cell(dataset_names(report, dataset_id, folder, names)[1])
        mode = report.get("mode") or ""
        if report.get("num_beams") and mode == "beam":
            mode = f"beam (K={report['num_beams']})"
        if "step" in report:
            mode += f", step {report['step']}"
        if report.get("protocol", "ours") != "ours":
            mode += f", protocol {report['protocol']}"
        if dtype := half_precision(report):
            mode += f", {dtype} weights"
        if note := candidates_note(report):
            mode += f", {note}"
        for name, metrics in report["results"].items():
            mrr = _mrr_key(metrics)
            values = [
                f"{100 * metrics[key]:.1f}" if shown_metric(report, metrics, key) else "–"
                for key in (*METRICS, mrr or "mrr")
            ]
            mrr_label = f" ({metric_label(mrr)})" if mrr and mrr != "mrr" else ""
            config = name
            if merged := merged_note(metrics):
                notes.append(
                    f"[{len(notes) + 1}] {name} ({report.get('split', '')}, {mode}): {merged} "
                    "(they tokenise alike, as labels the tokenizer reads through <unk> "
                    "do): a gold among them counts as found whichever of them is ranked, "
                    "so these figures overstate the model."
                )
                config = f"{name} [{len(notes)}]"
            cells = [dataset, *map(markdown_cell, (config, report.get("split", ""), mode))]
            lines.append(
                f"| {' | '.join(cells)} | {markdown_cell(metrics.get('num_queries', '–'))} "
                f"| {' | '.join(values)}{mrr_label} |"
            )
    for note in notes:  # each its own paragraph
        lines += ["", markdown_cell(note)]
    return "\n".join(lines)


def training_data(train_results: Mapping[str, Any]) -> dict[str, Any]:
    """What the model was trained on, as `train_results.json` records it (the dataset of
    its checkpoint evaluations: `train.py --dataset_id` or `--dataset`, a Hub id or a local
    folder as training found it: `on_hub`): `{"name": Hub id
    or the local card's pretty_name, "hub_id": id or None, "cldr": bool}` ({} if unknown).

    `cldr` marks the KB exported from Unicode CLDR (the repository's demo data): a local
    card whose `source_datasets` name `cldr_kb`, or a Hub id that names CLDR. A local
    card is the one training recorded (`dataset_card`), else (an older record) the folder's
    if it is still there.
    """
    settings = train_results.get("checkpoint_link_prediction_settings") or {}
    dataset = str(settings.get("dataset") or "")
    if not dataset:
        return {}
    if on_hub(settings):
        return {"name": dataset, "hub_id": dataset, "cldr": "cldr" in dataset.lower()}
    metadata = settings.get("dataset_card") or dataset_card_metadata(dataset)
    sources = metadata.get("source_datasets") or []
    return {
        "name": str(metadata.get("pretty_name") or Path(dataset).name or dataset),
        "hub_id": None,
        "cldr": any("cldr" in str(source).lower() for source in sources),
    }


__all__ = [
    "HYPERPARAMETERS",
    "LOCAL_DATASET_TYPE",
    "METRICS",
    "TASK_NAME",
    "TASK_TYPE",
    "WEIGHTS_DIGEST",
    "check_report",
    "dataset_card_metadata",
    "dataset_names",
    "eval_results",
    "hyperparameters",
    "id_folder",
    "is_hub_id",
    "markdown_cell",
    "merged_note",
    "on_hub",
    "report_folder",
    "remembered_digests",
    "results_table",
    "shown_metric",
    "training_data",
    "weights_digest",
]
