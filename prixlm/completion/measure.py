"""Precision and recall of completion on a language's held-out facts.

Run::

    python -m prixlm.completion.measure --model MODEL_DIR --dataset DATASET_DIR \\
        --target_language et [--hidden_split test] [--max_per_pair 3] [--num_beams 50] \\
        --output results/completion.json --plot docs/completion_pr.png

The target is taken to hold every split but `--hidden_split`; the other languages' facts
(all splits) and the links are the evidence. Every proposal is kept (threshold 0, at most
`--max_per_pair` per pair) and judged against the hidden facts:

- a proposal is *judged* when its (subject, relation) pair has hidden facts, *correct* when
  its object is one of them (proposals for pairs the target does not hold at all cannot be
  judged and are only counted);
- precision@t = correct / judged among proposals with score >= t (null without any);
  recall@t = correct / all hidden facts (also those no evidence language holds).

Three rankings are measured: the model's probability (`model`), the same restricted to
proposals that at least one evidence language's linked object agrees with
(`model_agreeing`), and `link_projection`, the model-free baseline that proposes the
evidence objects mapped through the links, scored by the share of evidence languages that
name them. All three are scored on the queries the model ranks (`propose.fitted_inputs`:
queries too long for the model or that it cannot encode are left out and counted in
`queries`); `link_projection_every_query` is the baseline over every query, and
`hidden_facts_with_ranked_queries` the hidden facts the ranked queries cover.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prixlm.cli import (
    UsageError,
    add_device_argument,
    add_dtype_argument,
    command_parser,
    user_errors,
)
from prixlm.completion.knowledge import CompletionQuery, Links, completion_queries
from prixlm.completion.loading import read_config
from prixlm.completion.results_docs import results_block
from prixlm.data.split_record import RECORD_KEY, add_allow_argument, check_training_facts
from prixlm.model_loading import MODEL_CODE_HELP
from prixlm.outputs.atomic import atomic_file, check_output_file, published_together

THRESHOLDS = (0.9, 0.8, 0.7, 0.5, 0.3, 0.2, 0.1, 0.05, 0.01, 0.0)


@dataclass(frozen=True)
class Scored:
    """A judged-or-not proposal: its pair, object IRI and score."""

    subject_id: str
    relation_id: str
    object_id: str
    score: float


def hidden_facts(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], set[str]]:
    """(subject IRI, relation IRI) -> object IRIs of the hidden triple rows."""
    facts: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        if row["kind"] == "triple":
            facts.setdefault((row["subject_id"], row["relation_id"]), set()).add(row["object_id"])
    return facts


def seen_in_training(
    truth: Mapping[tuple[str, str], set[str]], links: Links, dataset: str, language: str
) -> int:
    """How many hidden facts `language`'s train split holds (subject and object linked)."""
    train = {
        (row["subject_id"], row["relation_id"], row["object_id"])
        for row in read_config(dataset, language)["train"]
        if row["kind"] == "triple"
    }
    return sum(
        (links.to(subject, language), relation, links.to(obj, language)) in train
        for (subject, relation), objects in truth.items()
        for obj in objects
    )


def link_projection(queries: Sequence[CompletionQuery]) -> list[Scored]:
    """Each evidence object linked to the target, scored by the share of languages naming it."""
    scored = []
    for query in queries:
        languages = len(query.evidence_languages)
        votes = Counter()
        for _language, target in {(e.language, e.target_object_id) for e in query.evidence}:
            if target is not None:
                votes[target] += 1
        for target, count in sorted(votes.items()):
            scored.append(Scored(query.subject_id, query.relation_id, target, count / languages))
    return scored


def precision_recall(
    scored: Sequence[Scored], truth: Mapping[tuple[str, str], set[str]], threshold: float
) -> dict[str, float | int]:
    """Counts, precision and recall of the proposals with score >= `threshold`."""
    total = sum(map(len, truth.values()))
    kept = [s for s in scored if s.score >= threshold]
    judged = [s for s in kept if (s.subject_id, s.relation_id) in truth]
    correct = sum(s.object_id in truth[s.subject_id, s.relation_id] for s in judged)
    return {
        "threshold": threshold,
        "proposals": len(kept),
        "judged": len(judged),
        "correct": correct,
        "precision": correct / len(judged) if judged else None,
        "recall": correct / total if total else 0.0,
    }


