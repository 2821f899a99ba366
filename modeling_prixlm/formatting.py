"""KB facts as token sequences (paper §2.2), with the ids of the released checkpoint.

Monolingual triple::

    <s> [S] subject </s> </s> [P] relation </s> </s> [O] object [EOS] </s>

Cross-lingual link::

    <s> [S] entity </s> </s> [P] [s_lang] [o_lang] </s> </s> [O] entity' [EOS] </s>

Subject, relation and object are tokenised separately (no special tokens) and joined by id:
tokenising the whole formatted string could split the object differently at training and
at scoring time. Labels are aligned with `input_ids` (the model shifts them): -100 on the
prefix and on the final `</s>`, the token id on the object tokens and `[EOS]`.

Hub custom code: imports only the standard library (the tokenizer is passed in).
"""

from __future__ import annotations

import unicodedata
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from transformers import GenerationConfig

FACT_TOKENS = ("[S]", "[P]", "[O]", "[EOS]")
IGNORE_INDEX = -100
#: The paper drops every sequence of this many tokens or more.
MAX_FACT_LENGTH = 30


def language_token(code: str) -> str:
    """The token of a language code: `"de"` -> `"[de]"`."""
    return f"[{code}]"


def language_key(code: str) -> str:
    """A code as the dataset build spells it (lower case, `-` for `_`): the language lookups'
    key, so the release's `[zh_min_nan]` is the token of `zh-min-nan`."""
    return code.replace("_", "-").lower()


@dataclass(frozen=True)
class FactTokenIds:
    """Ids of `[S]`, `[P]`, `[O]`, `[EOS]` and of the language tokens."""

    subject: int
    predicate: int
    object: int
    end_of_object: int
    languages: dict[str, int]


@dataclass(frozen=True)
class EncodedFact:
    """One fact as model input.

    `input_ids` and `labels` have the same length; `object_start` is the index of `[O]`.
    """

    input_ids: list[int]
    labels: list[int]
    object_start: int

    def __len__(self) -> int:
        return len(self.input_ids)


def add_prixlm_tokens(
    tokenizer: Any, languages: Iterable[str], model: Any = None, mean_resizing: bool = True
) -> FactTokenIds:
    """Add `[S] [P] [O] [EOS]`, then one token per language in sorted order of the codes.

    On the real XLM-R tokenizer (250,002 entries) this gives `[S]`=250002 ... `[EOS]`=250005
    and, for the 81 released codes, the released ids (`[af]`=250006 ... `[zh-min-nan]`=250086,
    spelled `[zh_min_nan]` in the release). They are ordinary added tokens, as in the release.
    Tokens already present keep their id, also under another spelling (`language_key`): no
    second token for one language. If `model` is given, its embeddings are resized to
    `len(tokenizer)` and the ids are written into its config (keyed by `language_key`); its
    new rows start around the mean of the old ones (`mean_resizing`, transformers' default)
    or at random (`_init_weights`, LM-head bias 0: the paper's "randomly initialized").
    TypeError for a string `languages`; ValueError for a code holding `[`, `]`, `,` or spaces.
    """
    if isinstance(languages, (str, bytes)):  # "en" would add the codes "e" and "n"
        raise TypeError(f"languages={languages!r}: expected a list of codes, e.g. [{languages!r}]")
    codes = sorted(set(languages), key=lambda code: (language_key(code), code))
    present, new = _language_ids_by_key(tokenizer), {}  # new: key -> first code given
    for code in codes:  # "," splits every --languages list
        if not code or any(c in code for c in "[], \t\n"):
            raise ValueError(f"invalid language code {code!r}")
        if language_key(code) not in present:
            new.setdefault(language_key(code), code)
    tokenizer.add_tokens(list(FACT_TOKENS) + [language_token(c) for c in new.values()])
    ids = special_token_ids(tokenizer, codes)
    if model is not None:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=mean_resizing)
        config = model.config
        config.subject_token_id, config.predicate_token_id = ids.subject, ids.predicate
        config.object_token_id, config.end_of_object_token_id = ids.object, ids.end_of_object
        added = {language_key(code): i for code, i in ids.languages.items()}
        old = config.language_token_ids or {}
        kept = {code: i for code, i in old.items() if language_key(code) not in added}
        config.language_token_ids = dict(sorted({**kept, **added}.items()))
    return ids


