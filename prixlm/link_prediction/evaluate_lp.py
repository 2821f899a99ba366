"""Link-prediction evaluation: filtered hits@1/3/10 and MRR per language (paper §3.2, Table 1).

Run::

    python -m prixlm.link_prediction.evaluate_lp --model MODEL_DIR --dataset DATASET_DIR --config de,fr \\
        --split test [--mode beam|full] [--num_beams 50] [--batch_size 8] [--limit N] \\
        [--output results.json]

- Candidates: for each language, every subject and object label in that language in the
  config's rows over **all** its splits (train, validation, test): the entities the KB
  names in that language. Labels that tokenise identically count as one entity (as the
  official `lp.py`); golds and filter lists are mapped to that entity's first label.
- Filtered setting: the other true objects of a query (`all_objects`) stay in the trie while
  decoding and are removed from the ranking at the end (official release); the gold stays.
- `--mode beam` (the paper): Algorithm 1 with K=`num_beams`; a gold the search never
  completes is a miss, and MRR is reported as `mrr@K`. `--mode full`: every candidate is
  scored exactly (`score_candidates`), a full ranking with a true `mrr`.
- Ranks are PyKEEN's realistic ranks (ties: mean of optimistic and pessimistic rank).

`evaluate_link_prediction` is the same computation for callers that hold a model (training).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from modeling_prixlm.constrained_decoding import EntityTrie
from prixlm.link_prediction.decoding import predict_objects, score_candidates
from prixlm.link_prediction.ranking import (
    Rank,
    filtered_rank,
    filtered_ranks_from_scores,
    mrr_key,
    ranking_metrics,
)

MODES = ("beam", "full")
KS = (1, 3, 10)


def candidate_labels(splits: Mapping[str, Any], language: str) -> list[str]:
    """Sorted labels of every subject and object in `language`, over all `splits`."""
    labels: set[str] = set()
    for split in splits.values():
        for column, language_column in (
            ("subject", "subject_language"),
            ("object", "object_language"),
        ):
            for label, label_language in zip(split[column], split[language_column], strict=True):
                if label_language == language:
                    labels.add(label)
    return sorted(labels)


def _canonical_labels(trie: EntityTrie) -> dict[str, str]:
    """Every candidate label -> the first label with the same tokenisation."""
    first = trie.entity_of(trie.entity_nodes).tolist()
    return {label: trie.labels[index] for label, index in zip(trie.labels, first, strict=True)}


@torch.no_grad()
def evaluate_link_prediction(
    model: Any,
    tokenizer: Any,
    rows: Sequence[Mapping[str, Any]],
    candidates: Sequence[str] | EntityTrie,
    mode: str = "beam",
    num_beams: int = 50,
    batch_size: int = 8,
    progress: bool = False,
) -> dict[str, float | int]:
    """Filtered hits@1/3/10 and MRR of `rows` (dataset rows: `subject`, `relation`,
    `object`, `all_objects`, `kind`, languages) against `candidates` (labels, or a trie
    built with labels).

    Returns:
        `{"hits@1", "hits@3", "hits@10", "mrr@K" (beam) or "mrr" (full), "num_queries",
        "num_missing", "num_candidates"}`; `num_candidates` counts distinct tokenisations.
    Raises:
        ValueError: unknown mode, no rows, or a gold object that is not a candidate.
    """
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}: expected one of {MODES}")
    rows = list(rows)
    if not rows:
        raise ValueError("no rows to evaluate")
    trie = (
        candidates
        if isinstance(candidates, EntityTrie)
        else EntityTrie.from_labels(tokenizer, candidates)
    )
    if trie.labels is None:
        raise ValueError("the candidate trie has no labels: build it with EntityTrie.from_labels")
    canonical = _canonical_labels(trie)
    for index, row in enumerate(rows):
        if row["object"] not in canonical:
            raise ValueError(f"row {index}: gold object {row['object']!r} is not a candidate")
    golds = [canonical[row["object"]] for row in rows]
    filters = [
        {canonical[o] for o in row.get("all_objects") or () if o in canonical} for row in rows
    ]
    ranks: list[Rank] = []
    bar = tqdm(
        total=len(rows), desc=f"link prediction ({mode})", unit="query", disable=not progress
    )
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        if mode == "beam":
            results = predict_objects(model, tokenizer, batch, trie, num_beams, batch_size)
            for offset, result in enumerate(results):
                i = start + offset
                ranks.append(filtered_rank(result.labels, golds[i], result.scores, filters[i]))
        else:
            ranks.extend(
                _full_ranks(
                    model, tokenizer, batch, trie, golds[start:], filters[start:], batch_size
                )
            )
        bar.update(len(batch))
    bar.close()
    metrics = ranking_metrics(ranks, KS, cutoff=num_beams if mode == "beam" else None)
    metrics["num_candidates"] = int(trie.representatives().numel())
    return metrics


def _full_ranks(
    model: Any,
    tokenizer: Any,
    batch: Sequence[Mapping[str, Any]],
    trie: EntityTrie,
    golds: Sequence[str],
    filters: Sequence[set[str]],
    batch_size: int,
) -> list[Rank]:
    """Realistic filtered ranks over one column per distinct tokenisation."""
    columns = trie.representatives()
    scores = score_candidates(model, tokenizer, batch, trie, batch_size=batch_size)[:, columns]
    position = {trie.labels[int(entity)]: j for j, entity in enumerate(columns)}
    gold = torch.tensor([position[golds[i]] for i in range(len(batch))])
    mask = torch.zeros(scores.shape, dtype=torch.bool)
    for i in range(len(batch)):
        mask[i, [position[label] for label in filters[i]]] = True
    return filtered_ranks_from_scores(scores, gold, mask).tolist()


def markdown_table(
    results: Mapping[str, Mapping[str, float | int]], mode: str, num_beams: int
) -> str:
    """One row per language: queries, candidates, hits@1/3/10 and MRR (in %)."""
    mrr = mrr_key(num_beams if mode == "beam" else None)
    lines = [
        f"| language | queries | candidates | hits@1 | hits@3 | hits@10 | {mrr.upper()} |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for language, m in results.items():
        values = " | ".join(f"{100 * m[key]:.1f}" for key in ("hits@1", "hits@3", "hits@10", mrr))
        lines.append(f"| {language} | {m['num_queries']} | {m['num_candidates']} | {values} |")
    return "\n".join(lines)


def evaluate_config(
    model: Any,
    tokenizer: Any,
    splits: Mapping[str, Any],
    config: str,
    split: str,
    mode: str,
    num_beams: int,
    batch_size: int,
    limit: int | None,
) -> dict[str, dict[str, float | int]]:
    """Metrics per object language of `splits[split]` (one entry for a language config)."""
    if split not in splits:
        raise ValueError(f"config {config!r} has no split {split!r} (has {sorted(splits)})")
    rows = splits[split].to_list()
    rows = rows[:limit] if limit is not None else rows
    results = {}
    for language in sorted({row["object_language"] for row in rows}):
        selected = [row for row in rows if row["object_language"] == language]
        name = config if config == language else f"{config}/{language}"
        results[name] = evaluate_link_prediction(
            model,
            tokenizer,
            selected,
            candidate_labels(splits, language),
            mode,
            num_beams,
            batch_size,
            progress=True,
        )
    return results


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model folder (or Hub id)")
    parser.add_argument("--dataset", required=True, help="dataset folder (or Hub id)")
    parser.add_argument("--config", required=True, help="comma-separated configs, e.g. de,fr")
    parser.add_argument("--split", default="test")
    parser.add_argument("--mode", choices=MODES, default="beam")
    parser.add_argument("--num_beams", type=int, default=50)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None, help="first N rows of each config")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--output", default=None, help="JSON file for the results")
    args = parser.parse_args(argv)

    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.model, trust_remote_code=True)
    model = AutoModelForCausalLM.from_pretrained(args.model, trust_remote_code=True)
    model = model.to(args.device).eval()
    results: dict[str, dict[str, float | int]] = {}
    for config in [c.strip() for c in args.config.split(",") if c.strip()]:
        splits = load_dataset(args.dataset, config)
        results.update(
            evaluate_config(
                model,
                tokenizer,
                splits,
                config,
                args.split,
                args.mode,
                args.num_beams,
                args.batch_size,
                args.limit,
            )
        )
    report = {
        "model": args.model,
        "dataset": args.dataset,
        "split": args.split,
        "mode": args.mode,
        "num_beams": args.num_beams if args.mode == "beam" else None,
        "results": results,
    }
    print(markdown_table(results, args.mode, args.num_beams))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(
            json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return report


if __name__ == "__main__":
    main()