def pr_curve(
    scored: Sequence[Scored], truth: Mapping[tuple[str, str], set[str]]
) -> list[tuple[float, float, float]]:
    """(threshold, precision, recall) at every distinct score of the judged proposals."""
    total = sum(map(len, truth.values()))
    judged = sorted(
        (s for s in scored if (s.subject_id, s.relation_id) in truth), key=lambda s: -s.score
    )
    points, correct = [], 0
    for index, item in enumerate(judged):
        correct += item.object_id in truth[item.subject_id, item.relation_id]
        if index + 1 == len(judged) or judged[index + 1].score < item.score:
            points.append((item.score, correct / (index + 1), correct / total))
    return points


def device_name(model: Any) -> str:
    """Where the model ran, as the docs block names it: `CPU`, or `GPU (its name)`."""
    import torch

    from modeling_prixlm.decoding_steps import model_device

    device = model_device(model)
    if device.type == "cpu":
        return "CPU"
    if device.type == "cuda":
        return f"GPU ({torch.cuda.get_device_name(device)})"
    return device.type.upper()


def decoding_settings(batch_size: int) -> dict[str, Any]:
    """What the scores depend on beyond the model and the data: the queries decoded per
    forward and the torch threads (another batch or thread count sums in another order)."""
    import torch

    return {
        "batch_size": batch_size,
        "torch_num_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "decoding": "deterministic for a given batch_size, torch_num_threads, device and "
        "torch version; another batch size or thread count can change a score in its last "
        "digits, so a proposal right at a threshold can go in or out",
    }


def plot_curves(curves: Mapping[str, Sequence[tuple[float, float, float]]], path: Path, title: str):
    """Precision (y) against recall (x), one line per method, written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 4.2), dpi=120)
    for name, points in curves.items():
        marker = {"marker": "o", "ms": 6} if len(points) < 3 else {"marker": ".", "ms": 3}
        axis.plot([p[2] for p in points], [p[1] for p in points], label=name, **marker)
    axis.set(xlabel="recall (held-out facts)", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    axis.set_title(title, fontsize=9)
    axis.grid(alpha=0.3)
    axis.legend(loc="lower left", fontsize=8)
    figure.tight_layout()
    with atomic_file(path, argument="--plot") as staging:
        figure.savefig(staging, format="png")
    plt.close(figure)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = command_parser("prixlm.completion.measure", __doc__.splitlines()[0])
    parser.add_argument(
        "--model", required=True, help=f"model folder (or Hub id); {MODEL_CODE_HELP}"
    )
    parser.add_argument("--dataset", required=True, help="dataset folder (or Hub id)")
    parser.add_argument("--target_language", required=True, help="the language to complete")
    parser.add_argument(
        "--hidden_split", default="test", help="the target's split held out and measured against"
    )
    parser.add_argument(
        "--max_per_pair", type=int, default=3, help="proposals kept per (subject, relation) pair"
    )
    parser.add_argument("--num_beams", type=int, default=50, help="beam size K of the search")
    parser.add_argument(
        "--batch_size",
        type=int,
        default=None,
        help="queries per forward (default: 8 on the CPU; on a GPU, up to 8,192 rows // --num_beams)",
    )
    add_allow_argument(parser)
    add_device_argument(parser)
    add_dtype_argument(parser)
    parser.add_argument("--output", required=True, help="JSON report")
    parser.add_argument("--plot", default=None, help="precision-recall PNG")
    parser.add_argument("--note", action="append", default=[], help="KEY=VALUE kept in the JSON")
    args = parser.parse_args(argv)
    for name in ("max_per_pair", "num_beams", "batch_size"):  # found before any decoding
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name} {getattr(args, name)}: at least 1")
    from prixlm.completion.loading import CompletionInputError
    from prixlm.completion.propose import check_max_per_pair

    try:  # Algorithm 1 ranks about K objects per pair
        check_max_per_pair(args.max_per_pair, args.num_beams)
    except CompletionInputError as error:
        parser.error(str(error))
    for note in args.note:
        if "=" not in note:
            parser.error(f"--note {note!r}: expected KEY=VALUE")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the command; exits with status 2 and a one-line error for bad input."""
    args = parse_args(argv)
    with user_errors():
        return _measure(args, argv)