def _token_id(tokenizer: Any, token: str) -> int | None:
    token_id = tokenizer.convert_tokens_to_ids(token)
    if token_id is None or (token_id == tokenizer.unk_token_id and token != tokenizer.unk_token):
        return None
    return int(token_id)


def _language_ids_by_key(tokenizer: Any) -> dict[str, dict[str, int]]:
    """`{language_key: {token: id}}` of the added `[xx]` tokens (two under one key: one
    language spelled twice)."""
    found: dict[str, dict[str, int]] = {}
    for token, token_id in tokenizer.get_added_vocab().items():
        if token[:1] == "[" and token[-1:] == "]" and token not in FACT_TOKENS and len(token) > 2:
            found.setdefault(language_key(token[1:-1]), {})[token] = int(token_id)
    return found


def known_languages(tokenizer: Any) -> list[str]:
    """Codes (`language_key`) of every `[xx]` language token added to `tokenizer`, sorted."""
    return sorted(_language_ids_by_key(tokenizer))


def _language_token_id(tokenizer: Any, code: str, by_key: Mapping[str, Any]) -> int | None:
    """The id of `code`'s token under either spelling; None if none; ValueError if two."""
    tokens = {**by_key.get(language_key(code), {})}
    tokens.setdefault(language_token(code), _token_id(tokenizer, language_token(code)))
    ids = set(tokens.values()) - {None}
    if len(ids) > 1:
        raise ValueError(
            f"language {code!r} has {len(ids)} tokens in the tokenizer ({tokens}): `_` and `-` "
            "spell one language, which must have one token"
        )
    return ids.pop() if ids else None


def special_token_ids(tokenizer: Any, languages: Iterable[str] | None = None) -> FactTokenIds:
    """Ids of the fact tokens and of `languages` (default: every added language token).

    A code is found under either spelling (`language_key`) and keyed as given (the default:
    `language_key` spelling). Raises `ValueError` naming what is missing.
    """
    found = {t: _token_id(tokenizer, t) for t in FACT_TOKENS}
    missing = [t for t, i in found.items() if i is None]
    if missing:
        raise ValueError(
            f"tokenizer lacks the Prix-LM tokens {missing}: call add_prixlm_tokens(tokenizer, languages)"
        )
    codes = list(languages) if languages is not None else None
    by_key = _language_ids_by_key(tokenizer) if codes is None or codes else {}
    language_ids = {}
    for code in sorted(by_key) if codes is None else codes:
        token_id = _language_token_id(tokenizer, code, by_key)
        if token_id is None:
            known = ", ".join(sorted(by_key)) or "none"
            raise ValueError(f"unknown language code {code!r}; known: {known}")
        language_ids[code] = token_id
    return FactTokenIds(
        subject=found["[S]"],
        predicate=found["[P]"],
        object=found["[O]"],
        end_of_object=found["[EOS]"],
        languages=dict(sorted(language_ids.items())),
    )


_control_ids: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class ControlTokenError(ValueError):
    """A name tokenised into one of the model's control tokens (`</s>`, `[O]`, `[de]`)."""


def control_token_ids(tokenizer: Any) -> frozenset[int]:
    """The ids a name must not tokenise into: the special tokens but `<unk>` (unknown
    characters give it) and the added ones (`[S]`, `[P]`, `[O]`, `[EOS]`, languages).

    Kept per tokenizer with its length: tokens added after the first use (a new language's
    `[de]`) change the length, and the ids are looked up again (every time for an object
    without a length)."""
    length = getattr(tokenizer, "__len__", None)  # also a wrapper's `__getattr__`
    size = length() if callable(length) else None
    try:
        cached_size, cached = _control_ids[tokenizer]
        if size is not None and cached_size == size:
            return cached
    except (KeyError, TypeError):
        pass
    ids = set(getattr(tokenizer, "all_special_ids", ())) | set(tokenizer.get_added_vocab().values())
    ids.discard(getattr(tokenizer, "unk_token_id", None))
    found = frozenset(ids)
    try:
        _control_ids[tokenizer] = (size, found)
    except TypeError:  # not weakly referable: looked up again next time
        pass
    return found


