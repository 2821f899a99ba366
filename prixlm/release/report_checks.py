"""Whether an `evaluate_lp` report is one a model card can show, and of which weights.

`check_report` refuses a report the card cannot show, or one of another model: a report
records the sha256 of the weights it evaluated (`WEIGHTS_DIGEST`, `weights_digest`), which
is compared with the folder's; `remembered_digests` hashes a folder's weights once for
every report checked against it. A report written before the metric keys were spelt
`hits_at_k` / `mrr_at_K` (`hits@1`, `mrr@50`) is read with today's keys (`current_metric_keys`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from prixlm.release.uploaded_records import is_local_path, local_name

#: The evaluate_lp reports kept in a release folder (a JSON list), rendered on every card.
EVALUATIONS_FILE = "evaluation_results.json"
#: The report's record of the weights it evaluated (`weights_digest` of `evaluate_lp --model`).
WEIGHTS_DIGEST = "model_weights_sha256"
#: A metric key as reports and `train_results.json` spelt it before `hits_at_k` / `mrr_at_K`.
EARLIER_METRIC_KEY = re.compile(r"^(hits|mrr)@(\d+)$")


def current_metric_keys(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """`metrics` with an earlier version's keys (`hits@1`, `mrr@50`) spelt as today's
    (`hits_at_1`, `mrr_at_50`): the card would show none of them (a `–` in every cell)."""
    return {EARLIER_METRIC_KEY.sub(r"\1_at_\2", key): value for key, value in metrics.items()}


#: Inside `remembered_digests`: the digests computed, by folder and its files' state.
_DIGESTS: ContextVar[dict[tuple[Any, ...], str] | None] = ContextVar("digests", default=None)


@contextmanager
def remembered_digests() -> Iterator[None]:
    """Within it, `weights_digest` hashes a folder's weights once while their files keep
    their state (names, sizes, inodes, change times): one hash per run however many reports
    are checked against the folder. Nested uses share the outer one's digests."""
    if _DIGESTS.get() is not None:
        yield
        return
    token = _DIGESTS.set({})
    try:
        yield
    finally:
        _DIGESTS.reset(token)


def _files_state(folder: Path, files: Sequence[Path]) -> tuple[Any, ...]:
    """`folder` and each file's name and `load_cache.file_state` (None where it cannot be read)."""
    from prixlm.data.load_cache import file_state

    states = []
    for path in files:
        try:
            states.append((path.name, file_state(path)))
        except OSError:
            states.append((path.name, None))
    return (str(folder.resolve()), *states)


def weights_digest(folder: str | Path) -> str | None:
    """sha256 of a model folder's weight files (`*.safetensors`, names and bytes:
    `resume.files_digest`), or None where it holds none (a Hub id, a folder without them).
    Inside `remembered_digests`, an unchanged folder's digest is hashed once."""
    from prixlm.training.resume import files_digest

    folder = Path(folder)
    files = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    if not files:
        return None
    remembered = _DIGESTS.get()
    if remembered is None:
        return files_digest(folder, files)
    key = _files_state(folder, files)
    if key not in remembered:
        remembered[key] = files_digest(folder, files)
    return remembered[key]


def check_report(report: Any, where: str, folder: str | Path | None = None) -> dict[str, Any]:
    """`report` if it is an `evaluate_lp` report (`results`: {config: {metric: number}}) of
    the model in `folder` (when given), else `ValueError` naming `where`; one that ranked a
    split drawn from the model's training facts (`--allow_training_facts`) is refused.

    A report that records the digest of the weights it evaluated (`WEIGHTS_DIGEST`) is this
    model's when the folder's weights have that digest (a report of an earlier model at
    the same path is refused). Without it (an older report), a report's `model` that is a
    Hub id or a path that does not exist here is taken on trust; a path to an existing
    folder other than `folder` is another model's report, unless it holds the same weights
    (a copy of the release folder).
    """
    if not isinstance(report, dict) or not isinstance(report.get("results"), dict):
        raise ValueError(f"{where}: no 'results' object (not an evaluate_lp report)")
    for name, metrics in report["results"].items():
        numbers = isinstance(metrics, dict) and all(
            value is None or (isinstance(value, int | float) and not isinstance(value, bool))
            for value in metrics.values()
        )
        if not numbers:
            raise ValueError(f"{where}: results[{name!r}] is not an object of metric values")
    overlap = report.get("training_split")
    if isinstance(overlap, dict) and overlap.get("allowed"):  # evaluate_lp --allow_training_facts
        share = overlap.get("expected_training_share")
        raise ValueError(
            f"{where}: ranks a split drawn from the model's training facts (about "
            f"{share if share is None else f'{share:.0%}'}, ranked with "
            "--allow_training_facts): its figures are inflated and go on no card; evaluate the "
            "build the model was trained on"
        )
    results = {name: current_metric_keys(metrics) for name, metrics in report["results"].items()}
    if results != report["results"]:  # an earlier version's keys
        report = {**report, "results": results}
    if folder is None:
        return report
    model, recorded = report.get("model"), report.get(WEIGHTS_DIGEST)
    if isinstance(recorded, str) and (digest := weights_digest(folder)) is not None:
        if recorded != digest:
            raise ValueError(
                f"{where}: evaluates other weights than the model in {folder} (the report's, "
                f"of {model}: sha256 {recorded[:16]}; the folder's: sha256 {digest[:16]}); "
                "evaluate this folder (evaluate_lp --model FOLDER) to put results on its card"
            )
        return report
    if isinstance(model, str) and model and Path(model).exists():
        if Path(model).resolve() != Path(folder).resolve() and not _same_weights(model, folder):
            raise ValueError(
                f"{where}: evaluates the model in {model}, not the one in {folder}; "
                "evaluate this folder (evaluate_lp --model FOLDER) to put results on its card"
            )
    return report


