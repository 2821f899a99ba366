"""Knowledge probing beyond the paper: exact multi-token scoring of every probe (Prix-LM).

Each probe ranks the relation's candidate answers (every object of the relation in that
language's probes) by the exact log-likelihood `log p(o | prompt)` of
`prixlm.link_prediction.candidate_scoring.score_candidates`; realistic ranks, the probe's
other true objects filtered; accuracy (= hits@1) and MRR, beside what a
random ranking would score (`chance_accuracy` = mean 1/n, `chance_mrr` = mean H_n/n over the
probes' n candidates: `probing`). Answers that tokenise alike are one answer, counted
(`merged_candidates`).

Answers the model cannot be asked for are handled as link-prediction evaluation handles
them (`prixlm.link_prediction.candidate_fit`): an answer holding a control token's text
(`[O]`, `</s>`) is left out with a warning (`candidates_unreadable`), and a probe whose
template prompt is long is ranked among the answers that fit the model's positions after it
(`probes_with_candidates_too_long`, warned). A probe whose gold answer is left out either
way is a miss (`num_missing`; chance 0: a random ranking of what the model can answer
misses it too). These three keys are present only when not 0.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from modeling_prixlm.candidate_checks import split_unreadable, unreadable_message
from modeling_prixlm.constrained_decoding import EntityTrie
from prixlm.link_prediction.candidate_fit import (
    CandidatesLeftOutWarning,
    UnreadableCandidatesWarning,
)
from prixlm.link_prediction.prompt_groups import prompt_groups
from prixlm.link_prediction.ranking import filtered_ranks_from_scores, mean_reciprocal_rank
from prixlm.link_prediction.scorer import canonical_labels, warn_unknown_merges
from prixlm.similarity.probing_data import Probe


def _rank_group(
    model: Any,
    tokenizer: Any,
    trie: EntityTrie,
    rows: Sequence[Mapping[str, Any]],
    filtered: Sequence[set[str]],
    batch_size: int,
) -> tuple[list[float], list[int]]:
    """The filtered ranks of `rows` (each with its gold `object` and probe `index`) among the
    answers of `trie`, and how many answers each was ranked among."""
    from prixlm.link_prediction.candidate_scoring import score_candidates

    labels = list(trie.labels)
    canonical = canonical_labels(trie)
    # labels that tokenise identically are one answer (as in link prediction): ranked once,
    # at their first label's column; golds and filters mapped to it
    kept = [c for c, label in enumerate(labels) if canonical[label] == label]
    first = {labels[c]: position for position, c in enumerate(kept)}
    column = {label: first[canonical[label]] for label in labels}
    scores = score_candidates(model, tokenizer, rows, trie, batch_size=batch_size)[:, kept]
    gold = torch.tensor([column[row["object"]] for row in rows])
    mask = torch.zeros(scores.shape, dtype=torch.bool)
    for position, row in enumerate(rows):
        mask[position, [column[o] for o in filtered[row["index"]] if o in column]] = True
        mask[position, gold[position]] = False  # a twin of the gold is the gold
    ranks = filtered_ranks_from_scores(scores, gold, mask).tolist()
    return ranks, (len(kept) - mask.sum(dim=1)).tolist()


def rank_relation(
    model: Any,
    tokenizer: Any,
    probes: Sequence[Probe],
    asked: Sequence[tuple[int, Mapping[str, Any]]],
    filtered: Sequence[set[str]],
    where: str,
    batch_size: int = 8,
) -> tuple[dict[str, Any], list[int]]:
    """The multi-token figures of one relation's `probes`, those in `asked` (`(index, prompt
    row)`) asked, each probe's other true objects `filtered` (per probe); `where` names the
    relation in warnings. Also how many answers each asked probe was ranked among (0: its
    gold left out), for the chance figures."""
    candidates = sorted(
        {p.obj_label for p in probes} | {o for p in probes for o in p.known_objects}
    )
    readable, unreadable = split_unreadable(tokenizer, candidates)
    if unreadable:  # the model reads a control token's text as the token: never answered
        message = unreadable_message(unreadable, len(candidates), where)
        warnings.warn(message, UnreadableCandidatesWarning, stacklevel=4)
    rows = [{**row, "object": probes[i].obj_label, "index": k} for k, (i, row) in enumerate(asked)]
    ranks, ranked = [float("inf")] * len(rows), [0] * len(rows)  # a gold left out: a miss
    num_candidates = merged = cut = 0
    if readable:
        trie = EntityTrie.from_labels(tokenizer, readable)
        canonical = canonical_labels(trie)
        warn_unknown_merges(tokenizer, trie, canonical)
        num_candidates = sum(canonical[label] == label for label in readable)
        merged = len(readable) - num_candidates
        left_out = set(unreadable)
        reachable = [row for row in rows if row["object"] not in left_out]
        with warnings.catch_warnings():  # said below, in probing's words
            warnings.simplefilter("ignore", CandidatesLeftOutWarning)
            groups, _, cut = prompt_groups(tokenizer, model.config, trie, reachable)
        per_row = [filtered[i] for i, _ in asked]
        for group in groups:
            group_ranks, counts = _rank_group(
                model, tokenizer, group.trie, group.rows, per_row, batch_size
            )
            for row, rank, count in zip(group.rows, group_ranks, counts, strict=True):
                ranks[row["index"]], ranked[row["index"]] = rank, count
    missing = ranked.count(0)
    if cut:
        warnings.warn(
            f"{where}: {cut} of {len(rows)} probes have template prompts after which some of "
            f"the answers do not fit the model's positions: each is ranked without those, and "
            f"the probes whose gold answer is one of them count as misses",
            CandidatesLeftOutWarning,
            stacklevel=4,
        )
    counts = {
        "num_missing": missing,
        "candidates_unreadable": len(unreadable),
        "probes_with_candidates_too_long": cut,
    }
    figures = {
        "accuracy": sum(rank <= 1 for rank in ranks) / len(ranks),
        "mrr": mean_reciprocal_rank(ranks),
        "num_probes": len(rows),
        "num_candidates": num_candidates,
        "merged_candidates": merged,
        **{key: value for key, value in counts.items() if value},
    }
    return figures, ranked


__all__ = ["rank_relation"]
