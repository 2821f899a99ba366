"""Target-language objects for completion queries: constrained link prediction plus evidence.

Each query's prompt is `<s>[S] subject </s></s>[P] relation </s></s>[O]` in the target
language (`prixlm.predict_objects`, Algorithm 1 over the target's
candidate entities). The **score** of an object is its probability under the model,
`exp(-loss)` with `loss` the summed `-log p` of its tokens and `[EOS]` over the full
vocabulary: uncalibrated, and the scores of one query sum to at most 1. An object is
proposed when its score is at least the threshold (at most `max_per_pair` per query).

Candidate labels that tokenise alike (labels the tokenizer cannot write, through `<unk>`)
are one entity to the model, as in link prediction (`canonical_labels`,
`warn_unknown_merges`: one warning with their count); one label can also name several
entities (homonyms: the target's magazine and currency both labelled `Euro`). Such an
object is written only where the evidence decides: the IRIs of the group (every label
that tokenises alike, every IRI of each label) go to `choose_iri`, and an evidence
language's linked object among them is written (with its own label); where none is, the
proposal is skipped and counted (`QueryStats.ambiguous_objects`), never guessed.
A target language without a language token in the model is refused before any decoding.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modeling_prixlm.beam_search import default_batch_size, default_max_rows, predict_objects
from modeling_prixlm.candidate_checks import readable_split, unreadable_message
from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.decoding_steps import encode_query, model_device, prepare_inputs
from modeling_prixlm.formatting import language_key
from modeling_prixlm.position_checks import positions_of
from prixlm.completion.knowledge import (
    CompletionQuery,
    QueryStats,
    completion_queries,
    is_valid_iri_text,
    label_iris,
    target_labels,
)
from prixlm.completion.loading import CompletionInputError, CompletionKB
from prixlm.library_bars import progress_bar
from prixlm.link_prediction.candidate_fit import UnreadableCandidatesWarning
from prixlm.link_prediction.evaluation import canonical_labels, warn_unknown_merges
from prixlm.link_prediction.precision import warns_half_precision

#: Queries per forward by default on the CPU (the setting of the committed completion figures).
CPU_BATCH_SIZE = 8


def default_completion_batch(model: Any, num_beams: int) -> int:
    """Queries per forward: `CPU_BATCH_SIZE` on the CPU; elsewhere `predict_objects`' default
    for the device (`default_max_rows // num_beams`: 163 queries at K=50 on a large GPU)."""
    if model_device(model).type == "cpu":
        return CPU_BATCH_SIZE
    return default_batch_size(num_beams, default_max_rows(model))


@dataclass(frozen=True)
class Proposal:
    """One proposed target fact `(query.subject_id, query.relation_id, object_id)`."""

    query: CompletionQuery
    object_id: str
    object: str
    score: float  # exp(-loss): the model's probability of the object given the prompt
    rank: int  # 1 = the model's best object for the query

    @property
    def agreeing_languages(self) -> list[str]:
        """Evidence languages whose object is linked to the proposed one."""
        return self.query.agreeing_languages(self.object_id)


def choose_iri(query: CompletionQuery, iris: Sequence[str], merged: bool = False) -> str | None:
    """The IRI of a proposed label: one an evidence language links to, else the first. For
    `merged` IRIs (several entities the model cannot tell apart: labels that tokenise alike,
    or one label naming several entities), None where no evidence language links to one of
    them: the label alone does not say which entity it is."""
    agreed = [iri for iri in iris if query.agreeing_languages(iri)]
    if merged and not agreed:
        return None
    return (agreed or list(iris))[0]


def check_max_per_pair(max_per_pair: int, num_beams: int) -> None:
    """CompletionInputError when `max_per_pair` > `num_beams`: Algorithm 1 keeps K partial
    objects per step, so it ranks about K objects per pair; past rank K come the objects that
    completed along the way, not the model's next best (their ranks would be approximate)."""
    if max_per_pair > num_beams:
        raise CompletionInputError(
            f"--max_per_pair {max_per_pair} > --num_beams {num_beams}: the beam search ranks "
            f"only {num_beams} objects per pair (ranks past K are approximate); give "
            f"--num_beams {max_per_pair} or more"
        )