def _measure(args: argparse.Namespace, argv: Sequence[str] | None) -> dict[str, Any]:
    import time

    from prixlm.completion.loading import CompletionInputError, load_completion_kb
    from prixlm.completion.propose import default_completion_batch, fitted_inputs, propose_fitted
    from prixlm.model_loading import check_model_source, load_command_model

    check_model_source(args.model)
    inputs = (("--model", args.model), ("--dataset", args.dataset))
    for argument, path in (("--output", args.output), ("--plot", args.plot)):
        if path:  # fail now, not after the decoding; never over what it reads
            check_output_file(path, argument, inputs)
    if args.plot and Path(args.plot).resolve() == Path(args.output).resolve():
        raise UsageError(f"--plot {args.plot}: the same file as --output; give it another name")
    started = time.time()
    probe = load_completion_kb(args.dataset, args.target_language)
    if args.hidden_split not in probe.target_rows:
        raise UsageError(
            f"--hidden_split {args.hidden_split!r}: not a split of the target config "
            f"(it has {', '.join(map(repr, probe.target_rows))})"
        )
    visible = [s for s in probe.target_rows if s != args.hidden_split]
    if not any(row["kind"] == "triple" for s in visible for row in probe.target_rows[s]):
        raise CompletionInputError(
            f"--hidden_split {args.hidden_split!r}: the other splits of config "
            f"{args.target_language!r} ({', '.join(visible) or 'none'}) hold no triples; the "
            "target must keep facts to name its relations, so nothing could be measured"
        )
    overlap = check_training_facts(
        args.model,
        args.dataset,
        args.hidden_split,
        [args.target_language],
        args.allow_training_facts,
        "--hidden_split",
    )
    kb = load_completion_kb(args.dataset, args.target_language, target_splits=visible)
    if kb.skipped_note():  # languages with links only
        print(kb.skipped_note(), file=sys.stderr)
    truth = hidden_facts(kb.target_rows[args.hidden_split])
    queries, _ = completion_queries(kb.target, kb.evidence, kb.links)
    model, tokenizer = load_command_model(args)
    batch_size = args.batch_size or default_completion_batch(model, args.num_beams)
    inputs = fitted_inputs(model, tokenizer, kb)
    proposals = propose_fitted(
        model,
        tokenizer,
        inputs,
        0.0,
        max_per_pair=args.max_per_pair,
        num_beams=args.num_beams,
        batch_size=batch_size,
    )
    stats = inputs.stats
    model_scored = [
        Scored(p.query.subject_id, p.query.relation_id, p.object_id, p.score) for p in proposals
    ]
    agreeing = [s for s, p in zip(model_scored, proposals, strict=True) if p.agreeing_languages]
    methods = {  # every method on the queries the model ranked: like for like
        "model": model_scored,
        "model_agreeing": agreeing,
        "link_projection": link_projection(inputs.queries),
    }
    query_pairs = {(q.subject_id, q.relation_id) for q in queries}
    ranked_pairs = {(q.subject_id, q.relation_id) for q in inputs.queries}
    every_query = link_projection(queries)
    report = {
        "command": "python -m prixlm.completion.measure "
        + shlex.join(sys.argv[1:] if argv is None else argv),
        "notes": dict(note.split("=", 1) for note in args.note),
        "target_language": args.target_language,
        "hidden_split": args.hidden_split,
        RECORD_KEY: overlap,
        "evidence_languages": [facts.language for facts in kb.evidence],
        "score": "exp(-loss): the model's probability of the object's tokens and [EOS] "
        "(full-vocabulary softmax, uncalibrated)",
        "num_beams": args.num_beams,
        "max_per_pair": args.max_per_pair,
        **decoding_settings(batch_size),
        "queries": stats.counts(),
        "hidden_facts": sum(map(len, truth.values())),
        "hidden_facts_with_evidence": sum(len(o) for k, o in truth.items() if k in query_pairs),
        "hidden_facts_with_ranked_queries": sum(
            len(o) for k, o in truth.items() if k in ranked_pairs
        ),
        "hidden_facts_in_evidence_train_split": {
            facts.language: seen_in_training(truth, kb.links, args.dataset, facts.language)
            for facts in kb.evidence
        },
        "seconds": round(time.time() - started, 1),
        "device": device_name(model),
        "thresholds": list(THRESHOLDS),
        "methods": {
            name: [precision_recall(scored, truth, t) for t in THRESHOLDS]
            for name, scored in methods.items()
        },
        "curves": {name: pr_curve(scored, truth) for name, scored in methods.items()},
        "link_projection_every_query": [
            precision_recall(every_query, truth, t) for t in THRESHOLDS
        ],
    }
    with published_together():  # the JSON and the plot of it: both new, or both kept
        with atomic_file(args.output, argument="--output") as staging:
            staging.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        if args.plot:
            title = (
                f"completion of {args.target_language} from "
                f"{', '.join(report['evidence_languages'])} ({report['hidden_facts']} held-out facts)"
            )
            plot_curves(report["curves"], Path(args.plot), title)
    note = stats.unknown_relations_note()
    if note:
        print(note, file=sys.stderr)
    print(results_block(report))
    return report


if __name__ == "__main__":
    main()
