"""Convert the official Prix-LM release into a PrixLM folder.

The release (`wzhouad/prix-lm`) is an `XLMRobertaForCausalLM` state dict (`roberta.*`,
`lm_head.*`, the int64 `position_ids` buffer of transformers 4.x, tied decoder absent) in
`pytorch_model.bin`, vocabulary 250087, with `[S] [P] [O] [EOS]` and 81 language tokens as
added tokens. The output has `object_attention="causal"` by default (`bidirectional`
reproduces the official `decode.py`, which ran the model without a causal mask), weights as
safetensors only, and the Prix-LM custom code for `trust_remote_code=True`; the folder is
self-contained (`prixlm.release.folder`: pipeline, `handler.py`, and with `--candidates` a
JSON `{language: [entity labels]}` as the pipeline's `candidates.json`).

Language codes take the dataset build's spelling (lower case, `-` for `_`), so the folder
fits datasets built here: the release's `[zh_min_nan]` becomes `[zh-min-nan]` in the
tokenizer and `zh-min-nan` in `config.language_token_ids`, with the released id (250086).
`conversion.json` records the source and every renamed token.

    python -m prixlm.release.convert_official SRC DST [--object_attention causal|bidirectional|prefix_bidirectional] [--candidates candidates.json]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer, XLMRobertaConfig

from modeling_prixlm.configuration_prixlm import (
    OBJECT_ATTENTION_MODES,
    PrixLMConfig,
    xlmr_architecture,
)
from modeling_prixlm.formatting import (
    FACT_TOKENS,
    check_tokenizer_matches,
    fact_generation_config,
    language_key,
    language_token,
    match_tokenizer_to_positions,
)
from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB
from modeling_prixlm.pipeline_prixlm import read_candidates
from prixlm.cli import UsageError, command_parser, user_errors
from prixlm.outputs.atomic import atomic_folder, disk_errors
from prixlm.release.folder import complete_release_folder
from prixlm.release.model_card import write_model_card

OFFICIAL_REPO = "wzhouad/prix-lm"  # the release on the Hub: the card's base_model
DROPPED_KEYS = ("roberta.embeddings.position_ids", "roberta.embeddings.token_type_ids")
CONVERSION_FILE = "conversion.json"  # the conversion notes: source, renamed tokens


def load_state_dict(folder: Path) -> dict[str, torch.Tensor]:
    """Weights from `model.safetensors` or, failing that, `pytorch_model.bin` (`weights_only=True`)."""
    if (folder / "model.safetensors").is_file():
        return load_file(str(folder / "model.safetensors"))
    if (folder / "pytorch_model.bin").is_file():
        try:
            return torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001 - re-raised with the file name
            raise ValueError(
                f"{folder / 'pytorch_model.bin'}: cannot load safely ({error})"
            ) from error
    raise FileNotFoundError(f"{folder}: neither model.safetensors nor pytorch_model.bin found")


def added_token_ids(folder: Path) -> dict[str, int]:
    """The release's added tokens: `added_tokens.json`, or those of its tokenizer files."""
    path = folder / "added_tokens.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    return dict(tokenizer.get_added_vocab())


def language_codes(tokens: Mapping[str, int]) -> tuple[dict[str, int], dict[str, str]]:
    """`({code: id}, {released token: renamed token})` of the release's language tokens,
    codes spelled as the dataset build spells them (`language_key`: `zh_min_nan` ->
    `zh-min-nan`); ValueError if two tokens spell one language."""
    languages: dict[str, int] = {}
    renames: dict[str, str] = {}
    for token, token_id in sorted(tokens.items(), key=lambda item: item[1]):
        if token in FACT_TOKENS or not token.startswith("["):
            continue
        code = language_key(token[1:-1])
        if code in languages:
            raise ValueError(
                f"added tokens {language_token(code)}={languages[code]} and {token}={token_id} "
                f"spell one language {code!r}"
            )
        languages[code] = token_id
        if language_token(code) != token:
            renames[token] = language_token(code)
    return languages, renames


