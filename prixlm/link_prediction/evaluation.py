"""Link-prediction evaluation: filtered hits@1/3/10 and MRR per language (paper §3.2, Table 1).

- Candidates: every label of the language in the dataset's triples (**all** splits) or link
  ends (`candidate_files.dataset_candidates`), for triples and link rows (`links/<lang>`)
  alike: the same set in a language's config, in `links`, in `all`, in training's
  link-prediction curve and in the release's `candidates.json`.
  Labels that tokenise identically count as one entity (as the official `lp.py`); golds and
  filter lists are mapped to that entity's first label (in full mode by the ranking path
  itself, `scorer.protocol_ranks`, the path the experiments call too), and each result
  counts the labels merged (`merged_candidates`).
- Filtered setting: the other true objects of a query (`all_objects`) stay in the trie while
  decoding and are removed from the ranking at the end (official release); the gold stays.
- `mode="beam"` (the paper): Algorithm 1 with K=`num_beams`; a gold the search never
  completes is a miss, MRR is reported as `mrr_at_K`, and hits@k only for k <= K
  (`lp_table.reported_ks`: hits@10 of a beam of 3 is not hits@10). `mode="full"`: every
  candidate is scored exactly (`PrixLMScorer`, `score_candidates`), a full ranking with a
  true `mrr`, through the ranking path every candidate scorer shares
  (`prixlm.link_prediction.scorer`).
- Ranks are PyKEEN's realistic ranks (ties: mean of optimistic and pessimistic rank).
- Full mode can also report the published DBP-5L papers' protocols (`protocols=("ours",
  "kens")`: the query's language's train split filtered, ties by entity order, KEnS' top-10
  hits rule; see `prixlm.link_prediction.protocols`), every protocol from the same scores.

The command line is `python -m prixlm.link_prediction.evaluate_lp`. Half-precision weights
rank otherwise than float32 ones: each public function warns, once per call (`precision`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from modeling_prixlm.beam_search import default_batch_size, default_max_rows, predict_objects
from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.decoding_steps import eval_mode
from prixlm.library_bars import progress_bar
from prixlm.link_prediction.candidate_files import (
    KINDS,
    DatasetCandidates,
    candidate_labels,
    candidates_record,
    check_languages,
    kind_labels,
    labels_by_kind,
    row_kind,
)
from prixlm.link_prediction.candidate_fit import fit_trie, readable_labels_trie
from prixlm.link_prediction.candidate_scoring import CPU_BATCH_SIZE, CPU_MAX_ROWS
from prixlm.link_prediction.lp_rows import missing_columns, query_groups
from prixlm.link_prediction.lp_table import KS, markdown_table, reported_ks
from prixlm.link_prediction.precision import warns_half_precision
from prixlm.link_prediction.prompt_groups import combined, prompt_groups
from prixlm.link_prediction.protocols import get_protocol, parse_protocols
from prixlm.link_prediction.ranking import Rank, filtered_rank, mrr_key, ranking_metrics
from prixlm.link_prediction.scorer import (
    PrixLMScorer,
    canonical_labels,
    evaluate_scorer_protocols,
    warn_unknown_merges,
)

MODES = ("beam", "full")


#: `score_candidates`' defaults for `--mode full`: queries per forward, rows per forward.
FULL_BATCH_SIZE, FULL_MAX_ROWS = CPU_BATCH_SIZE, CPU_MAX_ROWS


@warns_half_precision
def evaluate_link_prediction(
    model: Any,
    tokenizer: Any,
    rows: Sequence[Mapping[str, Any]],
    candidates: Sequence[str] | EntityTrie,
    mode: str = "beam",
    num_beams: int = 50,
    batch_size: int | None = None,
    progress: bool = False,
    max_rows: int | None = None,
    protocol: str = "ours",
    train_rows: Sequence[Mapping[str, Any]] | None = None,
    unreadable: Sequence[str] = (),
) -> dict[str, float | int]:
    """Hits@1/3/10 (beam mode: hits@k for k <= K only) and MRR of `rows` under one ranking
    protocol (default `ours`: filtered over every split, realistic ties); see
    `evaluate_protocols`."""
    return evaluate_protocols(model, tokenizer, rows, candidates, mode, num_beams, batch_size,
                              progress, max_rows, (protocol,), train_rows,
                              unreadable)[protocol]  # fmt: skip


@warns_half_precision
@torch.no_grad()
def evaluate_protocols(
    model: Any,
    tokenizer: Any,
    rows: Sequence[Mapping[str, Any]],
    candidates: Sequence[str] | EntityTrie,
    mode: str = "beam",
    num_beams: int = 50,
    batch_size: int | None = None,
    progress: bool = False,
    max_rows: int | None = None,
    protocols: Sequence[str] = ("ours",),
    train_rows: Sequence[Mapping[str, Any]] | None = None,
    unreadable: Sequence[str] = (),
) -> dict[str, dict[str, float | int]]:
    """Hits@1/3/10 and MRR of `rows` (dataset rows: `subject`, `relation`, `object`,
    `all_objects`, `kind`, languages) against `candidates` (labels, or a trie built with
    labels) under each ranking protocol (`prixlm.link_prediction.protocols`), scoring once.
    The model runs in eval mode; its previous mode is restored.

    Args:
        batch_size, max_rows: queries and rows per forward. Beam mode: `predict_objects`'
            (default `max_rows`: `default_max_rows`, 1,024 on the CPU, up to 8,192 on a
            GPU; batch `max_rows // num_beams`); full
            mode: `PrixLMScorer`'s (defaults for the model's device: `FULL_BATCH_SIZE`,
            `FULL_MAX_ROWS` on the CPU, larger on a GPU).
        protocols: names in `PROTOCOLS`; beam mode knows `ours` only.
        train_rows: the train split's rows (needed by `kens`, which filters train objects).
        unreadable: with a trie as `candidates` (`readable_labels_trie`, built once for many
            evaluations), the labels it left out as unreadable: counted as with the labels.
    Returns:
        `{protocol: {"hits_at_1", "hits_at_3", "hits_at_10", "mrr_at_K" (beam) or "mrr"
        (full), "num_queries", "num_missing", "num_candidates", "merged_candidates"}}`; in
        beam mode no `hits_at_k` for k > K (a gold outside the K beams is a miss: not hits@k);
        `num_candidates` counts distinct tokenisations, `merged_candidates` the labels
        that tokenise like an earlier one (ranked as that one). Labels longer than the
        model's positions hold after the shortest prompt are left out (`candidate_fit`: a
        warning, and `candidates_too_long` counts them, present only then), as are labels
        holding a control token's text (`candidates_unreadable`); a query after whose long
        prompt some do not fit is ranked without them (`queries_with_candidates_too_long`).
        A query whose gold is left out is a miss (in `num_missing`, also in full mode);
        those whose gold is too long (after every prompt, or after their own) are counted
        apart as `queries_gold_too_long` (present only then), so that a beam-mode
        `num_missing` tells the golds no decoding could produce from those the beams lost.
    Raises:
        ValueError: unknown mode or protocol, a protocol other than `ours` in beam mode, no
            rows, a gold object that is not a candidate, or a forward over `max_rows`
            (`batch_size` above it in full mode, `batch_size x num_beams` in beam mode).
    """
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}: expected one of {MODES}")
    protocols = parse_protocols(protocols)
    if mode == "beam" and protocols != ("ours",):
        raise ValueError(
            f"protocols {list(protocols)}: beam search ranks with 'ours' only, use mode='full'"
        )
    rows = list(rows)
    if not rows:
        raise ValueError("no rows to evaluate")
    if isinstance(candidates, EntityTrie):
        trie, unreadable = candidates, list(unreadable)
    else:  # labels holding a control token's text: left out, warned
        trie, unreadable = readable_labels_trie(tokenizer, candidates, "link prediction")
    if trie.labels is None:
        raise ValueError("the candidate trie has no labels: build it with EntityTrie.from_labels")
    known = set(trie.labels).union(unreadable)  # before rows are fitted or grouped: their numbers
    for index, row in enumerate(rows):
        if row["object"] not in known:
            raise ValueError(f"row {index}: gold object {row['object']!r} is not a candidate")
    config = getattr(model, "config", None)
    fitted = fit_trie(tokenizer, config, trie, rows, unreadable)
    trie, rows = fitted.trie, fitted.rows  # without the labels the positions cannot hold
    ks = reported_ks(mode, num_beams)  # beam: hits@k for k <= K only
    mrr = mrr_key(num_beams if mode == "beam" else None)
    groups, missed, cut = prompt_groups(tokenizer, config, trie, rows)
    with eval_mode(model):
        if not rows:  # every query's gold was left out: all misses
            results = {name: fitted.no_ranks(mrr, ks) for name in protocols}
        elif cut:  # a long prompt: its query ranked among the candidates that fit after it
            parts = [
                evaluate_protocols(model, tokenizer, group.rows, group.trie, mode, num_beams,
                                   batch_size, progress, max_rows, protocols, train_rows)
                for group in groups
            ]  # fmt: skip
            base = fitted.no_ranks(mrr, ks)
            results = {p: combined([r[p] for r in parts], missed, cut, base) for p in protocols}
        elif mode == "full":
            # the scorer path merges identical tokenisations (`protocol_ranks`): golds,
            # filters and train objects by each entity's first label in candidate order
            scorer = PrixLMScorer(model, tokenizer, batch_size, max_rows, trie=trie)
            results = evaluate_scorer_protocols(
                scorer, rows, list(dict.fromkeys(trie.labels)), protocols, KS,
                progress=progress, train_rows=train_rows,
            )  # fmt: skip
        else:
            canonical = canonical_labels(trie)
            warn_unknown_merges(tokenizer, trie, canonical)
            for index, row in enumerate(rows):
                if row["object"] not in canonical:
                    raise ValueError(
                        f"row {index}: gold object {row['object']!r} is not a candidate"
                    )
            # identical tokenisations are one entity: golds and filters by its first label
            rows = [
                {
                    **row,
                    "object": canonical[row["object"]],
                    "all_objects": sorted(
                        {canonical[o] for o in row.get("all_objects") or () if o in canonical}
                    ),
                }
                for row in rows
            ]
            beam = _beam_metrics(
                model, tokenizer, rows, trie, num_beams, batch_size, max_rows, progress, ks
            )
            beam["merged_candidates"] = sum(label != first for label, first in canonical.items())
            results = {"ours": beam}
    for metrics in results.values():
        metrics["num_candidates"] = int(trie.representatives().numel())
        fitted.counted(metrics)
    return results


def _beam_metrics(
    model: Any,
    tokenizer: Any,
    rows: Sequence[Mapping[str, Any]],
    trie: EntityTrie,
    num_beams: int,
    batch_size: int | None,
    max_rows: int | None,
    progress: bool,
    ks: tuple[int, ...],
) -> dict[str, float | int]:
    """Algorithm 1 with K=`num_beams`: ranks among the completed candidates, hits@k for
    each k of `ks` (those up to K) and `mrr_at_K`; ValueError where both `batch_size` and
    `max_rows` are given and a forward of `batch_size * num_beams` rows exceeds `max_rows`."""
    if batch_size is None:
        batch_size = default_batch_size(num_beams, max_rows or default_max_rows(model))
    elif max_rows is not None and batch_size * num_beams > max_rows:
        raise ValueError(
            f"need batch_size ({batch_size}) x num_beams ({num_beams}) <= max_rows ({max_rows})"
        )
    ranks: list[Rank] = []
    bar = progress_bar(
        total=len(rows), desc="link prediction (beam)", unit="query", disable=not progress
    )
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        results = predict_objects(model, tokenizer, batch, trie, num_beams, batch_size)
        for row, result in zip(batch, results, strict=True):
            ranks.append(
                filtered_rank(result.labels, row["object"], result.scores, row["all_objects"])
            )
        bar.update(len(batch))
    bar.close()
    return ranking_metrics(ranks, ks, cutoff=num_beams)


@dataclass(frozen=True)
class EvaluationSettings:
    """How a config is evaluated: which split, beam or full ranking, batch sizes, protocols.

    `batch_size`, `max_rows`: queries and rows per forward (None: the mode's default);
    `limit`: the first N rows of the split only; `protocols`: ranking protocols
    (`prixlm.link_prediction.protocols.PROTOCOLS`; beam mode: `ours` only), all computed
    from one scoring pass, the first one reported as `results`.
    """

    split: str = "test"
    mode: str = "beam"
    num_beams: int = 50
    batch_size: int | None = None
    max_rows: int | None = None
    limit: int | None = None
    progress: bool = True
    protocols: tuple[str, ...] = ("ours",)


@warns_half_precision
def evaluate_config(
    model: Any,
    tokenizer: Any,
    splits: Mapping[str, Any],
    config: str,
    settings: EvaluationSettings,
    candidates: Mapping[str, Sequence[str]] | None = None,
    own: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, dict[str, dict[str, float | int]]]:
    """Metrics per protocol and query group of `splits[settings.split]`: `{protocol: {name:
    metrics}}` (names: `lp_rows.query_groups`); triples and link rows of a language ranked among
    its `own` candidates.

    Args:
        candidates: `{language: labels}` ranked instead, for triples and links alike (e.g.
            every entity of a KG's entity list, as the DBP-5L papers rank), in entity
            order for the `index` ties of `kens` and `raw`; it must list every object language.
        own: each object language's `dataset_candidates` (as `evaluate_dataset` passes
            them); None: `candidate_labels(splits, language)`, the labels in `splits`.
    Raises:
        ValueError: the config has no such split (the message lists the splits it has), the
            split lacks a column ranking reads (`lp_rows.required_columns`: `all_objects`
            under a protocol that filters by it), or `candidates` lacks an object language
            of its rows (`UsageError`).
    """
    if settings.split not in splits:
        raise ValueError(
            f"config {config!r} has no split {settings.split!r} (has {sorted(splits)})"
        )
    names = getattr(splits[settings.split], "column_names", None)  # a Dataset's columns
    if names is not None and (missing := missing_columns(names, settings.protocols)):
        raise ValueError(
            f"config {config!r}, split {settings.split!r}: no column {', '.join(missing)} "
            f"(protocols {', '.join(settings.protocols)} rank with it)"
        )
    rows = splits[settings.split].to_list()
    rows = rows[: settings.limit] if settings.limit is not None else rows
    train_rows = None  # read by a train filter only (`all`'s: `train_objects` keys by language)
    if any(get_protocol(p).filter == "train" for p in settings.protocols):
        if "train" not in splits:
            raise ValueError(
                f"config {config!r} has no train split for protocols {settings.protocols}"
            )
        train_rows = splits["train"].to_list()
    results: dict[str, dict[str, dict[str, float | int]]] = {p: {} for p in settings.protocols}
    groups = query_groups(rows, config)
    # the labels of every language in one read of the splits' columns
    sets = labels_by_kind(splits) if candidates is None and own is None and groups else {}
    for name, language, _, selected in groups:
        if candidates is not None:
            check_languages(candidates, [language], "candidates")
        given = candidates if candidates is not None else own
        labels = given[language] if given is not None else kind_labels(sets, language, KINDS)
        by_protocol = evaluate_protocols(
            model,
            tokenizer,
            selected,
            labels,
            settings.mode,
            settings.num_beams,
            settings.batch_size,
            progress=settings.progress,
            max_rows=settings.max_rows,
            protocols=settings.protocols,
            train_rows=train_rows,
        )
        for protocol, metrics in by_protocol.items():
            results[protocol][name] = metrics
    return results


@warns_half_precision
def evaluate_dataset(
    model: Any,
    tokenizer: Any,
    model_name: str,
    dataset: str,
    configs: Sequence[str],
    settings: EvaluationSettings,
    candidates: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The evaluation report of `configs` of `dataset` (a folder or Hub id), as
    `evaluate_lp --output` writes it and the model card reads it: `{"model", "dataset",
    "split", "mode", "num_beams" (None in full mode), "protocol" (the first of
    `settings.protocols`), "results": {config: metrics} (that protocol's),
    "results_by_protocol": {protocol: {config: metrics}}}`. `candidates`: see
    `evaluate_config`; without, each object language's `dataset_candidates`."""
    from prixlm.data.loading import load_kb

    by_protocol: dict[str, dict[str, dict[str, float | int]]] = {p: {} for p in settings.protocols}
    own = DatasetCandidates(dataset) if candidates is None else None  # each language once
    for config in configs:
        splits = load_kb(dataset, config)
        for protocol, results in evaluate_config(
            model, tokenizer, splits, config, settings, candidates, own
        ).items():
            by_protocol[protocol].update(results)
    return {
        "model": model_name,
        "dataset": dataset,
        "split": settings.split,
        "mode": settings.mode,
        "num_beams": settings.num_beams if settings.mode == "beam" else None,
        "protocol": settings.protocols[0],
        "limit": settings.limit,  # the first N queries of each config (None: every query)
        **candidates_record(candidates),  # None: the dataset's labels
        "results": by_protocol[settings.protocols[0]],
        "results_by_protocol": by_protocol,
    }


__all__ = [
    "FULL_BATCH_SIZE",
    "FULL_MAX_ROWS",
    "KINDS",
    "KS",
    "MODES",
    "EvaluationSettings",
    "candidate_labels",
    "canonical_labels",
    "evaluate_config",
    "evaluate_dataset",
    "evaluate_link_prediction",
    "evaluate_protocols",
    "markdown_table",
    "row_kind",
    "warn_unknown_merges",
]
