"""The model card (`README.md`) of a release folder, rendered from the folder's results.

`write_model_card(folder, ...)` reads what the folder holds (`config.json`,
`training_args.json`, `train_results.json` with the link prediction at every checkpoint) plus
any `evaluate_lp` JSON reports, and renders the repository's `model_card.md` (a Jinja
template) with `huggingface_hub.ModelCard.from_template`: the YAML (languages, datasets, base
model, widget examples, `model-index` with hits@1/3/10 and MRR per dataset, config and split)
is `ModelCardData`'s, never hand-written (the results: `card_results`); the body gets the
results table, the Fig. 2 curve (copied into the folder as `lp_curve.png`) and the training
hyper-parameters.

    python -m prixlm.release.model_card FOLDER [--evaluation results.json [--evaluation ...]] \\
        [--curve runs/x/lp_curve.png] [--dataset_id org/prixlm-dbpedia] [--base_model xlm-roberta-base] \\
        [--repo_id org/prixlm]

The numbers on the card are the JSON's, unrounded, in `model-index` (fractions in [0, 1]);
the Markdown table shows them in %. Every `--evaluation` report is kept in the folder
(`evaluation_results.json`), so a later rendering (`python -m prixlm.publish FOLDER REPO_ID`
renders the card again for the repo it uploads to) keeps the test results. `datasets:` names
Hub ids only (`--dataset_id`): a local dataset folder appears by its card's `pretty_name`,
under a model-index `type` that says it is not on the Hub. `--dataset_id` is the Hub copy of
the folder the model was trained on: it names that folder's reports only (without a training
record, the one folder the reports evaluated; reports of several folders are refused).
A report of another model (its `model` an existing folder other than FOLDER) is refused.
`pipeline_tag` is `other`: the folder's custom pipeline (`pipeline_prixlm.py`) is no
standard task, and the `text-generation` widget cannot run it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

from prixlm.cli import command_parser, user_errors
from prixlm.hub.calls import check_repo_id
from prixlm.hub.languages import hub_languages
from prixlm.outputs.atomic import atomic_file, published_together, writer_lock
from prixlm.release.card_defaults import card_options
from prixlm.release.card_examples import (  # noqa: F401 - importable here as before
    DEFAULT_QUERY,
    EXAMPLE_CANDIDATES,
    example_candidates,
    example_code,
    widget_entries,
)
from prixlm.release.card_results import (
    check_report,
    eval_results,
    hyperparameters,
    is_hub_id,
    markdown_cell,
    on_hub,
    remembered_digests,
    results_table,
    training_data,
    unrecorded,
)
from prixlm.release.report_checks import (
    EVALUATIONS_FILE,
    check_kept,
    current_metric_keys,
    half_precision,
    per_protocol,
)
from prixlm.text_lines import utf8_lines

#: The repository's `model_card.md`, through the link beside this module (package data).
TEMPLATE = Path(__file__).with_name("model_card.md")
CURVE_NAME = "lp_curve.png"
#: The first 8 bytes of every PNG file.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: No standard task fits the folder's custom pipeline (text-generation's fails on it).
PIPELINE_TAG = "other"
#: The card's tags (what the Hub filters models by).
TAGS = ["knowledge-base-completion", "link-prediction", "multilingual", "prix-lm", "custom_code"]
#: The folder's stored candidate entities (`{language: [labels]}`), which its pipeline ranks.
CANDIDATES_FILE = "candidates.json"


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    # line by line: a byte that is not UTF-8 named by its line (a bare UnicodeDecodeError
    # named no file); the lines joined keep JSON's line numbers
    text = "\n".join(line for _, line in utf8_lines(path))
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from error


def _read_object(path: Path) -> dict[str, Any]:
    """`_read_json` of a file that must hold a JSON object (`{}` if there is none): a list or
    a string there was an `AttributeError` traceback."""
    value = _read_json(path)
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


def hub_dataset_ids(reports: Sequence[Mapping[str, Any]], dataset_id: str | None) -> list[str]:
    """The `datasets:` of the card: `dataset_id` (the Hub id of the local folders evaluated
    on), and the reports' datasets that are Hub ids (not local folders, which a Hub user
    cannot load)."""
    found = [dataset_id] if dataset_id else []
    for report in reports:
        if on_hub(report):
            found.append(str(report["dataset"]))
    return sorted(set(found))


def stored_evaluations(folder: str | Path, weights: bool = True) -> list[dict[str, Any]]:
    """The reports kept in `folder/evaluation_results.json` (oldest first; [] if none),
    with `weights` each checked against the folder's weights (`check_kept`)."""
    path = Path(folder) / EVALUATIONS_FILE
    stored = _read_json(path) if path.is_file() else []
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


