"""Candidate labels the model cannot rank as given, found once when a language's trie is built.

- **Unreadable** labels hold the text of one of the model's control tokens (`[O]`, `[EOS]`,
  `</s>`, `[en]`): the tokenizer reads that text as the token, not as a name, and the trie
  refuses the label (`formatting.ControlTokenError`). Training leaves such facts out, so the
  model never learnt them; the entry points (the pipeline, the Space, link-prediction
  evaluation, completion, the release's `candidates.json`) leave such labels out with one
  warning that counts them (`split_unreadable`, `unreadable_message`), while
  `EntityTrie.from_labels` itself stays strict.
- **Twins** tokenise alike (characters the tokenizer does not know all read as `<unk>`; a
  normalising tokenizer folds full-width forms and ligatures): the trie holds one entity
  for them, answered by the first label of the group, and the others can never be answered
  (`twins_message`).
- **A language the model has no token for** (`config.language_token_ids`): it was never
  trained on it, and its names read through `<unk>`, so every query gets the same answers.
  `candidates=` in such a language is refused (`given_candidates`); the folder's own
  `candidates.json` may list one (copied from another build), and the pipeline leaves it
  out with a warning, so that an app serving the folder still starts
  (`model_language_problem`).

The candidates' languages are looked up in any spelling (`stored_code`: `EN` for `en`,
`zh_min_nan` for `zh-min-nan`, `formatting.language_key`).

Hub custom code: imports only torch, transformers and this folder (relative imports).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .constrained_decoding import EntityTrie, encode_labels
from .formatting import control_token_ids, language_key

#: Characters of a label quoted in a warning.
EXAMPLE_CHARACTERS = 60


def _example(label: str) -> str:
    """`repr(label)`, cut to `EXAMPLE_CHARACTERS` characters."""
    cut = label if len(label) <= EXAMPLE_CHARACTERS else label[:EXAMPLE_CHARACTERS] + "…"
    return repr(cut)


def split_unreadable(tokenizer: Any, labels: Sequence[str]) -> tuple[list[str], list[str]]:
    """`(readable, unreadable)` labels of `labels`, each in order: unreadable ones tokenise
    (composed, NFC, as the trie reads them) into one of the model's control tokens."""
    readable, unreadable, _ = readable_split(tokenizer, labels)
    return readable, unreadable


def readable_split(
    tokenizer: Any, labels: Sequence[str]
) -> tuple[list[str], list[str], list[list[int]]]:
    """`split_unreadable` and the ids of each readable label (composed, NFC, no special
    tokens): the trie is built from them (`readable_trie`), not tokenised again. A label
    that is not a string is kept as readable, with no ids (the trie refuses it)."""
    labels = list(labels)
    controls = control_token_ids(tokenizer)
    strings = [index for index, label in enumerate(labels) if isinstance(label, str)]
    texts = [labels[index] for index in strings]
    encoded = encode_labels(tokenizer, texts) if texts else []
    ids = dict(zip(strings, encoded, strict=True))  # by position: a label need not hash
    bad = {index for index, one in ids.items() if not controls.isdisjoint(one)}
    readable = [index for index in range(len(labels)) if index not in bad]
    return (
        [labels[index] for index in readable],
        [labels[index] for index in sorted(bad)],
        [list(ids.get(index, ())) for index in readable],
    )


def readable_trie(
    tokenizer: Any, labels: Sequence[str]
) -> tuple[EntityTrie | None, list[str], list[str]]:
    """`(trie, readable, unreadable)`: the trie of the readable labels of `labels`
    (`readable_split`; None when every label is unreadable), each label tokenised once;
    no label at all, or one that is not text, is the trie's own `ValueError`."""
    readable, unreadable, encoded = readable_split(tokenizer, labels)
    if not readable and unreadable:
        return None, readable, unreadable
    # a label that is not text has no ids: `from_labels` refuses it before reading them
    return EntityTrie.from_labels(tokenizer, readable, encoded), readable, unreadable


