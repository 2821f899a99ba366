"""Queries and candidates against the model's positions, checked before any decoding.

A candidate is scored after its query's prompt: the prompt and the candidate's tokens are
fed (its `[EOS]` is predicted, never fed), and together they must fit the model's positions
(`formatting.position_budget`). The shortest prompt of each kind has one-token names,
`SHORTEST_PROMPT_TOKENS`: a candidate longer than the positions less that prompt fits no
query of that kind (`candidate_room`). Candidate sets leave such labels out (the release's
`candidates.json`, the package's evaluations); given one anyway, `check_positions` names
it and says to leave it out.

Hub custom code: imports only torch, transformers and this folder (relative imports).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .constrained_decoding import EntityTrie

#: Tokens of the shortest prompt of each query kind (one-token names):
#: `<s> [S] s </s> </s> [P] r </s> </s> [O]` and `<s> [S] s </s> </s> [P] [xx] [yy] </s> </s> [O]`.
SHORTEST_PROMPT_TOKENS = {"triple": 10, "link": 11}
#: Characters of a query or candidate quoted in an error message.
SHOWN_CHARACTERS = 120


class PositionBudgetError(ValueError):
    """A query, or a query with a candidate, longer than the model's positions (the message
    names them and what to shorten or leave out); the command lines print it as one
    `error:` line."""


def positions_of(config: Any) -> int | None:
    """The tokens `config`'s positions hold (`formatting.position_budget`: XLM-R positions
    start at `pad_token_id + 1`); None for a config without `max_position_embeddings`."""
    max_positions = getattr(config, "max_position_embeddings", None)
    if max_positions is None:
        return None
    pad = getattr(config, "pad_token_id", None)
    return max_positions - (pad + 1 if pad is not None else 0)


def query_kind(query: Any) -> str:
    """`"triple"` or `"link"`: a `(subject, relation)` or a row of kind `triple` (the
    default), or a `(subject, subject_language, object_language)` or a row of kind `link`."""
    if isinstance(query, Mapping):
        return "link" if query.get("kind") == "link" else "triple"
    return "link" if isinstance(query, tuple) and len(query) == 3 else "triple"


def candidate_room(positions: int, kinds: Iterable[str] = ("triple",)) -> int:
    """The most tokens (its `[EOS]` not counted) a candidate label may have and still fit
    `positions` after the shortest prompt of every kind in `kinds` (none: a triple's)."""
    return positions - max(SHORTEST_PROMPT_TOKENS[kind] for kind in [*kinds] or ["triple"])


def shown(value: Any) -> str:
    """`repr(value)`, cut to `SHOWN_CHARACTERS` characters."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARACTERS else text[:SHOWN_CHARACTERS] + "…"


def check_positions(
    config: Any, queries: Sequence[Any], prompts: Sequence[Sequence[int]], trie: EntityTrie
) -> None:
    """`PositionBudgetError` unless every prompt fits the model's positions with every
    candidate of `trie` (the longest prompt with the longest candidate).

    The message blames the query when even the shortest candidate does not fit after it,
    the candidate when it fits no query of its kind (it is to be left out of the
    candidates), and otherwise names the longest query and candidate and the query length
    that would fit.
    """
    budget = positions_of(config)
    if budget is None:
        return
    longest_prompt = max(map(len, prompts))
    # trie.max_length: the longest entity, [EOS] included (no pass over the entities)
    if trie.max_length - 1 + longest_prompt <= budget:
        return
    max_positions = config.max_position_embeddings
    model = f"the model has {budget} (max_position_embeddings={max_positions})"
    longest = max(range(len(prompts)), key=lambda i: len(prompts[i]))
    query = shown(queries[longest])
    fed = trie.entity_lengths() - 1 + longest_prompt
    if int(fed.min()) > budget:  # even the shortest candidate: the query is too long
        raise PositionBudgetError(
            f"query {query} is {longest_prompt} tokens: with the shortest candidate it "
            f"needs {int(fed.min())} positions, but {model}; shorten the query"
        )
    kind = query_kind(queries[longest])
    room = candidate_room(budget, [kind])
    worst = int(fed.argmax())
    name = shown(trie.label(worst) or f"#{worst}")
    tokens = int(fed[worst]) - longest_prompt
    if tokens > room:  # no query of this kind fits beside it: the candidate is at fault
        over = int((fed - longest_prompt > room).sum())
        raise PositionBudgetError(
            f"candidate {name} ({tokens} tokens) does not fit even after the shortest "
            f"{kind} prompt ({SHORTEST_PROMPT_TOKENS[kind]} tokens): it needs "
            f"{tokens + SHORTEST_PROMPT_TOKENS[kind]} positions, but {model}; leave it out "
            f"of the candidates ({over} candidates are longer than {room} tokens)"
        )
    raise PositionBudgetError(
        f"query {query} ({longest_prompt} tokens) with candidate {name} ({tokens} tokens) "
        f"needs {int(fed[worst])} positions, but {model}; {int((fed > budget).sum())} "
        f"candidates do not fit after it: shorten the query to at most "
        f"{budget - (trie.max_length - 1)} tokens, or drop or shorten those candidates"
    )


__all__ = [
    "SHORTEST_PROMPT_TOKENS",
    "PositionBudgetError",
    "candidate_room",
    "check_positions",
    "positions_of",
    "query_kind",
]