def render_model_card(
    folder: str | Path,
    *,
    evaluations: Sequence[Mapping[str, Any]] = (),
    dataset_id: str | None = None,
    base_model: str | None = None,
    languages: Sequence[str] | None = None,
    widget: Sequence[str | Mapping[str, Any]] | None = None,
    repo_id: str | None = None,
    model_name: str | None = None,
    curve: str | None = None,
    revision: str | None = None,
    template: str | Path = TEMPLATE,
) -> ModelCard:
    """The card of the release `folder` (not written; see `write_model_card`).

    Args:
        folder: a release folder (`config.json`; `training_args.json` and
            `train_results.json` when trained here).
        evaluations: `evaluate_lp --output` reports, after the last checkpoint's results
            and the folder's kept ones (`evaluation_results.json`).
        dataset_id: Hub id of the training dataset's local folder, naming that folder's
            reports (`card_results.id_folder`; default: each report's dataset, a folder by
            name). ValueError where no training folder is recorded and the reports
            evaluate several local folders.
        base_model: the Hub id of the checkpoint this model continued, if any (a local
            folder is left out: the card's `base_model:` and link need a Hub id).
        languages: default: `train_results.json`'s `languages`.
        widget: widget examples (`"Germany | currency"` or `{"text": ...}`).
        repo_id: the Hub id in the usage snippet (default: the folder's path).
        model_name: the card's title and model-index name (default: the repo's or folder's
            name; give it when `folder` is a staging folder).
        curve: file name of the Fig. 2 curve inside `folder`, if there is one.
        revision: the branch or tag of `repo_id` the card is on, when not main: the usage
            snippets load it (`revision=`), as a bare repo id loads main.
    """
    folder = Path(folder)
    if base_model is not None and not is_hub_id(base_model):
        base_model = None  # a folder on this machine: no Hub id for `base_model:` or a link
    config = _read_object(folder / "config.json")
    training_args = _read_object(folder / "training_args.json")
    train_results = _read_object(folder / "train_results.json")
    reports = [r for r in (checkpoint_report(train_results),) if r]
    reports += merged_evaluations(folder, evaluations)
    # the edition codes (`zh-min-nan`): the card's `language:` holds their ISO codes
    recorded = train_results.get("languages") or sorted(config.get("language_token_ids") or {})
    languages = list(languages or recorded)
    widget = widget_entries(widget)
    # --dataset_id names the reports of the folder training read (`card_results.id_folder`)
    settings = train_results.get("checkpoint_link_prediction_settings") or {}
    dataset_ids = hub_dataset_ids(reports, dataset_id)
    model_name = model_name or (repo_id.split("/")[-1] if repo_id else folder.resolve().name)
    trained_on = training_data(train_results)
    if dataset_id and trained_on and trained_on.get("hub_id") is None:
        # trained here on a local folder whose Hub copy is --dataset_id (publish)
        trained_on = {**trained_on, "name": dataset_id, "hub_id": dataset_id}
    card_data = ModelCardData(
        model_name=model_name,
        # ISO 639 codes, as the Hub asks; the body's "Languages:" keeps the edition codes
        language=hub_languages(languages) or None,
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag=PIPELINE_TAG,
        tags=TAGS,
        datasets=dataset_ids or None,
        base_model=base_model,
        eval_results=eval_results(reports, dataset_id, settings) or None,
        widget=widget,
    )
    has_pipeline = bool(config.get("custom_pipelines")) or (folder / "pipeline_prixlm.py").exists()
    has_candidates = (folder / CANDIDATES_FILE).is_file()
    revision = None if revision in (None, "", "main") else revision
    repo_id = repo_id or str(folder)
    query = widget[0]["text"]
    candidates = None if has_candidates else example_candidates(query, languages)
    return ModelCard.from_template(
        card_data,
        template_path=str(template),
        model_name=model_name,
        repo_id=repo_id,
        # `candidates=` of the pipeline example where none are stored; `revision=` to load it
        **example_code(repo_id, query, revision, candidates),
        base_model=base_model,
        # no training record: the weights were converted (convert_official), not trained here
        converted=not (training_args or train_results),
        continued_release=train_results.get("continued_from") or {},  # a release trained on
        trained_on=trained_on,
        trained_on_name=markdown_cell(trained_on.get("name") or ""),
        languages=languages,
        evaluation_languages=evaluation_languages(languages),
        object_attention=config.get("object_attention", "prefix_bidirectional"),
        has_pipeline=has_pipeline,
        has_candidates=has_candidates,
        revision=revision,
        results_table=results_table(reports, dataset_id, settings) if reports else "",
        curve=curve,
        hyperparameters=hyperparameters(training_args, train_results, config),
    )


