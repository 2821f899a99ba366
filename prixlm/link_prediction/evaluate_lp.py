"""Link-prediction evaluation: filtered hits@1/3/10 and MRR per language (paper §3.2, Table 1).

Run::

    python -m prixlm.link_prediction.evaluate_lp --model MODEL_DIR --dataset DATASET_DIR --config de,fr \\
        --split test [--mode beam|full] [--num_beams 50] [--batch_size B] [--max_rows R] \\
        [--limit N] [--output results.json]

(`--help` lists every option with its default.)

- Candidates: for each language, every subject and object label in that language in the
  config's rows over **all** its splits (train, validation, test): the entities the KB
  names in that language. Labels that tokenise identically count as one entity (as the
  official `lp.py`); golds and filter lists are mapped to that entity's first label.
- Filtered setting: the other true objects of a query (`all_objects`) stay in the trie while
  decoding and are removed from the ranking at the end (official release); the gold stays.
- `--mode beam` (the paper): Algorithm 1 with K=`num_beams`; a gold the search never
  completes is a miss, and MRR is reported as `mrr@K`. `--mode full`: every candidate is
  scored exactly (`PrixLMScorer`, `score_candidates`), a full ranking with a true `mrr`,
  through the ranking path every candidate scorer shares (`prixlm.link_prediction.scorer`).
- Ranks are PyKEEN's realistic ranks (ties: mean of optimistic and pessimistic rank).

`evaluate_link_prediction` is the same computation for callers that hold a model (training).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from tqdm.auto import tqdm

from modeling_prixlm.constrained_decoding import EntityTrie
from prixlm.atomic_output import atomic_file, check_parent
from prixlm.link_prediction.decoding import (
    DEFAULT_MAX_ROWS,
    default_batch_size,
    predict_objects,
)
from prixlm.link_prediction.decoding_steps import eval_mode
from prixlm.link_prediction.ranking import Rank, filtered_rank, mrr_key, ranking_metrics
from prixlm.link_prediction.scorer import PrixLMScorer, evaluate_scorer

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


#: `score_candidates`' defaults for `--mode full`: queries per forward, rows per forward.
FULL_BATCH_SIZE, FULL_MAX_ROWS = 4, 256


@torch.no_grad()
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
) -> dict[str, float | int]:
    """Filtered hits@1/3/10 and MRR of `rows` (dataset rows: `subject`, `relation`,
    `object`, `all_objects`, `kind`, languages) against `candidates` (labels, or a trie
    built with labels). The model runs in eval mode; its previous mode is restored.

    Args:
        batch_size, max_rows: queries and rows per forward. Beam mode: `predict_objects`'
            (default `max_rows` = `DEFAULT_MAX_ROWS`, batch `max_rows // num_beams`); full
            mode: `PrixLMScorer`'s (defaults `FULL_BATCH_SIZE`, `FULL_MAX_ROWS`).
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
    with eval_mode(model):
        if mode == "beam":
            metrics = _beam_metrics(
                model, tokenizer, rows, trie, num_beams, batch_size, max_rows, progress
            )
        else:
            scorer = PrixLMScorer(
                model, tokenizer, batch_size or FULL_BATCH_SIZE, max_rows or FULL_MAX_ROWS
            )
            representatives = [trie.labels[int(e)] for e in trie.representatives()]
            metrics = evaluate_scorer(scorer, rows, representatives, KS, progress=progress)
    metrics["num_candidates"] = int(trie.representatives().numel())
    return metrics


def _beam_metrics(
    model: Any,
    tokenizer: Any,
    rows: Sequence[Mapping[str, Any]],
    trie: EntityTrie,
    num_beams: int,
    batch_size: int | None,
    max_rows: int | None,
    progress: bool,
) -> dict[str, float | int]:
    """Algorithm 1 with K=`num_beams`: ranks among the completed candidates, `mrr@K`."""
    if batch_size is None:
        batch_size = default_batch_size(num_beams, max_rows or DEFAULT_MAX_ROWS)
    ranks: list[Rank] = []
    bar = tqdm(total=len(rows), desc="link prediction (beam)", unit="query", disable=not progress)
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        results = predict_objects(model, tokenizer, batch, trie, num_beams, batch_size)
        for row, result in zip(batch, results, strict=True):
            ranks.append(
                filtered_rank(result.labels, row["object"], result.scores, row["all_objects"])
            )
        bar.update(len(batch))
    bar.close()
    return ranking_metrics(ranks, KS, cutoff=num_beams)


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
    batch_size: int | None,
    limit: int | None,
    max_rows: int | None = None,
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
            max_rows=max_rows,
        )
    return results


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows the default of every optional argument (required ones have none)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return action.help if action.required else super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """The command's options; `--help` shows each one's default."""
    parser = argparse.ArgumentParser(
        prog="python -m prixlm.link_prediction.evaluate_lp",
        description=__doc__.splitlines()[0],
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--model", required=True, help="model folder (or Hub id)")
    parser.add_argument("--dataset", required=True, help="dataset folder (or Hub id)")
    parser.add_argument("--config", required=True, help="comma-separated configs, e.g. de,fr")
    parser.add_argument("--split", default="test", help="split to evaluate")
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="beam",
        help="beam: Algorithm 1 with K=--num_beams, reports MRR@K; "
        "full: every candidate scored exactly, reports MRR",
    )
    parser.add_argument(
        "--num_beams",
        type=positive_int,
        default=50,
        help="K, partial sequences kept per query (beam)",
    )
    parser.add_argument(
        "--batch_size",
        type=positive_int,
        default=None,
        help=f"queries per forward (None: --max_rows // --num_beams in beam mode, "
        f"{FULL_BATCH_SIZE} in full mode)",
    )
    parser.add_argument(
        "--max_rows",
        type=positive_int,
        default=None,
        help=f"rows (sequences) per forward, each returns a vocabulary of logits (None: "
        f"{DEFAULT_MAX_ROWS} in beam mode, {FULL_MAX_ROWS} in full mode); raise it on a GPU",
    )
    parser.add_argument(
        "--limit", type=positive_int, default=None, help="evaluate the first N rows of each config"
    )
    parser.add_argument(
        "--device",
        default="cuda" if torch.cuda.is_available() else "cpu",
        help="torch device of the model",
    )
    parser.add_argument(
        "--output", default=None, help="JSON file for the results (written atomically)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.mode == "full" and (args.max_rows or FULL_MAX_ROWS) < (args.batch_size or 1):
        parser.error(f"--batch_size {args.batch_size} exceeds --max_rows in full mode")
    if args.output:
        check_parent(args.output, "--output")  # fail now, not after the evaluation

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from prixlm.data.loading import load_kb

    tokenizer = AutoTokenizer.from_pretrained(args.model, trust_remote_code=True)
    model = AutoModelForCausalLM.from_pretrained(args.model, trust_remote_code=True)
    model = model.to(args.device).eval()
    results: dict[str, dict[str, float | int]] = {}
    for config in [c.strip() for c in args.config.split(",") if c.strip()]:
        splits = load_kb(args.dataset, config)
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
                args.max_rows,
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
        with atomic_file(args.output, argument="--output") as staging:
            staging.write_text(
                json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
    return report


if __name__ == "__main__":
    main()
