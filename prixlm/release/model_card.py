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
from prixlm.release.card_reports import (  # noqa: F401 - importable here as before
    checkpoint_report,
    keep_evaluations,
    merged_evaluations,
    read_json,
    read_json_object,
    stored_evaluations,
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
)
from prixlm.release.report_checks import (
    EVALUATIONS_FILE,
    per_protocol,
)

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


def hub_dataset_ids(
    reports: Sequence[Mapping[str, Any]], dataset_id: str | None, trained_on: str | None = None
) -> list[str]:
    """The `datasets:` of the card: the Hub id of the training data (`trained_on`: the Hub
    lists `datasets:` as the datasets the model was trained on), `dataset_id` (the Hub id of
    the local folders evaluated on), and the reports' datasets that are Hub ids (not local
    folders, which a Hub user cannot load)."""
    found = [item for item in (trained_on, dataset_id) if item]
    for report in reports:
        if on_hub(report):
            found.append(str(report["dataset"]))
    return sorted(set(found))


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
    config = read_json_object(folder / "config.json")
    training_args = read_json_object(folder / "training_args.json")
    train_results = read_json_object(folder / "train_results.json")
    reports = [r for r in (checkpoint_report(train_results),) if r]
    reports += merged_evaluations(folder, evaluations)
    # the edition codes (`zh-min-nan`): the card's `language:` holds their ISO codes
    recorded = train_results.get("languages") or sorted(config.get("language_token_ids") or {})
    languages = list(languages or recorded)
    widget = widget_entries(widget)
    # --dataset_id names the reports of the folder training read (`card_results.id_folder`)
    settings = train_results.get("checkpoint_link_prediction_settings") or {}
    model_name = model_name or (repo_id.split("/")[-1] if repo_id else folder.resolve().name)
    trained_on = training_data(train_results)
    if dataset_id and trained_on and trained_on.get("hub_id") is None:
        # trained here on a local folder whose Hub copy is --dataset_id (publish)
        trained_on = {**trained_on, "name": dataset_id, "hub_id": dataset_id}
    # training's Hub dataset; an older record (no `dataset_folder`) may name a folder by a
    # relative path (`data/kb`) that only looks like a Hub id here: not listed
    trained_hub = (trained_on or {}).get("hub_id") if "dataset_folder" in settings else None
    dataset_ids = hub_dataset_ids(reports, dataset_id, trained_hub)
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
    return check_report(read_json(Path(path)), f"--evaluation {path}", folder)


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
        if not (Path(args.folder) / "config.json").is_file():  # before --evaluation names it
            raise FileNotFoundError(f"FOLDER {args.folder}: not a model folder (no config.json)")
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