def check_no_control_tokens(tokenizer: Any, text: str, ids: Sequence[int], what: str) -> None:
    """`ControlTokenError` if `text`'s `ids` hold a control token: a name holding its text
    (`Berlin [O] x`, or a form that normalises to it) is tokenised as that token, which
    changes the fact's layout silently (the prefix's bidirectional attention ends at the
    first `[O]`; decoding stops at the first `[EOS]`)."""
    controls = control_token_ids(tokenizer)
    if controls.isdisjoint(ids):
        return
    for token_id in ids:
        if token_id in controls:
            token = tokenizer.convert_ids_to_tokens(token_id)
            raise ControlTokenError(
                f"{what} {text!r} is read as holding {token!r}, one of the model's control "
                "tokens, not as text: remove it from the name"
            )


def _tokenize(tokenizer: Any, text: str, what: str) -> list[int]:
    """A prompt field's ids, its text first composed (NFC, as the KB's labels are): the
    trained tokenizers have no normaliser, and a decomposed query (`ト` + U+3099 for `ド`)
    was read as other tokens and got other answers."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a string, got {type(text).__name__}")
    text = unicodedata.normalize("NFC", text)
    # verbose=False: a prompt too long for the positions is the position checks' error
    ids = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
    if not ids:
        raise ValueError(f"{what} {text!r} tokenises to nothing")
    check_no_control_tokens(tokenizer, text, ids, what)
    return list(ids)


def encode_triple_prompt(
    tokenizer: Any, subject: str, relation: str, ids: FactTokenIds | None = None
) -> list[int]:
    """`<s> [S] subject </s> </s> [P] relation </s> </s> [O]` as ids.

    `ids` (optional, every `encode_*` function): the tokenizer's `special_token_ids`, looked
    up once by a caller that encodes many facts instead of once per fact.
    """
    ids = ids or special_token_ids(tokenizer, ())
    bos, sep = tokenizer.bos_token_id, tokenizer.sep_token_id
    return (
        [bos, ids.subject]
        + _tokenize(tokenizer, subject, "subject")
        + [sep, sep, ids.predicate]
        + _tokenize(tokenizer, relation, "relation")
        + [sep, sep, ids.object]
    )


def encode_link_prompt(
    tokenizer: Any,
    subject: str,
    subject_language: str,
    object_language: str,
    ids: FactTokenIds | None = None,
) -> list[int]:
    """`<s> [S] subject </s> </s> [P] [s_lang] [o_lang] </s> </s> [O]` as ids."""
    languages = (subject_language, object_language)
    if ids is None or any(code not in ids.languages for code in languages):
        ids = special_token_ids(tokenizer, languages)  # names an unknown code
    bos, sep = tokenizer.bos_token_id, tokenizer.sep_token_id
    return (
        [bos, ids.subject]
        + _tokenize(tokenizer, subject, "subject")
        + [sep, sep, ids.predicate]
        + [ids.languages[subject_language], ids.languages[object_language]]
        + [sep, sep, ids.object]
    )


def encode_object(tokenizer: Any, obj: str, ids: FactTokenIds | None = None) -> list[int]:
    """The object's ids followed by `[EOS]`: what the model generates after `[O]`."""
    ids = ids or special_token_ids(tokenizer, ())
    return _tokenize(tokenizer, obj, "object") + [ids.end_of_object]


def _join(
    tokenizer: Any, prompt: list[int], obj: str, ids: FactTokenIds | None = None
) -> EncodedFact:
    object_ids = encode_object(tokenizer, obj, ids)
    input_ids = prompt + object_ids + [tokenizer.sep_token_id]
    labels = [IGNORE_INDEX] * len(prompt) + object_ids + [IGNORE_INDEX]
    return EncodedFact(input_ids=input_ids, labels=labels, object_start=len(prompt) - 1)


def encode_triple(tokenizer: Any, subject: str, relation: str, obj: str) -> EncodedFact:
    """A monolingual triple as `input_ids`, `labels` and `object_start`."""
    return _join(tokenizer, encode_triple_prompt(tokenizer, subject, relation), obj)


def encode_link(
    tokenizer: Any, subject: str, subject_language: str, object_language: str, obj: str
) -> EncodedFact:
    """A cross-lingual link as `input_ids`, `labels` and `object_start`."""
    prompt = encode_link_prompt(tokenizer, subject, subject_language, object_language)
    return _join(tokenizer, prompt, obj)