def trie_within(trie: EntityTrie, longest: int) -> EntityTrie:
    """`trie` cut to its entities of at most `longest` tokens (`[EOS]` included), in order,
    with their labels: the trie `EntityTrie.from_labels` builds of those labels, made from
    `trie`'s own nodes (no label tokenised again). `trie` itself when every entity is kept.

    Raises:
        ValueError: no entity is that short.
    """
    device, whole = trie.edge_keys.device, trie
    trie = trie.to("cpu")  # cut on the CPU (a GPU trie's copy is kept), returned on `device`
    lengths = trie.entity_lengths()
    keep = lengths <= longest
    if bool(keep.all()):
        return whole
    if not bool(keep.any()):
        raise ValueError("no candidate entities: the trie needs at least one")
    parents = torch.cat([torch.zeros(1, dtype=torch.long), trie.edge_keys // trie.stride])
    needed = torch.zeros(trie.num_nodes, dtype=torch.bool)
    needed[trie.entity_nodes[keep]] = True
    depth = int(lengths[keep].max())
    offsets = trie.depth_offsets.tolist()
    for level in range(depth, 0, -1):  # the ancestors of the kept leaves, deepest first
        nodes = torch.arange(offsets[level], offsets[level + 1])
        needed[parents[nodes[needed[nodes]]]] = True
    numbers = torch.cumsum(needed, 0) - 1  # a kept node's number in the cut trie
    kept = needed.nonzero().squeeze(1)[1:]  # the root has no edge
    keys = trie.edge_keys[kept - 1]
    edge_keys = numbers[keys // trie.stride] * trie.stride + keys % trie.stride
    counts = torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(needed, 0)])
    labels = None if trie.labels is None else [
        label for label, one in zip(trie.labels, keep.tolist(), strict=True) if one
    ]  # fmt: skip
    return EntityTrie(
        edge_keys,
        numbers[trie.entity_nodes[keep]],
        counts[torch.tensor(offsets[: depth + 2])],
        trie.stride,
        trie.eos_token_id,
        labels,
    ).to(device)


def unreadable_message(unreadable: Sequence[str], total: int, where: str) -> str:
    """The warning for `unreadable` labels of the `total` of `where`, left out."""
    return (
        f"{where}: {len(unreadable)} of the {total} candidate labels hold the text of one of "
        f"the model's control tokens (e.g. {_example(unreadable[0])}), which the model reads "
        "as that token and not as a name: left out, no query can reach them"
    )


def twins_message(trie: EntityTrie, where: str) -> str | None:
    """The warning for the labels of `trie` that tokenise like an earlier one (each answered
    as that one, never by itself); None when every label has its own tokenisation."""
    if trie.labels is None or int(trie.representatives().numel()) == trie.num_entities:
        return None
    first = trie.entity_of(trie.entity_nodes).tolist()
    merged = [(index, one) for index, one in enumerate(first) if one != index]
    if not merged:
        return None
    index, one = merged[0]
    return (
        f"{where}: {len(merged)} of the {trie.num_entities} candidate labels tokenise like "
        f"another and are answered as it (e.g. {_example(trie.labels[index])} as "
        f"{_example(trie.labels[one])}): fewer distinct answers than labels, and those labels "
        "are never answered themselves"
    )


def stored_code(stored: Mapping[str, Any], language: str) -> str | None:
    """The key of `stored` for `language`: itself, else its other spelling (`zh_min_nan` for
    `zh-min-nan`, `en` for `EN`: `formatting.language_key`); None when absent."""
    if language in stored:
        return language
    key = language_key(language)
    return next((code for code in stored if language_key(code) == key), None)


def for_language(stored: Mapping[str, Any], language: str) -> Any:
    """`stored[language]`, also in its other spelling (`stored_code`); None when absent."""
    code = stored_code(stored, language)
    return None if code is None else stored[code]


def model_language_problem(config: Any, language: str) -> str | None:
    """Why the model of `config` cannot rank labels of `language`: it has no language token
    for it (`language_token_ids`, in any spelling); None when it has one, or when the config
    lists no language at all (nothing to compare with)."""
    codes = sorted(getattr(config, "language_token_ids", None) or {})
    if not codes or stored_code(dict.fromkeys(codes), language) is not None:
        return None
    return (
        f"the model has no language token for {language!r} (its languages: "
        f"{', '.join(codes)}): it was never trained on that language and cannot rank its labels"
    )


#: How a Python caller gives the labels of a language the folder stores none for.
CANDIDATES_CALL = "pipeline(model=..., trust_remote_code=True, candidates={language: [labels]})"


def candidates_advice(problem: str | None) -> str:
    """The advice that ends the pipeline's error for a language without candidates, after the
    model's `problem` with that language (`model_language_problem`), if any: `candidates=`.
    The Inference Endpoints handler gives its callers its own (they build no pipeline)."""
    if problem is None:
        return f"build the pipeline with them: {CANDIDATES_CALL}"
    return f"{problem}; those of its languages go as {CANDIDATES_CALL}"


def check_model_language(config: Any, language: str) -> None:
    """ValueError naming `language` and the model's languages unless the model of `config`
    has a token for it (`model_language_problem`)."""
    if (problem := model_language_problem(config, language)) is not None:
        raise ValueError(f"language {language!r}: {problem}")


def untrained_languages(stored: Mapping[str, Any], config: Any) -> dict[str, str]:
    """`{code: why}` of the languages of `stored` that the model of `config` has no token
    for (`model_language_problem`), in the order of `stored`."""
    problems = {code: model_language_problem(config, code) for code in stored}
    return {code: problem for code, problem in problems.items() if problem is not None}


def given_candidates(
    candidates: Mapping[str, Sequence[str]] | None, config: Any
) -> dict[str, list[str]]:
    """`candidates=` as `{language: [labels]}`; TypeError for a string where a list of labels
    goes, ValueError for one language given twice (`en` and `EN`) or for a language the
    model of `config` has no token for (`model_language_problem`)."""
    given: dict[str, list[str]] = {}
    for code, labels in (candidates or {}).items():
        if isinstance(labels, str):  # list("Euro") would be the candidates E, u, r, o
            raise TypeError(f"candidates[{code!r}] must be a list of labels, not one string")
        if (other := stored_code(given, code)) is not None:
            raise ValueError(f"candidates name one language twice: {other!r} and {code!r}")
        if (problem := model_language_problem(config, code)) is not None:
            raise ValueError(f"candidates[{code!r}]: {problem}")
        given[code] = list(labels)
    return given


__all__ = [
    "check_model_language",
    "for_language",
    "given_candidates",
    "model_language_problem",
    "readable_split",
    "readable_trie",
    "split_unreadable",
    "stored_code",
    "trie_within",
    "twins_message",
    "unreadable_message",
    "untrained_languages",
]
