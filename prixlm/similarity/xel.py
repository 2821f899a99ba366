"""Cross-lingual entity linking (XEL, paper §3.3): mentions -> entities by embedding similarity.

Every mention and every name of the target KB is embedded with the same `TextEmbedder`; a
mention's score for an entity is the best similarity over that entity's names (an entity of
XL-BEL's UMLS dictionary has many names); entities are ranked by that score. Retrieval is
cosine nearest neighbour by default (§3.3 names no retrieval rule; SapBERT's XL-BEL script,
`evaluation/utils.py`, ranks dictionary names by the inner product of the embeddings, the
cosine for unit-length ones; CSLS appears in the paper for BLI only); `retrieval="csls"` uses
`prixlm.similarity.csls.CSLS` (k = 10) over the names instead. A query is right when the top
entity is one of its gold ids (XL-BEL composites: any of them). Ranks are realistic
(`prixlm.link_prediction.ranking`: ties halved), with a query's other gold entities filtered;
a query whose gold is not in the target set is a miss (0 for every metric).

Metrics per language: `accuracy` (= hits@1, the paper's Tables 2 and 3), hits@10 and MRR.

Benchmarks (readers in `xel_readers.py`): XL-BEL (`--benchmark xlbel`: one query file per
language + the UMLS dictionary), LR-XEL (`--benchmark lrxel`: query files + the English KB) and
the embedded default (`--benchmark cldr`, `cldr_xel_queries`): the CLDR KB's links, an
entity's label in language L -> its English entity among all English labels::

    python -m prixlm.similarity.xel --model outputs/demo/run/model --benchmark cldr \
        --languages de,ja,te,lo,mr --training_dataset outputs/demo/dataset --output xel.json

Memory: the target names' embeddings `(names, hidden)` are held (a full UMLS dictionary of
7.4M names at hidden 768: ~23 GB), and similarities in query blocks of at most
`max_block_floats` (default 2^26: 256 MiB per block and per matrix).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from prixlm.cli import UsageError, command_parser, first_line, print_json, user_errors
from prixlm.link_prediction.ranking import (
    filtered_ranks_from_scores,
    hits_at_k,
    mean_reciprocal_rank,
)
from prixlm.model_loading import MODEL_CODE_HELP
from prixlm.similarity.csls import first_identical_rows
from prixlm.similarity.embedder import DEFAULT_POOLING, POOLING_MODES, TextEmbedder
from prixlm.similarity.xel_readers import (
    XelFormatError,
    XelQuery,
    XelTarget,
    read_lrxel_kb,
    read_lrxel_queries,
    read_xlbel_dictionary,
    read_xlbel_queries,
)

RETRIEVAL_MODES = ("cosine", "csls")
XEL_KS = (1, 10)
#: Similarities held at once by default (2^26 float32 = 256 MiB).
DEFAULT_BLOCK_FLOATS = 1 << 26


def entity_ranks(
    query_vectors: torch.Tensor,
    target_vectors: torch.Tensor,
    target_entities: Sequence[str],
    gold: Sequence[Iterable[str]],
    retrieval: str = "cosine",
    max_block_floats: int = DEFAULT_BLOCK_FLOATS,
) -> tuple[torch.Tensor, list[str]]:
    """Realistic rank of each query's gold entity among the targets' entities.

    Args:
        query_vectors: `(num_queries, d)` mention embeddings.
        target_vectors: `(num_names, d)` embeddings of the target names.
        target_entities: `num_names` entity ids (several names may share one).
        gold: per query, its gold entity ids (any of them is right): a set, not a string.
        retrieval: `"cosine"` or `"csls"` (k = 10, over the names).
        max_block_floats: bound on `queries x names` similarities computed at once.
    Returns:
        `(num_queries,)` float64 ranks (1-based, ties halved; `inf` when no gold entity is
        among the targets) and the top entity of each query.
    """
    if retrieval not in RETRIEVAL_MODES:
        raise ValueError(f"retrieval={retrieval!r}: expected one of {RETRIEVAL_MODES}")
    if target_vectors.shape[0] != len(target_entities) or target_vectors.shape[0] == 0:
        raise ValueError(
            f"{target_vectors.shape[0]} target vectors for {len(target_entities)} entity ids"
        )
    if query_vectors.shape[0] != len(gold):
        raise ValueError(f"{query_vectors.shape[0]} query vectors for {len(gold)} gold sets")
    for i, golds in enumerate(gold):  # a string would be read as ids of one character
        if isinstance(golds, (str, bytes)):
            raise TypeError(f"gold[{i}] is a string ({golds!r}): expected a set of entity ids")
    entities = sorted(set(target_entities))
    column = {entity: index for index, entity in enumerate(entities)}
    name_column = torch.tensor([column[e] for e in target_entities], dtype=torch.long)
    if retrieval == "csls":
        from prixlm.similarity.csls import CSLS  # the similarity tasks' shared CSLS

        csls = CSLS(query_vectors, target_vectors)
        name_scores, identical = csls.scores, csls.identical_targets
    else:
        queries = torch.nn.functional.normalize(query_vectors.float(), dim=1)
        targets = torch.nn.functional.normalize(target_vectors.float(), dim=1)

        def name_scores(rows: slice) -> torch.Tensor:
            return queries[rows] @ targets.T

        identical = first_identical_rows(targets)
    # homonyms (bit-identical name vectors) scored as one column: a matrix product may
    # score identical rows a rounding apart, which ranked them 1 and 2 instead of 1.5
    ranks = torch.full((len(gold),), math.inf, dtype=torch.float64)
    top: list[str] = []
    step = max(1, max_block_floats // max(len(target_entities), len(entities)))
    for start in range(0, len(gold), step):
        rows = slice(start, min(start + step, len(gold)))
        scores = name_scores(rows)
        if identical is not None:
            scores = scores[:, identical]
        per_entity = torch.full((scores.shape[0], len(entities)), -math.inf)
        per_entity.scatter_reduce_(1, name_column.expand_as(scores), scores, reduce="amax")
        top.extend(entities[i] for i in per_entity.argmax(dim=1).tolist())
        gold_columns = [[column[g] for g in golds if g in column] for golds in gold[rows]]
        best = torch.tensor(
            [
                max(cols, key=lambda c, r=r: float(per_entity[r, c])) if cols else 0
                for r, cols in enumerate(gold_columns)
            ]
        )
        other_gold = torch.zeros_like(per_entity, dtype=torch.bool)  # filtered
        for r, cols in enumerate(gold_columns):
            other_gold[r, cols] = True
        block = filtered_ranks_from_scores(per_entity, best, other_gold)
        found = torch.tensor([bool(cols) for cols in gold_columns])
        ranks[rows] = torch.where(found, block, torch.full_like(block, math.inf))
    return ranks, top


def xel_metrics(ranks: torch.Tensor | Sequence[float]) -> dict[str, float | int]:
    """`accuracy` (= hits@1), hits@10, MRR and counts of one set of ranks."""
    values = ranks.tolist() if isinstance(ranks, torch.Tensor) else list(ranks)
    metrics: dict[str, float | int] = {f"hits_at_{k}": hits_at_k(values, k) for k in XEL_KS}
    metrics["accuracy"] = metrics["hits_at_1"]
    metrics["mrr"] = mean_reciprocal_rank(values)
    metrics["num_queries"] = len(values)
    metrics["num_gold_missing"] = sum(math.isinf(r) for r in values)
    return metrics


def evaluate_xel(
    embedder: TextEmbedder,
    queries: Sequence[XelQuery],
    targets: Sequence[XelTarget],
    retrieval: str = "cosine",
    max_block_floats: int = DEFAULT_BLOCK_FLOATS,
    seen: Sequence[bool] | None = None,
) -> dict[str, Any]:
    """Link every query to the target entities; metrics per language and their average.

    `seen` (one flag per query: its link was trained on) adds `"unseen"`, the same metrics of
    the unseen queries' ranks among all queries (with CSLS, a name's hubness is averaged over
    every query of its language, not over the unseen ones alone).

    Args:
        embedder: any `TextEmbedder` (`texts -> (n, d)`).
        queries: mentions with their gold entity ids and language (`xel_readers`).
        targets: the target KB's names with their entity ids.
        retrieval: `"cosine"` (nearest neighbour) or `"csls"`.
    Returns:
        `{"retrieval", "num_target_names", "num_target_entities",
        "per_language": {lang: {"accuracy", "hits_at_1", "hits_at_10", "mrr", "num_queries",
        "num_gold_missing"}}, "average": {"accuracy", "mrr"} (unweighted over languages)}`
        (and `"unseen"`, in that form, when `seen` marks some query unseen).
    """
    if not queries:
        raise ValueError("no XEL queries")
    if not targets:
        raise ValueError("no XEL targets")
    if seen is not None and len(seen) != len(queries):
        raise ValueError(f"{len(queries)} queries but {len(seen)} seen flags")
    target_vectors = embedder.embed([t.name for t in targets])
    by_language: dict[str, list[int]] = defaultdict(list)
    for index, query in enumerate(queries):
        by_language[query.language].append(index)
    ranks_by_language: dict[str, torch.Tensor] = {}
    unseen_by_language: dict[str, torch.Tensor] = {}
    for language in sorted(by_language):
        group = [queries[index] for index in by_language[language]]
        ranks, _ = entity_ranks(
            embedder.embed([q.mention for q in group]),
            target_vectors,
            [t.entity for t in targets],
            [q.gold for q in group],
            retrieval=retrieval,
            max_block_floats=max_block_floats,
        )
        ranks_by_language[language] = ranks
        if seen is not None:
            unseen = torch.tensor([not seen[index] for index in by_language[language]])
            if bool(unseen.any()):
                unseen_by_language[language] = ranks[unseen]
    head = {
        "retrieval": retrieval,
        "num_target_names": len(targets),
        "num_target_entities": len({t.entity for t in targets}),
    }
    result = {**head, **_language_metrics(ranks_by_language)}
    if unseen_by_language:
        result["unseen"] = {**head, **_language_metrics(unseen_by_language)}
    return result


def _language_metrics(ranks_by_language: dict[str, torch.Tensor]) -> dict[str, Any]:
    """`{"per_language": {lang: xel_metrics}, "average": {"accuracy", "mrr"}}` (unweighted)."""
    per_language = {language: xel_metrics(ranks) for language, ranks in ranks_by_language.items()}
    return {
        "per_language": per_language,
        "average": {
            key: sum(m[key] for m in per_language.values()) / len(per_language)
            for key in ("accuracy", "mrr")
        },
    }


def _load_embedder(model: str, pooling: str | None, batch_size: int) -> TextEmbedder:
    """A Prix-LM folder or any encoder folder (the plain-text baseline) as a `TextEmbedder`;
    `pooling=None`: the folder's recorded pooling (Mirror tuning), else `DEFAULT_POOLING`."""
    from prixlm.similarity import embedder as embedders

    load = getattr(embedders, "load_embedder", None)
    if load is not None:
        return load(model, pooling=pooling, batch_size=batch_size)
    return embedders.PrixLMEmbedder.from_pretrained(model, pooling=pooling, batch_size=batch_size)


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser("prixlm.similarity.xel", __doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", required=True, help=f"a Prix-LM or encoder model folder; {MODEL_CODE_HELP}"
    )
    parser.add_argument(
        "--benchmark",
        choices=("cldr", "xlbel", "lrxel"),
        default="cldr",
        help="cldr: the CLDR KB's links (no files needed); xlbel: XL-BEL files; lrxel: "
        "LR-XEL files",
    )
    parser.add_argument(
        "--languages",
        default=None,
        help="comma-separated; cldr: the mention languages (default: the paper's eight + te,lo,mr)",
    )
    parser.add_argument(
        "--queries",
        nargs="*",
        default=[],
        help="xlbel/lrxel: LANG=FILE query files (e.g. ja=xl_bel/xlbel_v0.0/ja_1k_test_query.txt)",
    )
    parser.add_argument("--targets", help="xlbel: the CUI||name dictionary; lrxel: the KB file")
    parser.add_argument(
        "--training_dataset",
        help="cldr: the dataset folder the model was trained on; links in its `links` config "
        "are reported as seen (metrics also on the unseen queries alone)",
    )
    parser.add_argument(
        "--keep_identical",
        action="store_true",
        help="cldr: keep mentions spelled like their English label (dropped by default)",
    )
    parser.add_argument(
        "--retrieval",
        choices=RETRIEVAL_MODES,
        default="cosine",
        help="cosine nearest neighbour, or CSLS (k = 10) over the names",
    )
    parser.add_argument(
        "--pooling",
        choices=POOLING_MODES,
        default=None,
        help="embedding of a text: the first token's state (the Mirror-BERT setup, as "
        "`make similarity` measures) or the mean of its token states; default: the pooling "
        f"a Mirror-tuned model's config records, else {DEFAULT_POOLING}",
    )
    parser.add_argument("--batch_size", type=int, default=64, help="texts embedded per forward")
    parser.add_argument("--output", help="write the results as JSON here (atomically)")
    return parser