def rename_added_tokens(folder: Path, renames: Mapping[str, str]) -> None:
    """Rename added tokens in the tokenizer files saved in `folder`, keeping their ids:
    `tokenizer.json`'s `added_tokens`, `tokenizer_config.json`'s `added_tokens_decoder` and
    `added_tokens.json` (where present). Loading the folder's tokenizer then gives the new
    spellings."""

    if not renames:
        return

    def renamed(entry: dict) -> dict:
        return {**entry, "content": renames.get(entry["content"], entry["content"])}

    for name, key in (("tokenizer.json", "added_tokens"), ("tokenizer_config.json", None)):
        path = folder / name
        if not path.is_file():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        if key == "added_tokens":
            data[key] = [renamed(entry) for entry in data.get(key, [])]
        elif "added_tokens_decoder" in data:
            decoder = data["added_tokens_decoder"]
            data["added_tokens_decoder"] = {i: renamed(e) for i, e in decoder.items()}
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    path = folder / "added_tokens.json"
    if path.is_file():
        added = json.loads(path.read_text(encoding="utf-8"))
        added = {renames.get(token, token): i for token, i in added.items()}
        path.write_text(json.dumps(added, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def check_renamed_tokenizer(
    folder: Path, tokenizer_class: type, config: PrixLMConfig, renames: Mapping[str, str]
) -> None:
    """ValueError unless the tokenizer saved in `folder` loads with the renamed tokens at the
    released ids and none of the old spellings (loaded by its class: `AutoTokenizer` would
    read the folder's `auto_map` and ask to run its code)."""
    tokenizer = tokenizer_class.from_pretrained(folder)
    check_tokenizer_matches(tokenizer, config)
    added = tokenizer.get_added_vocab()
    wrong = [
        f"{old} -> {new}"
        for old, new in renames.items()
        if old in added or added.get(new) != config.language_token_ids[new[1:-1]]
    ]
    if wrong:
        raise ValueError(f"{folder}: renaming the tokenizer's language tokens failed: {wrong}")


def check_official_source(source: Path) -> None:
    """`UsageError` naming SRC unless it is a folder with an XLM-R `config.json` (read as
    JSON: loading another model's config could run or ask to run its code)."""
    config_path = source / "config.json"
    if not config_path.is_file():
        what = "no such folder" if not source.exists() else "no config.json in it"
        raise UsageError(f"SRC {source}: {what} (the official release folder holds config.json)")
    try:
        model_type = json.loads(config_path.read_text(encoding="utf-8")).get("model_type")
    except (json.JSONDecodeError, AttributeError) as error:
        raise UsageError(f"SRC {config_path}: not a JSON config ({error})") from error
    if model_type == "prixlm":
        raise UsageError(f"SRC {source}: already a Prix-LM folder; nothing to convert")
    if model_type != "xlm-roberta":
        raise UsageError(
            f"SRC {source}: model_type {model_type!r}, not the official release's 'xlm-roberta'"
        )


def convert_official(
    source: Path,
    destination: Path,
    object_attention: str = "causal",
    candidates: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """Write a PrixLM folder at `destination` (written in `.<name>.partial`, then renamed).

    The tokenizer (when the release has one) gets `model_max_length` = the positions' budget;
    `candidates` `{language: [labels]}` (optional) become the pipeline's `candidates.json`.
    """
    source, destination = Path(source), Path(destination)
    if object_attention not in OBJECT_ATTENTION_MODES:
        raise ValueError(
            f"--object_attention {object_attention!r}: expected one of {OBJECT_ATTENTION_MODES}"
        )
    check_official_source(source)
    if destination.exists():
        raise FileExistsError(f"DST {destination}: exists; choose a new output folder")
    base = XLMRobertaConfig.from_pretrained(source)
    tokens = added_token_ids(source)
    missing = [t for t in FACT_TOKENS if t not in tokens]
    if missing:
        raise ValueError(f"{source}: added tokens lack {missing}")
    languages, renames = language_codes(tokens)
    config = PrixLMConfig(
        subject_token_id=tokens["[S]"],
        predicate_token_id=tokens["[P]"],
        object_token_id=tokens["[O]"],
        end_of_object_token_id=tokens["[EOS]"],
        language_token_ids=languages,
        object_attention=object_attention,
        use_cache=object_attention != "bidirectional",
        **xlmr_architecture(base),
    )
    state = {k: v for k, v in load_state_dict(source).items() if k not in DROPPED_KEYS}
    model = PrixLMForCausalKB(config)
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as error:  # shapes that disagree with config.json
        first = str(error).strip().splitlines()[1:2] or [str(error)]
        raise ValueError(
            f"{source}: the weights do not fit its config.json ({first[0].strip()})"
        ) from None
    tied = {"lm_head.decoder.weight", "lm_head.decoder.bias"}
    if set(result.missing_keys) - tied or result.unexpected_keys:
        raise ValueError(
            f"{source}: not an XLMRobertaForCausalLM state dict "
            f"(missing {sorted(set(result.missing_keys) - tied)}, unexpected {result.unexpected_keys})"
        )
    model.tie_weights()
    model.generation_config = fact_generation_config(config)
    with atomic_folder(destination, argument="DST") as staging:
        with disk_errors(destination, "DST"):  # safetensors' error names no file
            model.save_pretrained(staging)
        if (source / "tokenizer.json").is_file() or (source / "sentencepiece.bpe.model").is_file():
            tokenizer = AutoTokenizer.from_pretrained(source)
            with disk_errors(destination, "DST"):
                match_tokenizer_to_positions(tokenizer, config).save_pretrained(staging)
            rename_added_tokens(staging, renames)
            check_renamed_tokenizer(staging, type(tokenizer), config, renames)
        complete_release_folder(staging, candidates)
        notes = {
            "converted_from": OFFICIAL_REPO,
            "object_attention": object_attention,
            "renamed_tokens": renames,  # language codes spelled as the dataset build does
        }
        (staging / CONVERSION_FILE).write_text(json.dumps(notes, indent=2) + "\n", encoding="utf-8")
        write_model_card(  # README.md: the official model's languages, no results of ours
            staging,
            base_model=OFFICIAL_REPO,
            languages=sorted(languages),
            repo_id=str(destination),  # the usage snippet loads the final folder
        )
    return destination


def main(argv: list[str] | None = None) -> None:
    parser = command_parser("prixlm.release.convert_official", __doc__)
    parser.add_argument("source", metavar="SRC", type=Path, help="folder of the official release")
    parser.add_argument("destination", metavar="DST", type=Path, help="new PrixLM folder")
    parser.add_argument(
        "--object_attention",
        default="causal",
        choices=OBJECT_ATTENTION_MODES,
        help="the converted model's attention: causal (the release's XLMRobertaForCausalLM), "
        "bidirectional (as the official decode.py ran it) or prefix_bidirectional (the paper)",
    )
    parser.add_argument(
        "--candidates",
        type=Path,
        default=None,
        help="JSON {language: [entity labels]}: the pipeline's candidates (default: none)",
    )
    args = parser.parse_args(argv)
    with user_errors(ValueError):
        candidates = read_candidates(str(args.candidates)) if args.candidates else None
        print(convert_official(args.source, args.destination, args.object_attention, candidates))


if __name__ == "__main__":
    main()
