"""Load a saved model (a release folder or a Hub id) for the package's commands: one place.

Every command that takes `--model` loads through here, so that a mistake gets the same clear
error everywhere (`UsageError`, naming the argument): a path that does not exist, a training
run folder given instead of its release folder `model/`, a folder that holds no model, a
Prix-LM folder whose tokenizer is not the one its model was trained with.

Model code: a Prix-LM folder's own code (the `*.py` files its `config.json` names, this
project's `modeling_prixlm`) is run, as transformers' `trust_remote_code=True`; a folder or
Hub id of any other model (an XLM-R baseline, a tokenizer folder) is loaded with the classes
of transformers only: code its `auto_map` names is never run (`is_prixlm`). No model is
loaded with transformers' Hub kernels (`use_kernels=False`): they would be downloaded at run
time, and a machine without the `kernels` package could not load any model.
"""

from __future__ import annotations

import errno
import json
import re
import sys
from pathlib import Path
from typing import Any

from prixlm.cli import UsageError, first_line
from prixlm.hub.cache_files import uncached_error
from prixlm.hub.hf_cache import cache_error

#: `org/name` (a Hub repo id); anything else that is not an existing folder is a mistake.
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
PRIXLM_MODEL_TYPE = "prixlm"
#: What each command's help says of its model argument.
MODEL_CODE_HELP = (
    "a Prix-LM's own model code (the *.py files of its folder) is run, as transformers' "
    "trust_remote_code=True; no other model's code is"
)


def default_device() -> str:
    """`cuda` when a GPU is visible, else `cpu` (the `--device` default of every command)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def check_model_source(source: str | Path, argument: str = "--model") -> None:
    """Raise `UsageError` unless `source` is a folder with `config.json` or looks like a Hub id.

    A training run folder (it holds `model/config.json`) is named with its release folder.
    """
    path = Path(source)
    if path.is_dir():
        if (path / "config.json").is_file():
            return
        if (path / "model" / "config.json").is_file():
            raise UsageError(
                f"{argument} {source}: a training run folder; its release folder is {path / 'model'}"
            )
        raise UsageError(f"{argument} {source}: no config.json in this folder (not a model)")
    if path.exists():
        raise UsageError(f"{argument} {source}: not a folder")
    if not HUB_ID.fullmatch(str(source)) or path.is_absolute():
        raise UsageError(f"{argument} {source}: no such folder (nor a Hub id org/name)")


def is_prixlm(source: str | Path, local_files_only: bool = False) -> bool:
    """Whether `source` (a folder or a Hub id) is a Prix-LM: its `config.json`, read as
    plain JSON (no code of it run), says `model_type: prixlm`.

    This is the `trust_remote_code` of every load of a model or tokenizer in the package: a
    Prix-LM's code is this project's (`modeling_prixlm`, which its folder carries); another
    folder's `auto_map` (a `config.json` of `xlm-roberta` naming a module of the folder) is
    not followed. False when there is no readable `config.json` (a tokenizer folder; a Hub
    id neither cached nor reachable): loading it then says what is wrong.

    Raises:
        UsageError: a Prix-LM whose `config.json` or `tokenizer_config.json` names code of
            another Hub repo (`org/name--module.Class`, which transformers downloads and
            runs): only the code in a Prix-LM's own folder is run (`code_elsewhere`).
    """
    config = _json_object(_model_file(source, "config.json", local_files_only))
    if config is None or config.get("model_type") != PRIXLM_MODEL_TYPE:
        return False
    elsewhere = code_elsewhere(config)
    tokenizer_config = _model_file(source, "tokenizer_config.json", local_files_only)
    elsewhere += code_elsewhere(_json_object(tokenizer_config) or {})
    if elsewhere:
        raise UsageError(
            f"{source}: its config names model code of another Hub repo "
            f"({', '.join(sorted(set(elsewhere)))}); only the code in a Prix-LM's own folder "
            "is run"
        )
    return True


def _model_file(source: str | Path, name: str, local_files_only: bool) -> str | Path | None:
    """The file `name` of a folder, or the Hub's copy of a Hub id's (from the cache when
    offline, `HF_HUB_OFFLINE=1`); None where the id's cannot be had (not a repo id, no such
    file, not cached offline). A folder's path is given whether or not the file is there."""
    path = Path(source)
    if path.is_dir():
        return path / name
    from transformers.utils import cached_file

    try:
        return cached_file(
            str(source),
            name,
            local_files_only=local_files_only,
            _raise_exceptions_for_missing_entries=False,
        )
    except (OSError, ValueError):
        return None


def _json_object(path: str | Path | None) -> dict[str, Any] | None:
    """The JSON object in the file `path`; None when there is none (no path, a missing or
    unreadable file, not JSON, not an object)."""
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, unreadable, not JSON
        return None
    return data if isinstance(data, dict) else None