def evaluation_languages(languages: Sequence[str]) -> str:
    """`--languages` of the card's `evaluate_lp` command: the model's own languages (the first
    of more than nine, the paper's Table 1 count, to keep the line short); `de` where the
    folder records none."""
    if not languages:
        return "de"
    return ",".join(languages) if len(languages) <= 9 else languages[0]


def write_model_card(
    folder: str | Path, *, curve: str | Path | None = None, **options: Any
) -> ModelCard:
    """Render the card of `folder` (`render_model_card(**options)`) into `folder/README.md`.

    `curve` (the run's `lp_curve.png`) is copied into the folder and embedded; `evaluations`
    are kept in the folder (`evaluation_results.json`). Options not given keep what the
    folder's earlier card said (`card_options`). The files are written atomically, as a set:
    none replaces its earlier version until all are written, and one process at a time
    writes a folder's card (`writer_lock`: two at once each rendered the kept reports as
    they were before the other's, and the last card left out the other's report). Returns
    the card.
    """
    with writer_lock(folder, argument="FOLDER"):
        return _write_card(Path(folder), curve, options)


def _write_card(folder: Path, curve: str | Path | None, options: dict[str, Any]) -> ModelCard:
    """`write_model_card`, holding the folder's lock."""
    options = {**card_options(folder), **{k: v for k, v in options.items() if v is not None}}
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"FOLDER {folder}: not a model folder (no config.json)")
    curve_name = None
    if curve is not None:
        curve = Path(curve)
        if not curve.is_file():
            raise FileNotFoundError(f"--curve {curve}: no such file")
        with curve.open("rb") as handle:  # another file was copied in as lp_curve.png
            if handle.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
                raise ValueError(f"--curve {curve}: not a PNG image (no PNG signature)")
        curve_name = CURVE_NAME
    elif (folder / CURVE_NAME).is_file():
        curve_name = CURVE_NAME
    with remembered_digests():  # the folder's weights hashed once for every report
        evaluations = [
            check_report(one, f"evaluations[{i}]", folder)
            for i, report in enumerate(options.pop("evaluations", ()))
            for one in per_protocol(report)
        ]
    # rendered first: a report the card cannot show is refused before anything is kept
    card = render_model_card(folder, curve=curve_name, evaluations=evaluations, **options)
    with published_together():  # the card and the reports it shows: both new, or both kept
        if curve is not None and curve.resolve() != (folder / CURVE_NAME).resolve():
            with atomic_file(folder / CURVE_NAME, argument="--curve") as staging:
                shutil.copyfile(curve, staging)
        keep_evaluations(folder, evaluations)
        with atomic_file(folder / "README.md", argument="FOLDER") as staging:
            staging.write_text(str(card), encoding="utf-8")
    return card


def load_report(path: str | Path, folder: str | Path | None = None) -> dict[str, Any]:
    """An `evaluate_lp --output` JSON (of the model in `folder`, when given: see
    `check_report`); `ValueError` naming the file if it is not one."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"--evaluation {path}: no such file")
    return check_report(_read_json(Path(path)), f"--evaluation {path}", folder)


def main(argv: Sequence[str] | None = None) -> Path:
    parser = command_parser("prixlm.release.model_card", __doc__.splitlines()[0])
    parser.add_argument("folder", help="release folder (config.json, train_results.json, ...)")
    parser.add_argument("--evaluation", action="append", default=[], help="evaluate_lp JSON")
    parser.add_argument("--curve", default=None, help="lp_curve.png of the training run")
    parser.add_argument("--dataset_id", default=None, help="Hub id of the training dataset")
    parser.add_argument("--base_model", default=None, help="the checkpoint it continued")
    parser.add_argument("--repo_id", default=None, help="Hub id shown in the usage snippet")
    args = parser.parse_args(argv)
    with user_errors():  # Hub ids on the card (`datasets:`, the examples): checked first
        for option in [name for name in ("dataset_id", "repo_id") if getattr(args, name)]:
            check_repo_id(getattr(args, option), f"--{option}")
    # each report checked on reading and again on writing: one hash of the weights for all
    with user_errors(ValueError), remembered_digests():
        write_model_card(
            args.folder,
            curve=args.curve,
            evaluations=[load_report(path, args.folder) for path in args.evaluation],
            dataset_id=args.dataset_id,
            base_model=args.base_model,
            repo_id=args.repo_id,
        )
    print(f"model card: {Path(args.folder) / 'README.md'}")
    return Path(args.folder) / "README.md"


__all__ = [
    "card_options",
    "checkpoint_report",
    "example_candidates",
    "example_code",
    "EVALUATIONS_FILE",
    "PIPELINE_TAG",
    "hub_dataset_ids",
    "check_report",
    "keep_evaluations",
    "merged_evaluations",
    "hyperparameters",
    "load_report",
    "render_model_card",
    "stored_evaluations",
    "write_model_card",
]


if __name__ == "__main__":
    main()
