"""The candidates the Space ranks: the release's, less the labels the model cannot hold.

A candidate is fed after its query's prompt, and both must fit the model's positions. A
label longer than the positions less the shortest prompt (one-token names:
`SHORTEST_PROMPT_TOKENS`) fits no query, and a release that lists one makes every query
of its language fail. The Space leaves such labels out when it starts, with a warning in
its log naming how many and a few of them (a language none of whose labels fits is left
out whole), as the package's release writer does. Labels holding the text of a control
token (`[O]`, `</s>`), which the model cannot read as names, are left out with a warning when
the pipeline builds each language's trie (`modeling_prixlm.candidate_checks`); a language
with no other label is left out whole.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

#: Tokens of the shortest prompt of each kind (the release's token format, one-token
#: names): `<s>[S] s </s></s>[P] r </s></s>[O]` and `<s>[S] s </s></s>[P][xx][yy]</s></s>[O]`.
SHORTEST_PROMPT_TOKENS = {"triple": 10, "link": 11}
#: Labels a warning quotes, each cut to this many characters.
EXAMPLES_SHOWN, EXAMPLE_CHARACTERS = 3, 60


def positions(pipe: Any) -> int:
    """The tokens the pipeline's model holds (XLM-R positions start at `pad_token_id + 1`)."""
    config = pipe.model.config
    return config.max_position_embeddings - (config.pad_token_id + 1)


def _examples(labels: Sequence[str]) -> str:
    shown = [
        repr(label if len(label) <= EXAMPLE_CHARACTERS else label[:EXAMPLE_CHARACTERS] + "…")
        for label in labels[:EXAMPLES_SHOWN]
    ]
    return ", ".join(shown) + (", …" if len(labels) > EXAMPLES_SHOWN else "")


def fitting_pipeline(pipe: Any, languages: Sequence[str]) -> tuple[Any, list[str]]:
    """The pipeline with only the candidates of `languages` that fit after the shortest
    prompt (a link's too where there are several languages), and the languages that keep
    some; a warning for each language with labels left out. The same pipeline where every
    label fits."""
    kinds = ["triple", "link"] if len(languages) > 1 else ["triple"]
    room = positions(pipe) - max(SHORTEST_PROMPT_TOKENS[kind] for kind in kinds)
    changed: dict[str, list[str]] = {}
    kept_languages = []
    for language in languages:
        try:  # every trie built now, not at a visitor's query (labels left out: warned)
            trie = pipe.trie(language)
        except ValueError as error:  # every label unreadable: the language is left out
            warnings.warn(f"{error}: the language is left out", stacklevel=2)
            continue
        if trie.max_length - 1 <= room:
            kept_languages.append(language)
            continue
        over = (trie.entity_lengths() - 1 > room).tolist()
        left_out = [label for label, long in zip(trie.labels, over, strict=True) if long]
        kept = [label for label, long in zip(trie.labels, over, strict=True) if not long]
        where = "the language is left out" if not kept else "left out"
        warnings.warn(
            f"candidates of {language!r}: {len(left_out)} of the {len(over)} labels are longer "
            f"than the {room} tokens that the model's positions hold after the shortest "
            f"prompt: {where}, no query can reach them (e.g. {_examples(left_out)})",
            stacklevel=2,
        )
        if kept:
            changed[language] = kept
            kept_languages.append(language)
    if not changed:  # a language left out whole is not asked
        return pipe, kept_languages
    rebuilt = type(pipe)(model=pipe.model, tokenizer=pipe.tokenizer, candidates=changed)
    return rebuilt, kept_languages


__all__ = ["SHORTEST_PROMPT_TOKENS", "fitting_pipeline", "positions"]
