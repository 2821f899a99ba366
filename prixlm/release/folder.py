"""Make a saved model folder self-contained: what a Hub user needs, without this package.

`complete_release_folder(folder, candidates)` adds to a folder written by `save_pretrained`
(weights, config with `auto_map`, the model code that the model module imports, tokenizer):

- every Hub code file of `modeling_prixlm/` (flat; torch, transformers and relative imports
  only), also those the model module does not import: `constrained_decoding.py`,
  `decoding_steps.py`, `beam_search.py` (Algorithm 1), `pipeline_prixlm.py` (the custom
  pipeline) and `handler.py` (Inference Endpoints, at the root as they require);
- `custom_pipelines` in `config.json`, so `pipeline(model=folder, trust_remote_code=True)`
  works without a task name, and its `use_cache` true (false for `bidirectional` attention,
  which has no KV cache): the Trainer leaves it false on the model it trained;
- `candidates.json`, `{language: [entity labels]}`: what the pipeline ranks (optional; only
  languages the model has a language token for, under the config's spelling of the code;
  a label that fits no query in the model's positions, longer than they hold after the
  shortest prompt, or that holds a control token's text (`[O]`, `</s>`: the model reads it
  as that token, and training left its facts out), is left out with a warning:
  `fitting_labels`);
- `relations.json`, `{language: [relation names]}`: the relations of each language's
  training triples (names are English in every language, e.g. `"currency"`); the pipeline
  warns on a query with another relation, and apps (a Space) list them (optional; keyed
  like `candidates.json`, by the config's spelling of each code the model has);
- `generation_config.json` ending a fact at `[EOS]`, and the tokenizer's `model_max_length`
  set to the model's position budget (both fixed if the folder had them otherwise);
- file modes as the user's umask gives them (`model.safetensors` is written 0600 by
  safetensors; a shared or served folder needs it readable like the rest).

Size of `candidates.json`: about (label bytes + 8) per label (measured: 22 bytes per label,
119 kB for the 5,416 labels of the CLDR KB in en/de/ja): 1 MB per ~40,000 entities, ~125 MB
for 5 million DBpedia labels (the Hub stores such files with LFS,
and the pipeline tokenises a language's labels into its trie, 8 bytes per trie node, at the
first query of that language). `max_candidates_per_language` bounds it: a larger language is
left out with a warning, and its users pass `candidates=` to the pipeline instead.

Every file is written with `prixlm.outputs.atomic`; call it on a staging folder before the
folder is published (`PrixLMTrainer.save_release`, `convert_official`), or on a finished one.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import modeling_prixlm
from modeling_prixlm.configuration_prixlm import CUSTOM_PIPELINES
from modeling_prixlm.formatting import MAX_FACT_LENGTH, language_key
from modeling_prixlm.pipeline_prixlm import CANDIDATES_FILE, RELATIONS_FILE
from prixlm.outputs.atomic import atomic_file
from prixlm.release.dataset_inputs import dataset_candidates, dataset_relations, widget_examples

#: Languages with more candidate labels are left out of `candidates.json` (see the docstring).
DEFAULT_MAX_CANDIDATES_PER_LANGUAGE = 1_000_000
#: The Hub code folder; its `__init__.py` (a package marker for this repository) is not copied.
HUB_CODE_DIR = Path(modeling_prixlm.__file__).parent


def hub_code_files() -> list[Path]:
    """Every file of the flat Hub code folder that a release folder carries."""
    return sorted(p for p in HUB_CODE_DIR.glob("*.py") if p.name != "__init__.py")


def _write_json(path: Path, content: Any, argument: str) -> None:
    with atomic_file(path, argument=argument) as staging:
        staging.write_text(
            json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error


def bounded_candidates(
    candidates: Mapping[str, Sequence[str]],
    max_per_language: int | None,
    model_languages: Iterable[str] | None = None,
) -> dict[str, list[str]]:
    """The languages of `candidates` within the bound (warning for each one left out).

    `model_languages` (the config's `language_token_ids` codes; None: not checked): every
    candidate language must be one of them, found under either spelling (`zh_min_nan` is
    `zh-min-nan`, `language_key`) and kept under the model's: the pipeline's link queries
    name the target language by its token.

    Raises:
        ValueError: a language code or label that is not a non-empty string; a language the
            model has no token for, or given twice (two spellings).
    """
    candidates = _model_spelling(candidates, model_languages)
    kept = {}
    for language, labels in candidates.items():
        labels = list(labels)
        bad = next((label for label in labels if not isinstance(label, str) or not label), None)
        if bad is not None or not labels:
            raise ValueError(f"candidates[{language!r}]: empty list or bad label {bad!r}")
        if max_per_language is not None and len(labels) > max_per_language:
            warnings.warn(
                f"candidates[{language!r}]: {len(labels):,} labels > max_candidates_per_language="
                f"{max_per_language:,}: left out of {CANDIDATES_FILE} (pass candidates= to the "
                "pipeline for this language)",
                stacklevel=3,
            )
            continue
        kept[language] = labels
    return kept


def _model_spelling(
    stored: Mapping[str, Sequence[str]],
    model_languages: Iterable[str] | None,
    name: str = "candidates",
    keep_unknown: bool = False,
) -> Mapping[str, Sequence[str]]:
    """`stored` (`name`: `candidates` or `relations`) keyed by the model's spelling of each
    language (`pt-br` for `pt-BR`: `language_key`), so `candidates.json` and `relations.json`
    name a language alike; a language the model has no token for is an error, or kept as
    given with `keep_unknown`. ValueError as in `bounded_candidates`."""
    for language in stored:
        if not isinstance(language, str) or not language:
            raise ValueError(f"{name}: language {language!r} is not a code")
    if model_languages is None:
        return stored
    codes = {language_key(code): code for code in sorted(model_languages)}
    unknown = sorted(lang for lang in stored if language_key(lang) not in codes)
    if unknown and not keep_unknown:
        raise ValueError(
            f"{name}: the model has no language token for {unknown}: link queries into "
            f"them cannot be made; the model's languages: {', '.join(codes.values()) or 'none'}"
        )
    renamed: dict[str, Sequence[str]] = {}
    for language, values in stored.items():
        code = codes.get(language_key(language), language)
        if code in renamed:
            raise ValueError(f"{name}: language {code!r} given twice (two spellings)")
        renamed[code] = values
    return renamed


def complete_release_folder(
    folder: str | Path,
    candidates: Mapping[str, Sequence[str]] | None = None,
    max_candidates_per_language: int | None = DEFAULT_MAX_CANDIDATES_PER_LANGUAGE,
    relations: Mapping[str, Iterable[str]] | None = None,
    tokenizer: Any = None,
    links: bool = True,
) -> dict[str, Any]:
    """Add the Hub code, pipeline, handler, candidates, relations and fixed generation/tokenizer
    settings.

    Args:
        folder: a folder written by `PrixLMForCausalKB.save_pretrained` (plus the tokenizer).
        candidates: `{language: [entity labels]}` for `candidates.json` (languages of the
            config's `language_token_ids`); None writes none (and keeps an existing one).
            Labels that fit no query in the model's positions, or that hold a control
            token's text, are left out (`fitting_labels`).
        max_candidates_per_language: leave out a language with more labels (None: no bound).
        relations: `{language: [relation names]}` for `relations.json` (sorted, distinct,
            under the config's spelling of the code, as the candidates); None writes none
            (and keeps an existing one).
        tokenizer: the model's tokenizer, which measures the labels (None: the folder's).
        links: the model answers link queries too (their prompt is one token longer).
    Returns:
        `{"code_files": [...], "candidate_languages": [...], "candidates_bytes": int,
        "candidates_too_long": {language: how many labels were left out},
        "candidates_unreadable": {language: how many labels held a control token's text}}`.
    Raises:
        FileNotFoundError: no `config.json` in `folder`.
        ValueError: a malformed `config.json` or candidates.
    """
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} not found: save the model there first")
    config = _read_json(config_path)
    for key in ("end_of_object_token_id", "max_position_embeddings", "pad_token_id"):
        if key not in config:
            raise ValueError(f"{config_path}: no {key!r}: not a Prix-LM config")
    follow_umask(folder)
    files = []
    for source in hub_code_files():
        shutil.copyfile(source, folder / source.name)
        files.append(source.name)
    config["custom_pipelines"] = CUSTOM_PIPELINES
    # The Trainer sets `use_cache` to its TrainingArguments' (False) on the model it trains:
    # a release's forward then returned no KV cache by default.
    config["use_cache"] = config.get("object_attention") != "bidirectional"
    _write_json(config_path, config, "config.json")
    _fix_generation_config(folder, config)
    if not _fix_tokenizer_length(folder, config):
        warnings.warn(
            f"{folder}: no tokenizer_config.json: the folder is not self-contained", stacklevel=2
        )
    stored: list[str] = []
    size = 0
    too_long: dict[str, int] = {}
    unreadable: dict[str, int] = {}
    if candidates is not None:
        languages = config.get("language_token_ids")
        kept = bounded_candidates(candidates, max_candidates_per_language, languages)
        kept, too_long = fitting_labels(kept, folder, config, tokenizer, links, unreadable)
        _write_json(folder / CANDIDATES_FILE, kept, CANDIDATES_FILE)
        stored, size = sorted(kept), (folder / CANDIDATES_FILE).stat().st_size
    if relations is not None:
        checked = checked_relations(relations, config.get("language_token_ids"))
        _write_json(folder / RELATIONS_FILE, checked, RELATIONS_FILE)
    return {"code_files": files, "candidate_languages": stored, "candidates_bytes": size,
            "candidates_too_long": too_long, "candidates_unreadable": unreadable}  # fmt: skip


def fitting_labels(
    candidates: Mapping[str, list[str]],
    folder: Path,
    config: Mapping[str, Any],
    tokenizer: Any = None,
    links: bool = True,
    unreadable: dict[str, int] | None = None,
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """The labels of `candidates` that fit the positions of the model (its `config.json`
    values) after the shortest triple prompt, and link prompt with `links`; the others are
    left out with a warning per language (`prixlm.link_prediction.candidate_fit`), a
    language with none left whole. Also `{language: how many were left out}`. Labels the
    model cannot read (they hold a control token's text, `[O]`, `</s>`: training left their
    facts out) are left out first, with a warning per language, and counted per language
    in `unreadable` when given. Measured with `tokenizer`, else the folder's; a folder
    without one keeps every label."""
    from prixlm.link_prediction.candidate_fit import fitting_candidates, readable_candidates

    tokenizer = tokenizer if tokenizer is not None else folder_tokenizer(folder)
    if tokenizer is None:  # not self-contained: `complete_release_folder` warned
        return dict(candidates), {}
    counts: dict[str, list[int]] = {}  # each label tokenised once, for both checks
    candidates, left_out_unreadable = readable_candidates(tokenizer, candidates, counts)
    if unreadable is not None:
        unreadable.update(
            {language: len(labels) for language, labels in left_out_unreadable.items()}
        )
    kinds = ("triple", "link") if links else ("triple",)
    positions = SimpleNamespace(
        **{k: config[k] for k in ("max_position_embeddings", "pad_token_id")}
    )
    kept, left_out = fitting_candidates(tokenizer, positions, candidates, kinds, counts)
    return kept, {language: len(labels) for language, labels in left_out.items()}


def folder_tokenizer(folder: Path) -> Any:
    """The tokenizer saved in `folder`, loaded by the class its `tokenizer_config.json`
    names (`AutoTokenizer` would read the folder's `auto_map` and ask to run its code);
    None without one."""
    import transformers

    path = folder / "tokenizer_config.json"
    if not path.is_file():
        return None
    name = _read_json(path).get("tokenizer_class") or "XLMRobertaTokenizer"
    tokenizer_class = getattr(transformers, name, None) or transformers.XLMRobertaTokenizer
    return tokenizer_class.from_pretrained(folder)


def checked_relations(
    relations: Mapping[str, Iterable[str]], model_languages: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """`{language: sorted distinct relation names}`, each language the model has
    (`model_languages`, the config's `language_token_ids` codes; None: not renamed) under
    the model's spelling, as in `candidates.json`: the pipeline and apps look a language's
    relations up by its candidates' code. ValueError on a non-string or empty name, or on
    one language given twice (two spellings)."""
    checked = {}
    for language, names in relations.items():
        names = set(names)
        bad = next((n for n in names if not isinstance(n, str) or not n.strip()), None)
        if not isinstance(language, str) or not language or bad is not None:
            raise ValueError(f"relations[{language!r}]: bad language code or relation {bad!r}")
        checked[language] = sorted(names)
    return dict(_model_spelling(checked, model_languages, "relations", keep_unknown=True))


def follow_umask(folder: Path) -> None:
    """Give every file of `folder` written private (0600) the mode of a new file (0666 &
    ~umask), as `open()` would have."""
    umask = os.umask(0)
    os.umask(umask)
    wanted = 0o666 & ~umask
    for path in folder.iterdir():
        if path.is_file() and not path.is_symlink():
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode == 0o600 and wanted != mode:
                path.chmod(wanted)


def _fix_generation_config(folder: Path, config: Mapping[str, Any]) -> None:
    """`generation_config.json` ends a fact at `[EOS]` (written if absent)."""
    path = folder / "generation_config.json"
    generation = _read_json(path) if path.is_file() else {}
    wanted = {
        "eos_token_id": config["end_of_object_token_id"],
        "pad_token_id": config["pad_token_id"],
    }
    if any(generation.get(k) != v for k, v in wanted.items()):
        if not generation:
            generation = {
                "bos_token_id": config.get("bos_token_id"),
                "max_new_tokens": MAX_FACT_LENGTH,
            }
        _write_json(path, {**generation, **wanted}, "generation_config.json")


#: What transformers records in `tokenizer_config.json` of how a tokenizer was loaded (a
#: tokenizer loaded from a folder, as on resume: `true`), not what it is.
LOADER_FLAGS = ("is_local", "local_files_only")


def _fix_tokenizer_length(folder: Path, config: Mapping[str, Any]) -> bool:
    """`model_max_length` = `max_position_embeddings - pad_token_id - 1`, and no
    `LOADER_FLAGS` (a resumed run's release equals an uninterrupted one's); False: no
    tokenizer."""
    path = folder / "tokenizer_config.json"
    if not path.is_file():
        return False
    tokenizer_config = _read_json(path)
    budget = config["max_position_embeddings"] - config["pad_token_id"] - 1
    fixed = {k: v for k, v in tokenizer_config.items() if k not in LOADER_FLAGS}
    fixed["model_max_length"] = budget
    if fixed != tokenizer_config:
        _write_json(path, fixed, "tokenizer_config.json")
    return True


__all__ = [
    "DEFAULT_MAX_CANDIDATES_PER_LANGUAGE",
    "bounded_candidates",
    "complete_release_folder",
    "checked_relations",
    "dataset_candidates",
    "dataset_relations",
    "fitting_labels",
    "folder_tokenizer",
    "follow_umask",
    "hub_code_files",
    "widget_examples",
]
