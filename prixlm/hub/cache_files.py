"""Which files of a Hub model the Hugging Face cache lacks, for the error of a load that
failed offline: transformers' own message names no file, and a missing code module read as
"cannot load its weights" (`prixlm.model_loading`)."""

from __future__ import annotations

import json
from pathlib import Path

from prixlm.cli import UsageError

#: `model_type` of a Prix-LM's config.json (as `prixlm.model_loading.PRIXLM_MODEL_TYPE`)
_PRIXLM = "prixlm"


def uncached_error(source: str | Path, argument: str, error: BaseException) -> UsageError | None:
    """For a Hub id whose load failed offline (HF_HUB_OFFLINE), or on a file neither fetched
    nor in the Hub cache (`LocalEntryNotFoundError` in `error`'s chain): a `UsageError`
    naming the files the cache lacks (`uncached_files`); else None. transformers' own
    message names no file, and a missing code module read as "cannot load its weights"."""
    from huggingface_hub.errors import LocalEntryNotFoundError
    from transformers.utils.hub import is_offline_mode

    offline = is_offline_mode()
    if Path(source).is_dir() or not (offline or _in_chain(error, LocalEntryNotFoundError)):
        return None
    missing = uncached_files(str(source))
    if not missing:
        return None
    why = "HF_HUB_OFFLINE is set" if offline else "the Hub cannot be reached"
    return UsageError(
        f"{argument} {source}: {why} and the Hub cache lacks {', '.join(missing)} of it "
        f"(revision main): download the repository whole with a connection "
        f"(`huggingface-cli download {source}`), or pass a folder that holds it"
    )


def uncached_files(repo_id: str) -> list[str]:
    """The files of a model load that the Hub cache lacks for `repo_id` at main: its
    `config.json`; else its weights (`model.safetensors`, or a sharded or PyTorch form) and,
    for a Prix-LM, its tokenizer and its model code (the modules its `auto_map` names and
    those they import, relatively, in turn)."""
    from huggingface_hub import try_to_load_from_cache
    from transformers.dynamic_module_utils import get_relative_imports

    def cached(name: str) -> str | None:
        found = try_to_load_from_cache(repo_id, name)
        return found if isinstance(found, str) else None

    config_file = cached("config.json")
    if config_file is None:
        return ["config.json"]
    weights = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
    missing = [] if any(cached(name) for name in weights) else [weights[0]]
    try:
        config = json.loads(Path(config_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return missing
    if not isinstance(config, dict) or config.get("model_type") != _PRIXLM:
        return missing
    missing += [name for name in ("tokenizer.json", "tokenizer_config.json") if not cached(name)]
    references = (config.get("auto_map") or {}).values()
    modules = [str(ref).split("--")[-1].rsplit(".", 1)[0] for ref in references]
    seen: set[str] = set()
    while modules:
        module = modules.pop()
        if module in seen:
            continue
        seen.add(module)
        path = cached(f"{module}.py")
        if path is None:
            missing.append(f"{module}.py")
        else:
            modules += get_relative_imports(path)
    return missing


def _in_chain(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether `error`, its cause (or context), theirs and so on hold a `kind`."""
    from prixlm.data.load_errors import error_chain

    return any(isinstance(link, kind) for link in error_chain(error))


__all__ = ["uncached_error", "uncached_files"]