def code_elsewhere(config: dict[str, Any]) -> list[str]:
    """The code references of a `config.json` or `tokenizer_config.json` (`auto_map`'s
    values, or the list `[slow, fast]` that is a tokenizer's older `auto_map`;
    `custom_pipelines`' `impl`) that name another Hub repo: `org/name--module.Class`.
    transformers downloads such a module from that repo and runs it; a Prix-LM release's
    references name modules of its own folder (`module.Class`)."""
    references: list[Any] = []
    auto_map = config.get("auto_map")
    if isinstance(auto_map, dict):
        for value in auto_map.values():
            references += value if isinstance(value, list) else [value]
    elif isinstance(auto_map, list):  # a tokenizer's older `[slow, fast]`, still followed
        references += auto_map
    pipelines = config.get("custom_pipelines")
    if isinstance(pipelines, dict):
        references += [task.get("impl") for task in pipelines.values() if isinstance(task, dict)]
    return [ref for ref in references if isinstance(ref, str) and "--" in ref]


def load_prixlm(
    source: str | Path,
    device: str | None = None,
    argument: str = "--model",
    dtype: str = "auto",
) -> tuple[Any, Any]:
    """`(model, tokenizer)` of a Prix-LM release, the model in eval mode on `device`
    (default: `default_device()`), its weights in `dtype` (`"auto"`: as saved)."""
    model, tokenizer, kind = load_model(source, device, argument, masked_lm=False, dtype=dtype)
    return model, tokenizer


def load_model(
    source: str | Path,
    device: str | None = None,
    argument: str = "--model",
    masked_lm: bool = True,
    dtype: str = "auto",
) -> tuple[Any, Any, str]:
    """`(model, tokenizer, kind)`: a Prix-LM (`kind == "prixlm"`, `AutoModelForCausalLM`) or,
    if `masked_lm`, any masked LM (`"masked_lm"`, e.g. XLM-R); eval mode, on `device`, its
    weights in `dtype` (`"auto"`: as saved, transformers' default; `"float32"`, ...)."""
    check_model_source(source, argument)
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    trusted = is_prixlm(source)  # no code of any other model is run
    try:
        config = AutoConfig.from_pretrained(source, trust_remote_code=trusted)
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trusted)
    except (OSError, ValueError) as error:  # an offline Hub id, an unreadable folder
        own = source if Path(source).is_dir() else None  # the user's folder: their error
        if (cached := cache_error(error, own=own)) is not None:
            raise cached from error  # HF_HOME read-only or full: no fault of the model
        if (uncached := uncached_error(source, argument, error)) is not None:
            raise uncached from error
        reason = first_line(error)
        if not trusted and "trust_remote_code" in str(error):  # code of a model not Prix-LM
            reason = "its config.json names model code of its own; only a Prix-LM's is run"
        raise UsageError(f"{argument} {source}: cannot load it ({reason})") from error
    if config.model_type == PRIXLM_MODEL_TYPE:
        try:  # before the weights load
            check_own_tokenizer(source, config, tokenizer, argument)
        except UsageError as error:  # a near-empty tokenizer: no tokenizer.json in the cache
            if (uncached := uncached_error(source, argument, error)) is not None:
                raise uncached from error
            raise
        auto, kind = AutoModelForCausalLM, "prixlm"
    elif masked_lm and getattr(tokenizer, "mask_token", None) is not None:
        auto, kind = AutoModelForMaskedLM, "masked_lm"
    else:
        expected = "a Prix-LM or a masked LM" if masked_lm else "a Prix-LM"
        raise UsageError(f"{argument} {source}: model type {config.model_type!r}, not {expected}")
    try:
        if kind == "prixlm":
            model = _from_own_code(source, config, auto, dtype)
        else:
            model = auto.from_pretrained(
                source, config=config, trust_remote_code=False, dtype=dtype, **_NO_HUB_KERNELS
            )
    except _unreadable_weights() as error:  # truncated, missing or not matching the config
        if isinstance(error, OSError) and error.errno in _SYSTEM_ERRNOS:
            raise  # a full disk or a permission: `prixlm.cli.user_errors` names the file
        if (uncached := uncached_error(source, argument, error)) is not None:
            raise uncached from error  # a code module, not the weights, may be the one
        what = "its weights" if _about_weights(error) else "it"
        raise UsageError(
            f"{argument} {source}: cannot load {what} ({first_line(error)})"
        ) from error
    return model.to(device or default_device()).eval(), tokenizer, kind


def load_command_model(args: Any) -> tuple[Any, Any]:
    """`load_prixlm` of a ranking command line's `--model`, `--device` and `--dtype`
    (`prixlm.cli.add_dtype_argument`). A model loaded as saved (`--dtype auto`) in bfloat16
    or float16 gets a note on stderr: which option ranks as the float32 weights do."""
    from modeling_prixlm.decoding_steps import half_precision_message

    model, tokenizer = load_prixlm(args.model, args.device, dtype=args.dtype)
    if args.dtype == "auto" and half_precision_message(model) is not None:
        name = str(next(model.parameters()).dtype).removeprefix("torch.")
        print(
            f"note: the model was saved in {name} and is ranked in it; --dtype float32 ranks "
            "in float32",
            file=sys.stderr,
        )
    return model, tokenizer


