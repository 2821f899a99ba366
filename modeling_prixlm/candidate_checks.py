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

Hub custom code: imports only torch, transformers and this folder (relative imports).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from .constrained_decoding import EntityTrie
from .formatting import control_token_ids

#: Characters of a label quoted in a warning.
EXAMPLE_CHARACTERS = 60


def _example(label: str) -> str:
    """`repr(label)`, cut to `EXAMPLE_CHARACTERS` characters."""
    cut = label if len(label) <= EXAMPLE_CHARACTERS else label[:EXAMPLE_CHARACTERS] + "…"
    return repr(cut)


def split_unreadable(tokenizer: Any, labels: Sequence[str]) -> tuple[list[str], list[str]]:
    """`(readable, unreadable)` labels of `labels`, each in order: unreadable ones tokenise
    (composed, NFC, as the trie reads them) into one of the model's control tokens."""
    labels = list(labels)
    controls = control_token_ids(tokenizer)
    strings = [label for label in labels if isinstance(label, str)]
    composed = [unicodedata.normalize("NFC", label) for label in strings]
    encoded = tokenizer(composed, add_special_tokens=False)["input_ids"] if composed else []
    bad = {
        label for label, ids in zip(strings, encoded, strict=True) if not controls.isdisjoint(ids)
    }
    if not bad:
        return labels, []
    return [label for label in labels if label not in bad], [
        label for label in labels if label in bad
    ]


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


__all__ = ["split_unreadable", "twins_message", "unreadable_message"]
