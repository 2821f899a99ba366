"""The similarity study's evaluation of one model: XEL, BLI and knowledge probing, each
cached under `<work_dir>/eval/` per model weights (`prixlm.similarity.study`'s
`Runner.cached_json`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prixlm.similarity.study import Runner


def _bli(runner: Runner, model: Path, dictionaries: Path) -> dict[str, Any]:
    from prixlm.similarity.bli import evaluate_bli, read_dictionary
    from prixlm.similarity.embedder import load_embedder

    embedder = load_embedder(str(model), pooling=runner.pooling)
    results = {}
    for pair in runner.profile["bli_pairs"].split(","):
        train = read_dictionary(dictionaries / f"{pair}.train.txt")
        test = read_dictionary(dictionaries / f"{pair}.test.txt")
        results[pair] = evaluate_bli(embedder, train, test)
    results["average"] = {
        key: sum(r[key] for r in results.values()) / len(results) for key in ("accuracy", "mrr")
    }
    return results


def _xel(runner: Runner, model: Path, dataset: Path) -> dict[str, Any]:
    from prixlm.similarity.embedder import load_embedder
    from prixlm.similarity.xel import evaluate_xel
    from prixlm.similarity.xel_cldr import cldr_xel_queries

    xel = cldr_xel_queries(  # seen: the links the KB model's run trained on, for every model
        runner.profile["xel_languages"].split(","), training_dataset=dataset,
        model=runner.work_dir / "kb" / "model",
    )  # fmt: skip
    embedder = load_embedder(str(model), pooling=runner.pooling)
    scored = evaluate_xel(embedder, xel.queries, xel.targets, seen=xel.seen)
    unseen = scored.pop("unseen", None)
    return {"all": scored, "info": xel.info, **({"unseen": unseen} if unseen else {})}


def _probing(runner: Runner, model: Path, probes: Path | None) -> dict[str, Any] | None:
    """`prixlm.similarity.probing.evaluate_probing`, when it exists."""
    if probes is None:
        return None
    try:
        from prixlm.similarity.probing import evaluate_probing
    except ImportError:
        return None
    return evaluate_probing(
        str(model), str(probes), multi_token=runner.profile["probing_multi_token"]
    )


def evaluate_model(
    runner: Runner,
    name: str,
    model: Path,
    dataset: Path,
    dictionaries: Path,
    probes: Path | None,
    probed_model: Path | None,
) -> dict[str, Any]:
    """XEL and BLI of `model`, probing of `probed_model` (the LM before Mirror tuning, as in
    the paper; None: not probed); cached under `<work_dir>/eval/<name>.<digest>.*.json`,
    `<digest>` that of the evaluated model's weights (`model_digest`): a model trained
    again at the same path is evaluated again."""
    folder = runner.work_dir / "eval"
    key = f"{name}.{model_digest(model)}"
    result = {
        "xel": runner.cached_json(f"xel {name}", folder / f"{key}.xel.json",
                                  lambda: _xel(runner, model, dataset)),
        "bli": runner.cached_json(f"bli {name}", folder / f"{key}.bli.json",
                                  lambda: _bli(runner, model, dictionaries)),
    }  # fmt: skip
    if probed_model is not None:
        result["probing"] = runner.cached_json(
            f"probing {name}",
            folder / f"{name}.{model_digest(probed_model)}.probing.json",
            lambda: _probing(runner, probed_model, probes),
        )
    return result


def model_digest(model: Path) -> str:
    """16 hex digits of the sha256 of `model`'s weights (`*.safetensors`:
    `prixlm.release.card_results.weights_digest`), of all its files where it holds none."""
    from prixlm.release.card_results import weights_digest
    from prixlm.training.resume import files_digest

    digest = weights_digest(model)
    if digest is None:
        digest = files_digest(model, sorted(path for path in model.rglob("*") if path.is_file()))
    return digest[:16]
