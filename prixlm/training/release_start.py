"""Training that starts from a `--base_model`: an XLM-R checkpoint, or a Prix-LM release.

A release (a folder `train.py` wrote, the converted official checkpoint, or the Hub id of
one) is continued as it is: its weights and tokenizer are loaded by class
(`PrixLMForCausalKB`, `XLMRobertaTokenizer`: none of the folder's code is run, nothing asks
at a terminal whether to run it), every token it has keeps its id and its rows, and the
languages of the run that it lacks get new tokens, with new embedding and LM-head rows
(`--new_token_init`, in rows padded to `--vocab_padding_multiple`). It trains with
`--object_attention` (by default the release's own mask: `starting_point.check_base_model`).

`continued_from` is what `train_results.json` records of the release (and the run record
compares on resume: its weights' digest), so that the new release's card says which model
its figures continue.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from modeling_prixlm.formatting import add_prixlm_tokens
from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB
from modeling_prixlm.tokenizer_checks import tokenizer_mismatch, vocabulary_fingerprint
from prixlm.cli import UsageError, first_line
from prixlm.training.starting_point import release_config

#: A snapshot folder of the Hugging Face cache: `.../models--ORG--NAME/snapshots/REVISION`.
_CACHED_SNAPSHOT = re.compile(r"^models--(?P<repo>.+)$")


def base_model_start(model_args: Any, languages: list[str]) -> tuple[Any, Any]:
    """`(model, tokenizer)` of `model_args.base_model` (train.py's `ModelArguments`) with
    the tokens of `languages`: a release continued (`from_release`), else XLM-R
    (`PrixLMForCausalKB.from_xlm_roberta`). `UsageError` naming `--base_model` for one
    that does not load (not XLM-R, a tokenizer not its own, a Hub id offline)."""
    missing = _missing_folder(model_args.base_model)
    if missing is not None:
        raise UsageError(f"--base_model {model_args.base_model}: {missing}")
    start = (
        from_release
        if release_config(model_args.base_model)
        else PrixLMForCausalKB.from_xlm_roberta
    )
    try:
        return start(
            model_args.base_model,
            languages,
            object_attention=model_args.object_attention,
            vocab_padding_multiple=model_args.vocab_padding_multiple,
            dropout=model_args.dropout,
            new_token_init=model_args.new_token_init,
        )
    except (OSError, ValueError) as error:
        raise UsageError(f"--base_model {model_args.base_model}: {first_line(error)}") from error


def _missing_folder(base_model: str) -> str | None:
    """Why `base_model` names nothing: a path of no folder here that is no Hub id either
    (a release folder moved or deleted since a run continued it), or a folder without
    `config.json` (a training run's `output_dir`: its release is `<output_dir>/model`);
    None otherwise."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    path = Path(base_model)
    if path.is_dir() and not (path / "config.json").is_file():
        if (path / "model" / "config.json").is_file():
            return f"a training run folder; its release folder is {path / 'model'}"
        return "no config.json in this folder (not a model)"
    if path.exists():
        return None
    try:
        validate_repo_id(base_model)
    except HFValidationError:
        return "no such folder (nor a Hub id: ORG/NAME)"
    return None


def from_release(
    name_or_path: str,
    languages: list[str],
    object_attention: str = "prefix_bidirectional",
    vocab_padding_multiple: int = 64,
    dropout: float | None = None,
    new_token_init: str = "random",
) -> tuple[PrixLMForCausalKB, Any]:
    """A Prix-LM release (folder or Hub id) ready to train on `languages`.

    Its tokenizer must be its model's (`tokenizer_mismatch`: ValueError otherwise). Tokens
    it has keep their ids and rows; a language it lacks gets a token after its vocabulary,
    whose rows start as `new_token_init` says (`random`: `_init_weights`, LM-head bias 0;
    `mean`: around the mean of the release's rows), the rows padded to a multiple of
    `vocab_padding_multiple`. `dropout` (None: the release's) and `object_attention` (the
    mask trained with) replace the release's. Weights in float32, whatever the release's.
    """
    import torch
    from transformers import XLMRobertaTokenizer

    if new_token_init not in ("random", "mean"):
        raise ValueError(f"new_token_init {new_token_init!r}: expected random or mean")
    overrides: dict[str, Any] = {"object_attention": object_attention}
    if dropout is not None:  # in the config before the modules are built from it
        overrides.update(hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
    # by class: AutoTokenizer would read the folder's auto_map and ask to run its code
    tokenizer = XLMRobertaTokenizer.from_pretrained(name_or_path)
    model = PrixLMForCausalKB.from_pretrained(
        name_or_path, dtype=torch.float32, use_kernels=False, **overrides
    )
    reason = tokenizer_mismatch(tokenizer, model.config)
    if reason is not None:
        raise ValueError(f"its tokenizer is not the one its model was trained with: {reason}")
    # the release's pipeline declaration (and code) come back with the new release's folder
    model.config.__dict__.pop("custom_pipelines", None)
    model.config.vocab_padding_multiple = vocab_padding_multiple
    add_prixlm_tokens(tokenizer, languages, model, mean_resizing=new_token_init == "mean")
    model.config.vocabulary_fingerprint = vocabulary_fingerprint(tokenizer)
    model.config.vocabulary_fingerprint_tokens = None  # of every token, the new ones too
    model.config.use_cache = object_attention != "bidirectional"
    model.generation_config.use_cache = model.config.use_cache
    return model, tokenizer


def hub_id_of(base_model: str) -> str | None:
    """The Hub id of `base_model`: itself where it names no folder here, else that of a
    snapshot folder of the Hugging Face cache (`models--ORG--NAME/snapshots/REV`), else None."""
    path = Path(base_model)
    if not path.exists():
        return base_model
    parts = path.resolve().parts
    if len(parts) >= 3 and parts[-2] == "snapshots":
        found = _CACHED_SNAPSHOT.match(parts[-3])
        if found:
            return found["repo"].replace("--", "/")
    return None


def _local_folder(base_model: str) -> Path | None:
    """The folder that holds `base_model`'s files: the folder, or its Hub cache snapshot."""
    if Path(base_model).is_dir():
        return Path(base_model).resolve()
    from transformers.utils import cached_file

    try:
        config = cached_file(base_model, "config.json")
    except (OSError, ValueError):
        return None
    return Path(config).parent if config else None


def _release_name(folder: Path | None, hub_id: str | None) -> str:
    """What the release calls itself: its card's title, else its Hub id or folder name."""
    if folder is not None and (folder / "README.md").is_file():
        from huggingface_hub import ModelCard

        try:
            name = ModelCard.load(folder / "README.md").data.model_name
        except (OSError, ValueError):
            name = None
        if name:
            return str(name)
    return hub_id or (folder.name if folder else "")


def continued_from(base_model: str | None) -> dict[str, Any]:
    """`{"continued_from": {...}}` for a `base_model` that is a Prix-LM release ({} for
    XLM-R or none): `release` (its Hub id, else its folder's absolute path), `hub_id`,
    `folder` (a local folder's path), `name`, its `languages` and `object_attention`, and
    `model_weights_sha256` (its weight files, as evaluation reports record theirs), and
    `training_splits`, the split records of the builds it was trained on
    (`prixlm.data.split_record.model_records`)."""
    config = release_config(base_model)
    if config is None or base_model is None:
        return {}
    from prixlm.data.split_record import release_training_splits
    from prixlm.release.report_checks import WEIGHTS_DIGEST, weights_digest

    hub_id = hub_id_of(base_model)
    folder = _local_folder(base_model)
    local = str(folder) if Path(base_model).is_dir() and folder is not None else None
    return {
        "continued_from": {
            "release": hub_id or local,
            "hub_id": hub_id,
            "folder": local,
            "name": _release_name(folder, hub_id),
            "languages": sorted(config.get("language_token_ids") or {}),
            "object_attention": config.get("object_attention", "prefix_bidirectional"),
            WEIGHTS_DIGEST: weights_digest(folder) if folder is not None else None,
            # the builds it was trained on: evaluations check their splits against these too
            "training_splits": release_training_splits(folder),
        }
    }


def release_overlap_warning(
    continued: dict[str, Any], dataset: str, trained: dict[str, Any] | None, configs: list[str]
) -> str | None:
    """A warning where the run's build (`trained`: its split record, of `dataset`) draws its
    test split from facts the continued release (`continued`: `continued_from`'s record) was
    trained on (another `--seed` or `--split_protocol` of the release's data): the new
    release then has no test split that `evaluate_lp` ranks without
    `--allow_training_facts`, nor a figure for its card; None otherwise."""
    from prixlm.data.split_record import ALLOW_OPTION, describe, worst_verdict

    release = continued.get("continued_from") or {}
    records = release.get("training_splits") or []
    if not records:
        return None
    result, share, record = worst_verdict(records, trained, "test", configs)
    if result != "overlap":
        return None
    return (
        f"warning: --base_model {release.get('release')} was trained on "
        f"{record.get('dataset')} ({describe(record.get('settings'))}); --dataset {dataset} "
        f"has {describe((trained or {}).get('settings'))}: about {share:.0%} of its test "
        "split is drawn from facts the release was trained on, so the new release's figures "
        f"on it are inflated (evaluate_lp and completion.measure refuse it without "
        f"{ALLOW_OPTION}, and the model card takes no such report); to keep a test split, "
        "continue the release on a build with its protocol and seed"
    )


def card_base_model(base_model: str | None, continued: dict[str, Any]) -> str | None:
    """The model card's `base_model:`: a continued release's Hub id (also of a folder of the
    Hub cache), else `--base_model` as given (the card leaves out one that is no Hub id)."""
    release = continued.get("continued_from") or {}
    return release.get("hub_id") or base_model


__all__ = [
    "base_model_start",
    "card_base_model",
    "continued_from",
    "from_release",
    "hub_id_of",
    "release_overlap_warning",
]