def per_protocol(report: Any) -> list[Any]:
    """`report` as one report per ranking protocol: an `evaluate_lp --protocol ours,kens`
    report holds each protocol's figures in `results_by_protocol` (its `results`: the first
    protocol's), and the card shows each as its own evaluation (`protocol kens`)."""
    by_protocol = report.get("results_by_protocol") if isinstance(report, dict) else None
    if not isinstance(by_protocol, dict) or len(by_protocol) < 2:
        return [report]
    rest = {key: value for key, value in report.items() if key != "results_by_protocol"}
    return [{**rest, "protocol": name, "results": results} for name, results in by_protocol.items()]


def check_kept(
    reports: Mapping[int, dict[str, Any]], path: str | Path, folder: str | Path
) -> list[dict[str, Any]]:
    """`reports` kept in the file `path` of `folder` (`evaluation_results.json`), by their
    number in it, each checked against the folder's weights as an `--evaluation` is
    (`check_report`): a kept report of weights the folder no longer holds (new weights
    saved into it) is refused, not shown as this model's results. ValueError naming the
    file and the report."""
    checked = []
    with remembered_digests():  # the folder's weights hashed once for every kept report
        for number, report in reports.items():
            try:
                checked.append(check_report(report, f"{path}, report {number}", folder))
            except ValueError as error:
                raise ValueError(
                    f"{error}, or remove the report from {path} (kept there by an earlier card)"
                ) from None
    return checked


def record_provenance(
    report: dict[str, Any], model: Any, digest: str | None, dataset: str
) -> dict[str, Any]:
    """`report` with what the model card checks it by: the sha256 of the weights evaluated
    (`digest`, `weights_digest` of the model folder taken before loading; None: not a
    folder), their dtype as loaded (a bf16 release is evaluated in bf16), and a local
    `dataset` folder by its absolute path (in `dataset` too, as training records it;
    `dataset_argument` as typed): the card tells it from a Hub id without looking at the
    working directory it is rendered in (`card_results.on_hub`)."""
    if digest is not None:
        report[WEIGHTS_DIGEST] = digest
    report["dtype"] = parameter_dtype(model)
    folder = str(Path(dataset).resolve()) if Path(dataset).is_dir() else None
    report.update(dataset=folder or dataset, dataset_folder=folder, dataset_argument=dataset)
    return report


def parameter_dtype(model: Any) -> str | None:
    """The dtype of `model`'s first parameter without `torch.` (`"float32"`), or None."""
    parameter = next(model.parameters(), None) if hasattr(model, "parameters") else None
    return None if parameter is None else str(parameter.dtype).removeprefix("torch.")


#: The dtypes of weights whose rankings are not those of the float32 weights.
HALF_PRECISIONS = ("bfloat16", "float16")


def half_precision(report: Mapping[str, Any]) -> str | None:
    """The dtype a report's weights were ranked in (`evaluate_lp --dtype`, or a release saved
    so) when it is half precision, else None (float32, or a report without `dtype`): such
    a report is another evaluation than the float32 one of the same split, and the card
    says so beside its figures."""
    dtype = report.get("dtype")
    return dtype if dtype in HALF_PRECISIONS else None


def distinct_names(folders: Iterable[str]) -> dict[str, str]:
    """`{folder: name}` of absolute dataset folders: the folder's name, or where another
    folder has that name too, `uploaded_records.local_name` (`<local DIGEST>/NAME`, the path's
    sha256 in short: no folder of this machine named on the Hub): reports of two local
    datasets are never shown as one."""
    paths = list(dict.fromkeys(folders))
    names = [Path(path).name for path in paths]
    return {  # a path an upload already named so (`<local DIGEST>/NAME`) is kept
        path: (local_name(path) if is_local_path(path) else path) if names.count(name) > 1 else name
        for path, name in zip(paths, names, strict=True)
    }


def _same_weights(first: str | Path, second: str | Path) -> bool:
    """Whether two folders hold the same weights (a copied release folder)."""
    sizes = [
        sorted((f.name, f.stat().st_size) for f in Path(folder).glob("*.safetensors"))
        for folder in (first, second)
    ]
    if not sizes[0] or sizes[0] != sizes[1]:
        return False
    return weights_digest(first) == weights_digest(second)


__all__ = [
    "per_protocol",
    "EVALUATIONS_FILE",
    "WEIGHTS_DIGEST",
    "check_kept",
    "check_report",
    "current_metric_keys",
    "distinct_names",
    "half_precision",
    "parameter_dtype",
    "record_provenance",
    "remembered_digests",
    "weights_digest",
]