def _query_files(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> list[tuple[str, str]]:
    """`(language, path)` of each `--queries LANG=FILE` (a usage error for another shape)."""
    files = []
    for spec in args.queries:
        language, sep, path = spec.partition("=")
        if not sep or not language or not path:
            parser.error(f"--queries {spec!r}: expected LANG=FILE")
        files.append((language, path))
    return files


def _file_benchmark(
    benchmark: str, query_files: Sequence[tuple[str, str]], targets_file: str
) -> tuple[list[XelQuery], list[XelTarget]]:
    """The queries and targets of `--benchmark xlbel` or `lrxel`; `UsageError` naming the
    argument for a file that holds none (it failed after the model had loaded)."""
    read = read_xlbel_queries if benchmark == "xlbel" else read_lrxel_queries
    read_targets = read_xlbel_dictionary if benchmark == "xlbel" else read_lrxel_kb
    skipped = " (blank lines and CUI-less entries are skipped)" if benchmark == "xlbel" else ""
    queries = []
    for language, path in query_files:
        found = read(path, language)
        if not found:
            raise UsageError(f"--queries {language}={path}: no queries in the file{skipped}")
        queries.extend(found)
    targets = read_targets(targets_file)
    if not targets:
        raise UsageError(f"--targets {targets_file}: no entity names in the file{skipped}")
    return queries, targets


def _input_paths(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """What the command reads, as `(argument, path)` pairs (`check_output_file`'s inputs)."""
    inputs: list[tuple[str, str | None]] = [("--model", args.model)]
    inputs += [("--training_dataset", args.training_dataset), ("--targets", args.targets)]
    inputs += [("--queries", spec.partition("=")[2] or None) for spec in args.queries]
    return inputs


def _check_options_of_benchmark(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """A usage error for an option of another `--benchmark` than the one run (it would be
    ignored: XL-BEL files given without `--benchmark xlbel` ran the CLDR queries)."""
    if args.benchmark == "cldr":
        given = [name for name in ("queries", "targets") if getattr(args, name)]
        wanted = "--benchmark xlbel or lrxel"
    else:
        given = [
            name
            for name in ("training_dataset", "keep_identical", "languages")
            if getattr(args, name)
        ]
        wanted = "--benchmark cldr"
    if given:
        options = " and ".join(f"--{name}" for name in given)
        parser.error(f"{options}: only with {wanted} (running --benchmark {args.benchmark})")


def main(argv: Sequence[str] | None = None) -> int:
    from prixlm.model_loading import check_model_source
    from prixlm.outputs.atomic import check_output_file
    from prixlm.similarity.xel_cldr import cldr_xel_queries

    parser = build_parser()
    args = parser.parse_args(argv)
    info: dict[str, Any] = {"benchmark": args.benchmark, "model": args.model}
    _check_options_of_benchmark(args, parser)
    if args.batch_size < 1:
        parser.error(f"--batch_size {args.batch_size}: at least 1")
    if args.benchmark != "cldr" and (not args.queries or not args.targets):
        parser.error(f"--benchmark {args.benchmark} needs --queries LANG=FILE and --targets")
    query_files = _query_files(args, parser)
    with user_errors():  # before any work: an output over an input, or a folder there
        if args.output:
            check_output_file(args.output, "--output", _input_paths(args))
    if args.benchmark == "cldr":
        languages = args.languages.split(",") if args.languages else None
        with user_errors(ValueError):  # an unknown locale, a missing dataset: one line
            check_model_source(args.model)  # before its tokenizer or weights are read
            data = cldr_xel_queries(
                languages, args.training_dataset, drop_identical=not args.keep_identical,
                model=args.model,
            )  # fmt: skip
            if not data.queries:
                raise UsageError(f"--languages {args.languages or 'default'}: no CLDR XEL queries")
        queries, targets, seen = data.queries, data.targets, data.seen
        info["cldr"] = data.info
    else:
        with user_errors(XelFormatError):  # names file:line
            queries, targets = _file_benchmark(args.benchmark, query_files, args.targets)
            check_model_source(args.model)  # before the loading (a path was a Hub download)
        seen = None
    with user_errors():
        embedder = _load_model(args.model, args.pooling, args.batch_size)
        pooling = getattr(embedder, "pooling", args.pooling)  # the embeddings': comparable runs
        flags = seen if seen is not None and any(seen) else None  # "unseen" where some are seen
        scored = evaluate_xel(embedder, queries, targets, retrieval=args.retrieval, seen=flags)
        results = {**info, "pooling": pooling, **scored}
        print_json(results, args.output)
    return 0


def _load_model(model: str, pooling: str | None, batch_size: int) -> TextEmbedder:
    """`_load_embedder`, whose failure to read the folder (or the Hub id, offline) names
    `--model` (a traceback about huggingface.co for a folder that holds no model)."""
    try:
        return _load_embedder(model, pooling, batch_size)
    except (OSError, ValueError) as error:
        if isinstance(error, OSError) and error.errno is not None:
            raise  # a system error (a permission): `user_errors` names the file
        reason = first_line(error)
        raise UsageError(f"--model {model}: cannot load it ({reason})") from error


__all__ = ["RETRIEVAL_MODES", "entity_ranks", "evaluate_xel", "xel_metrics"]

if __name__ == "__main__":
    sys.exit(main())