def check_target_language(model: Any, language: str) -> None:
    """CompletionInputError unless the model has a language token for `language` (config
    `language_token_ids`): a model never trained on a language tokenises its labels through
    `<unk>`, and different entities become one candidate."""
    languages = sorted(getattr(model.config, "language_token_ids", None) or {})
    if language_key(language) not in {language_key(code) for code in languages}:
        raise CompletionInputError(
            f"--target_language {language!r}: the model has no language token [{language}] "
            f"(its languages: {', '.join(languages) or 'none'}); it cannot write that "
            "language's labels"
        )


def merged_groups(
    tokenizer: Any, trie: EntityTrie, candidates: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, str]]:
    """The trie's label of each group of candidates that tokenise alike -> {IRI: label} of
    every label in the group (warns once when groups merge labels through `<unk>`)."""
    canonical = canonical_labels(trie)
    warn_unknown_merges(tokenizer, trie, canonical)
    groups: dict[str, dict[str, str]] = {}
    for label, first in canonical.items():
        groups.setdefault(first, {}).update(dict.fromkeys(candidates[label], label))
    return groups


@dataclass
class ModelFit:
    """`fit_to_model`'s result, with what the candidates' tokenisation found on the way:
    the `unreadable` labels (left out) and the ids of each label kept (`ids`)."""

    queries: list[CompletionQuery]
    candidates: dict[str, Sequence[str]]
    unencodable: int
    unreadable: list[str]
    ids: dict[str, list[int]]

    def trie(self, tokenizer: Any) -> EntityTrie | None:
        """The trie `propose_objects` ranks in (`sorted(candidates)`), built from `ids` (no
        label tokenised again); None without queries or candidates (nothing to rank)."""
        if not self.queries or not self.candidates:
            return None
        labels = sorted(self.candidates)
        return EntityTrie.from_labels(tokenizer, labels, [self.ids[label] for label in labels])


def model_fit(
    model: Any,
    tokenizer: Any,
    queries: Sequence[CompletionQuery],
    candidates: Mapping[str, Sequence[str]],
) -> ModelFit:
    """`fit_to_model`, each candidate label tokenised once: its ids find the unreadable
    labels, measure the others and build the trie (`ModelFit.trie`)."""
    readable, unreadable, encoded = readable_split(tokenizer, list(candidates))
    if unreadable:  # the model reads a control token's text as the token: never answered
        message = unreadable_message(unreadable, len(candidates), "completion")
        warnings.warn(message, UnreadableCandidatesWarning, stacklevel=2)
        candidates = {label: candidates[label] for label in readable}
    ids = dict(zip(readable, encoded, strict=True))
    if not candidates or not queries:
        return ModelFit(list(queries), dict(candidates), 0, unreadable, ids)
    # measured as link prediction measures candidates (`candidate_fit`: composed, NFC)
    budget = positions_of(model.config)
    prompts: list[tuple[CompletionQuery, int]] = []
    unencodable = 0
    for query in queries:
        try:
            length = len(encode_query(tokenizer, (query.subject, query.relation)))
        except ValueError:  # a name that tokenises to nothing or holds a control token
            unencodable += 1
            continue
        if budget is None or 2 * length <= budget:
            prompts.append((query, length))
    longest = max((length for _, length in prompts), default=0)
    kept = {
        label: iris
        for label, iris in candidates.items()
        if ids[label] and (budget is None or len(ids[label]) + longest <= budget)
    }
    return ModelFit([query for query, _ in prompts], kept, unencodable, unreadable, ids)