def encode_prompt(
    tokenizer: Any, row: Mapping[str, Any], ids: FactTokenIds | None = None
) -> list[int]:
    """The prompt ids (ending with `[O]`) of one dataset row (schema in
    docs/architecture.md): a triple's (`kind` "triple", the default) or a link's."""
    kind = row.get("kind", "triple")
    if kind == "link":
        return encode_link_prompt(
            tokenizer, row["subject"], row["subject_language"], row["object_language"], ids
        )
    if kind == "triple":
        return encode_triple_prompt(tokenizer, row["subject"], row["relation"], ids)
    raise ValueError(f"row kind {kind!r}: expected 'triple' or 'link'")


def encode_row(
    tokenizer: Any, row: Mapping[str, Any], ids: FactTokenIds | None = None
) -> EncodedFact:
    """Encode one dataset row (schema in docs/architecture.md): a triple or a link."""
    return _join(tokenizer, encode_prompt(tokenizer, row, ids), row["object"], ids)


def within_length(
    fact: EncodedFact | Sequence[int], max_length: int | None = MAX_FACT_LENGTH
) -> bool:
    """The paper's filter: keep sequences shorter than `max_length` tokens (None keeps all)."""
    return max_length is None or len(fact) < max_length


def fact_generation_config(config: Any) -> GenerationConfig:
    """Generation defaults for completing a fact: stop at `[EOS]`, pad with `<pad>`."""
    return GenerationConfig(
        eos_token_id=config.end_of_object_token_id,
        pad_token_id=config.pad_token_id,
        bos_token_id=config.bos_token_id,
        max_new_tokens=MAX_FACT_LENGTH,
        use_cache=config.object_attention != "bidirectional",
    )


def position_budget(config: Any) -> int:
    """The longest input (tokens) that `config`'s position embeddings cover.

    XLM-R positions start at `pad_token_id + 1` (2 for XLM-R), so
    `max_position_embeddings - pad_token_id - 1` tokens fit (512 for xlm-roberta-base).
    """
    return config.max_position_embeddings - config.pad_token_id - 1


def match_tokenizer_to_positions(tokenizer: Any, config: Any) -> Any:
    """Set `tokenizer.model_max_length` to `position_budget(config)` (saved with the tokenizer).

    Truncation (`truncation=True`) and the length warnings then follow the model's budget.
    """
    tokenizer.model_max_length = position_budget(config)
    return tokenizer


def check_tokenizer_matches(tokenizer: Any, config: Any) -> None:
    """Raise `ValueError` if `tokenizer` does not belong to a model with this `config`.

    Checks the vocabulary size, `<pad>`, and the ids of `[S] [P] [O] [EOS]` and of the
    language tokens that the config declares.
    """
    problems = []
    if len(tokenizer) > config.vocab_size:
        problems.append(
            f"tokenizer has {len(tokenizer)} tokens but the model's vocab_size is {config.vocab_size}"
        )
    if tokenizer.pad_token_id != config.pad_token_id:
        problems.append(
            f"pad id {tokenizer.pad_token_id} != config pad_token_id {config.pad_token_id}"
        )
    languages = config.language_token_ids or {}
    by_key = _language_ids_by_key(tokenizer) if languages else {}
    found = {t: _token_id(tokenizer, t) for t in FACT_TOKENS}
    found |= {language_token(c): _language_token_id(tokenizer, c, by_key) for c in languages}
    expected = {
        "[S]": config.subject_token_id,
        "[P]": config.predicate_token_id,
        "[O]": config.object_token_id,
        "[EOS]": config.end_of_object_token_id,
        **{language_token(c): i for c, i in languages.items()},  # found under either spelling
    }
    for token, config_id in expected.items():
        if (token_id := found[token]) != config_id:
            problems.append(f"{token} is {token_id} in the tokenizer but {config_id} in the config")
    if problems:
        raise ValueError("tokenizer does not match the model: " + "; ".join(problems))


__all__ = [
    "fact_generation_config",
    "match_tokenizer_to_positions",
    "position_budget",
    "FACT_TOKENS",
    "check_tokenizer_matches",
    "ControlTokenError",
    "check_no_control_tokens",
    "control_token_ids",
    "IGNORE_INDEX",
    "MAX_FACT_LENGTH",
    "EncodedFact",
    "FactTokenIds",
    "add_prixlm_tokens",
    "encode_link",
    "encode_link_prompt",
    "encode_object",
    "encode_prompt",
    "encode_row",
    "encode_triple",
    "encode_triple_prompt",
    "known_languages",
    "language_key",
    "language_token",
    "special_token_ids",
    "within_length",
]