def check_own_tokenizer(source: str | Path, config: Any, tokenizer: Any, argument: str) -> None:
    """`UsageError` naming `argument` and the tokenizer's files unless `tokenizer` is the one
    the Prix-LM of `config` was trained with: its size and Prix-LM token ids
    (`check_tokenizer_matches`) and, where the config records it, its vocabulary's
    fingerprint (`modeling_prixlm.tokenizer_checks`). A tokenizer of another build (same
    size, same special ids, other word ids) would make every answer garbage, silently."""
    from modeling_prixlm.tokenizer_checks import tokenizer_mismatch

    reason = tokenizer_mismatch(tokenizer, config)
    if reason is not None:
        raise UsageError(
            f"{argument} {source}: its tokenizer is not the one its model was trained with: "
            f"{reason}"
        )


def _from_own_code(source: str | Path, config: Any, auto: type, dtype: str = "auto") -> Any:
    """The model of `source` built by the class its own `config.auto_map` names, its
    weights in `dtype`.

    `auto.from_pretrained` is not used for this: after a first folder is loaded, it registers
    that folder's model class for the config class, and a second folder of the same name
    and the same config code (so the same config class), e.g. another run's `model/`, would
    then be built by the first folder's model code, silently. A folder whose `auto_map`
    names no model class for `auto` still goes through `auto` (and its error).
    """
    from transformers.dynamic_module_utils import get_class_from_dynamic_module
    from transformers.models.auto.auto_factory import add_generation_mixin_to_remote_model

    class_reference = (getattr(config, "auto_map", None) or {}).get(auto.__name__)
    if class_reference is None:
        return auto.from_pretrained(
            source, config=config, trust_remote_code=True, dtype=dtype, **_NO_HUB_KERNELS
        )
    model_class = get_class_from_dynamic_module(class_reference, source)
    model_class.register_for_auto_class(auto.__name__)  # so that `save_pretrained` copies it
    model_class = add_generation_mixin_to_remote_model(model_class)
    return model_class.from_pretrained(source, config=config, dtype=dtype, **_NO_HUB_KERNELS)


def _unreadable_weights() -> tuple[type[BaseException], ...]:
    """What `from_pretrained` raises for weights it cannot read: a truncated or corrupt
    `model.safetensors` (`SafetensorError`), a damaged `pytorch_model.bin` (`RuntimeError`,
    `UnpicklingError`, `EOFError`), missing weight files (`OSError`), tensors whose shapes
    do not fit the config (`RuntimeError`, `ValueError`)."""
    return (ValueError, RuntimeError, *_file_errors())


def _about_weights(error: BaseException) -> bool:
    """Whether `from_pretrained`'s `error` is about the weights themselves: a weight file
    missing, truncated or not readable (`OSError`, `SafetensorError`, `EOFError`,
    `UnpicklingError`), or a `RuntimeError` / `ValueError` whose message names tensors,
    shapes or the state dict. Anything else (a library the load needs and the machine lacks,
    say) is reported as the model not loading, with the library's own message."""
    if isinstance(error, (RuntimeError, ValueError)) and not isinstance(error, _file_errors()):
        return bool(_WEIGHT_WORDS.search(str(error)))
    return True


def _file_errors() -> tuple[type[BaseException], ...]:
    """The errors of a weight file that does not read (see `_unreadable_weights`)."""
    import pickle

    from safetensors import SafetensorError

    return (OSError, EOFError, pickle.UnpicklingError, SafetensorError)


#: words of a `RuntimeError` / `ValueError` about the weights (`size mismatch for ...`,
#: `ignore_mismatched_sizes`, `Error(s) in loading state_dict`, a tensor's shape or dtype)
_WEIGHT_WORDS = re.compile(
    r"mismatch|shape|state_?dict|weight|checkpoint|safetensors|deserializ|tensor", re.IGNORECASE
)

#: `from_pretrained` options of every load: no kernels from the Hub (transformers >= 5.25
#: turns them on by default and then needs the `kernels` package and a download)
_NO_HUB_KERNELS: dict[str, Any] = {"use_kernels": False}

#: errno values of an OSError that is the system's, not the folder's content
_SYSTEM_ERRNOS = {errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EMFILE, errno.ENOMEM}


__all__ = [
    "HUB_ID",
    "MODEL_CODE_HELP",
    "PRIXLM_MODEL_TYPE",
    "check_model_source",
    "check_own_tokenizer",
    "code_elsewhere",
    "default_device",
    "is_prixlm",
    "load_command_model",
    "load_model",
    "load_prixlm",
]