def fit_to_model(
    model: Any,
    tokenizer: Any,
    queries: Sequence[CompletionQuery],
    candidates: Mapping[str, Sequence[str]],
) -> tuple[list[CompletionQuery], dict[str, Sequence[str]], int]:
    """The queries and candidates the model can score, and how many queries it cannot encode.

    The rest is left out, not fatal. Left out: candidates whose labels hold a control
    token's text (a warning names how many: the model reads it as that token) or tokenise
    to nothing;
    queries the model cannot encode (a name that tokenises to nothing or holds one of the
    fact control tokens: the third value counts them); queries whose prompt
    takes more than half of the model's positions; then candidates that do not fit after the
    longest remaining prompt (`[EOS]` is predicted, never fed). With the builder's length
    filter (facts under 30 tokens) and the default 62 positions, nothing is left out.
    Each label is tokenised once (`model_fit`, which also gives the unreadable labels and
    the ids).
    """
    fit = model_fit(model, tokenizer, queries, candidates)
    return fit.queries, fit.candidates, fit.unencodable


@warns_half_precision
def propose_objects(
    model: Any,
    tokenizer: Any,
    queries: Sequence[CompletionQuery],
    candidates: Mapping[str, Sequence[str]],
    threshold: float,
    max_per_pair: int = 1,
    num_beams: int = 50,
    batch_size: int | None = None,
    progress: bool = True,
    stats: QueryStats | None = None,
    trie: EntityTrie | None = None,
) -> list[Proposal]:
    """Objects with score >= `threshold`, best first per query, queries in their order.

    Args:
        candidates: the target's candidate labels -> their IRIs (see `knowledge.label_iris`).
        threshold: minimum probability in [0, 1]; 0 keeps the `max_per_pair` best.
        max_per_pair: at most this many objects per query, at most `num_beams`
            (`check_max_per_pair`).
        num_beams, batch_size: as `predict_objects` (`batch_size * num_beams` rows per forward;
            default: `default_completion_batch`).
        stats: where a proposal skipped as ambiguous is counted (`ambiguous_objects`).
        trie: the trie of `sorted(candidates)` when already built (`fitted_inputs`: from the
            ids that fitted them, no label tokenised again); built here otherwise.
    Raises:
        ValueError: before decoding, for bad arguments or a query the model cannot encode
            (`prepare_inputs` checks every prompt against the candidates and positions).
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold={threshold}: a probability in [0, 1]")
    if max_per_pair < 1:
        raise ValueError(f"max_per_pair={max_per_pair} must be >= 1")
    check_max_per_pair(max_per_pair, num_beams)
    if not queries:
        return []
    if batch_size is None:
        batch_size = default_completion_batch(model, num_beams)
    labels = sorted(candidates)
    if trie is None or trie.labels != labels:
        trie = EntityTrie.from_labels(tokenizer, labels)
    groups = merged_groups(tokenizer, trie, candidates)
    prepare_inputs(model, tokenizer, [(q.subject, q.relation) for q in queries], trie)
    proposals: list[Proposal] = []
    bar = progress_bar(total=len(queries), desc="completion", unit="pair", disable=not progress)
    for start in range(0, len(queries), batch_size):
        batch = queries[start : start + batch_size]
        ranked = predict_objects(
            model, tokenizer, [(q.subject, q.relation) for q in batch], trie, num_beams, batch_size
        )
        for query, result in zip(batch, ranked, strict=True):
            for rank, (label, loss) in enumerate(zip(result.labels, result.losses, strict=True)):
                score = math.exp(-loss)
                if rank >= max_per_pair or score < threshold:
                    break
                group = groups[label]  # IRI -> label: several entities, whatever the labels
                iri = choose_iri(query, sorted(group), merged=len(group) > 1)
                if iri is None:
                    if stats is not None:
                        stats.ambiguous_objects += 1
                    continue
                proposals.append(Proposal(query, iri, group[iri], score, rank + 1))
        bar.update(len(batch))
    bar.close()
    return proposals


@dataclass
class FittedInputs:
    """What the model ranks: the queries and candidates it can score, and the counts."""

    queries: list[CompletionQuery]  # the queries the model ranks (after the limit, fitted)
    candidates: dict[str, Sequence[str]]  # candidate label -> its IRIs
    stats: QueryStats
    trie: EntityTrie | None = None  # of `sorted(candidates)`, for `propose_objects`


def fitted_inputs(
    model: Any, tokenizer: Any, kb: CompletionKB, *, limit: int | None = None
) -> FittedInputs:
    """`kb`'s completion queries (the first `limit`) and candidates, fitted to the model.

    `stats` counts what is left out: queries beyond the limit, too long for the model or
    that it cannot encode, and candidates too long for it or holding a control token's text
    (`fit_to_model`).

    Raises:
        CompletionInputError: the model has no language token for the target language.
    """
    check_target_language(model, kb.target.language)
    queries, stats = completion_queries(kb.target, kb.evidence, kb.links)
    if limit is not None and len(queries) > limit:
        stats.queries, stats.queries_beyond_limit = limit, len(queries) - limit
        queries = queries[:limit]
    candidates = label_iris(target_labels(kb.target, kb.links))
    # each label tokenised once: the ids that count the unreadable ones build the trie
    fit = model_fit(model, tokenizer, queries, candidates)
    stats.queries_unencodable = fit.unencodable
    stats.queries_too_long = len(queries) - len(fit.queries) - fit.unencodable
    # labels left out as unreadable (warned by `model_fit`) are not too long
    unreadable = len(fit.unreadable)
    stats.candidates, stats.candidates_unreadable = len(candidates), unreadable
    stats.candidates_too_long = len(candidates) - len(fit.candidates) - unreadable
    return FittedInputs(fit.queries, fit.candidates, stats, fit.trie(tokenizer))


@warns_half_precision
def propose_fitted(
    model: Any,
    tokenizer: Any,
    inputs: FittedInputs,
    threshold: float,
    *,
    max_per_pair: int = 1,
    num_beams: int = 50,
    batch_size: int | None = None,
    progress: bool = True,
) -> list[Proposal]:
    """`propose_objects` on `inputs` (ambiguous and invalid IRIs counted in `inputs.stats`;
    one warning names the proposed IRIs that are not valid IRIs)."""
    stats = inputs.stats
    proposals = propose_objects(
        model,
        tokenizer,
        inputs.queries,
        inputs.candidates,
        threshold,
        max_per_pair=max_per_pair,
        num_beams=num_beams,
        batch_size=batch_size,
        progress=progress,
        stats=stats,
        trie=inputs.trie,
    )
    written = {i for p in proposals for i in (p.query.subject_id, p.query.relation_id, p.object_id)}
    invalid = sorted(iri for iri in written if not is_valid_iri_text(iri))
    stats.invalid_iris = len(invalid)
    if invalid:
        warnings.warn(
            f"{len(invalid)} proposed IRIs are not valid IRIs (written as \\uXXXX escapes: valid "
            f"N-Triples, but rdflib warns and strict stores refuse them), e.g. {invalid[0]!r}",
            stacklevel=2,
        )
    return proposals


@warns_half_precision
def run_completion(
    model: Any,
    tokenizer: Any,
    kb: CompletionKB,
    threshold: float,
    *,
    max_per_pair: int = 1,
    num_beams: int = 50,
    batch_size: int | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> tuple[list[Proposal], QueryStats]:
    """The proposals for `kb`'s target (the first `limit` queries) and the query counts.

    Raises:
        CompletionInputError: the model has no language token for the target language.
    """
    inputs = fitted_inputs(model, tokenizer, kb, limit=limit)
    proposals = propose_fitted(
        model,
        tokenizer,
        inputs,
        threshold,
        max_per_pair=max_per_pair,
        num_beams=num_beams,
        batch_size=batch_size,
        progress=progress,
    )
    return proposals, inputs.stats


__all__ = [
    "CPU_BATCH_SIZE",
    "FittedInputs",
    "ModelFit",
    "Proposal",
    "check_max_per_pair",
    "choose_iri",
    "default_completion_batch",
    "fitted_inputs",
    "model_fit",
    "propose_fitted",
    "propose_objects",
    "run_completion",
]
