"""Link prediction on a GPU, K=50 over 1M and 10k entities: the device-resident loop as it
was and as it is, in one run, with the rankings compared; and the full ranking.

Run (one H200: about 3 minutes, a minute of it compiling; `--device cpu --tiny`: a toy-size
dry run in seconds)::

    python bench/bench_lp_gpu.py --output results/bench_lp_gpu.json
    python bench/bench_lp_gpu.py --device cpu --tiny --output /tmp/bench_lp_gpu.json

Setting (no tokenizer or weights are downloaded): a Prix-LM of XLM-R base's shape (hidden
768, 12 layers, 12 heads, intermediate 3072, vocabulary 250,015) with random weights
(seed 0), float32 with TF32 matrix products; `--queries` prompts shaped like the CLDR
(subject, relation) queries (`<s> [S] s </s></s> [P] r </s></s> [O]`, a subject of 1-4 and a
relation of 1-3 tokens); candidate entities as in `bench_trie_build.py`: 1 + Poisson(3)
tokens (mean ~4 XLM-R pieces) plus `[EOS]`, tokens drawn from a Zipf-like law over the
vocabulary, so frequent pieces start many entities (shared prefixes). All drawn from
`--seed`.

Measured, per trie (`--entities`), at each `--max_rows` (rows per forward: 1,024, the
library's default on the CPU, 8,192 its default on a GPU with the memory): "before" is the device-resident loop as it
was (`lp_gpu_before.py`: every row's prompt in a growing `DynamicCache`, the fused
attention kernel with one query per row, the LM head over 250,015 columns, five-pass
`torch.logsumexp`), "after" is `decode_batch_on_device` (`BeamCache`: prompts cached once
per query, single-token attention; the LM head padded to 64 columns; a one-pass compiled
normaliser). Rankings are compared with "before" at the same rows and at the first
`--max_rows` (fraction of queries with the same ranking / top 1 / top 10, and the largest
loss difference of an entity both rank: rounding, when rankings differ only where losses
nearly tie). Full ranking (`score_candidates`, every candidate scored exactly) on the
smallest trie: "before" is the implementation before its walk was planned on the device
(`lp_gpu_before.py`), "after" the library's, at their defaults; scores compared. The JSON
(`--output`) holds every figure; the last line prints the speed ratio after / before at
the largest trie and the largest `--max_rows`.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


from lp_gpu_before import decode_batch_on_device_before, score_prompts_before  # noqa: E402
from lp_gpu_checks import check_exact, compare_rankings, count_syncs  # noqa: E402
from lp_gpu_setting import PAD, Ids, model_config, synthetic_prompts, synthetic_trie  # noqa: E402

from modeling_prixlm.beam_search import decode_batch_on_device  # noqa: E402
from modeling_prixlm.constrained_decoding import EntityTrie  # noqa: E402
from modeling_prixlm.decoding_steps import model_device  # noqa: E402
from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB  # noqa: E402
from prixlm.outputs.atomic import atomic_file  # noqa: E402


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device: torch.device, fn: Callable[[], Any]) -> tuple[Any, float]:
    synchronize(device)
    start = time.perf_counter()
    result = fn()
    synchronize(device)
    return result, time.perf_counter() - start


def decode_ranked(
    decode: Callable[..., list[Any]],
    model: Any,
    prompts: Sequence[list[int]],
    trie: EntityTrie,
    num_beams: int,
    max_rows: int,
) -> list[Any]:
    """`RankedObjects` per query, `max_rows // num_beams` queries per batch (as
    `predict_objects`)."""
    tokenizer = SimpleNamespace(pad_token_id=PAD)
    batch = max(1, max_rows // num_beams)
    ranked = []
    for start in range(0, len(prompts), batch):
        ranked.extend(
            decode(model, tokenizer, list(prompts[start : start + batch]), trie, num_beams)
        )
    return ranked


def decode_all(
    decode: Callable[..., list[Any]],
    model: Any,
    prompts: Sequence[list[int]],
    trie: EntityTrie,
    num_beams: int,
    max_rows: int,
) -> list[list[int]]:
    """Ranked entity ids per query (`decode_ranked`)."""
    return [r.entities for r in decode_ranked(decode, model, prompts, trie, num_beams, max_rows)]


def score_prompts_after(model, prompts, trie) -> torch.Tensor:
    """The library's full ranking, at its defaults for the device, in the same leaf order."""
    from prixlm.link_prediction.candidate_scoring import (
        _leaves_in_trie_order,
        default_sizes,
        score_prompts,
    )

    batch_size, max_rows = default_sizes(model_device(model))
    by_entity = score_prompts(model, PAD, prompts, trie, batch_size, max_rows)
    leaves = _leaves_in_trie_order(trie)
    first_entity = trie.entity_of(leaves)
    return by_entity[:, first_entity]


def warm_and_time(
    decode: Callable[..., list[Any]],
    model: Any,
    prompts: Sequence[list[int]],
    trie: EntityTrie,
    num_beams: int,
    max_rows: int,
) -> tuple[list[Any], float]:
    """`decode_ranked` over `prompts` and its seconds, after two warm-up calls on a twentieth
    of them (the compiled normaliser: twice, for its shapes)."""
    warm = prompts[: max(2, len(prompts) // 20)]
    for _ in range(2):
        decode_ranked(decode, model, warm, trie, num_beams, max_rows)
    return timed(
        model_device(model),
        lambda: decode_ranked(decode, model, prompts, trie, num_beams, max_rows),
    )


def after_only(
    args: argparse.Namespace,
    model: Any,
    prompts: Sequence[list[int]],
    trie: EntityTrie,
    max_rows: int,
    rankings: dict[str, list[Any]],
    rows_settings: list[int],
) -> dict[str, Any]:
    """The new loop alone at `max_rows`: queries/s, peak memory on CUDA, rankings against
    the new loop at the last of `rows_settings`; `{"error": ...}` if the device runs out of
    memory."""
    device = model_device(model)
    entry: dict[str, Any] = {"entities": trie.num_entities, "loop": "after", "max_rows": max_rows}
    try:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        ranked, seconds = warm_and_time(
            decode_batch_on_device, model, prompts, trie, args.num_beams, max_rows
        )
    except torch.cuda.OutOfMemoryError as error:
        torch.cuda.empty_cache()
        return {**entry, "error": f"out of memory: {str(error).splitlines()[0]}"}
    entry["seconds"] = round(seconds, 3)
    entry["queries_per_s"] = round(len(prompts) / seconds, 1)
    if device.type == "cuda":
        entry["peak_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    last = rows_settings[-1]
    entry[f"vs_after_at_{last}_rows"] = compare_rankings(rankings[f"after@{last}"], ranked)
    return entry


# ---------------------------------------------------------------- the run


@torch.no_grad()
def run(args: argparse.Namespace, save: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Every measurement; `save(report)` after each one (a cut-off run keeps its figures)."""
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    ids = Ids(2_002 if args.tiny else 250_002)
    config = model_config(args.tiny, ids)
    with torch.device(device):
        model = PrixLMForCausalKB(config).eval()
    prompts = synthetic_prompts(args.queries, args.seed, ids)
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else (platform.processor() or platform.machine())
    )
    print(
        f"device {device} ({name}), model hidden {config.hidden_size} x {config.num_hidden_layers} "
        f"layers, vocabulary {config.vocab_size}, {len(prompts)} queries, K={args.num_beams}"
    )
    rows_settings = [int(r) for r in args.max_rows.split(",")]
    sizes = sorted({int(n) for n in args.entities.split(",")}, reverse=True)  # largest first
    report: dict[str, Any] = {
        "device": f"{device.type}: {name}",
        "queries_per_s": {"before": None, "after": None},
        "entities": sizes[0],
        "num_beams": args.num_beams,
        "queries": len(prompts),
        "setting": {
            "before": f"decode_batch_on_device as it was (bench/lp_gpu_before.py), "
            f"max_rows={rows_settings[-1]}, float32/TF32",
            "after": f"decode_batch_on_device, max_rows={rows_settings[-1]}, float32/TF32",
            "model": f"random {'tiny' if args.tiny else 'XLM-R base shape'} Prix-LM, seed {args.seed}",
            "data": "synthetic prompts and Zipf-like entities (bench docstring)",
        },
        "rankings_identical": None,
        "runs": [],
        "full_ranking": None,
        "versions": {"torch": torch.__version__, "transformers": _version("transformers")},
        "command": "python " + " ".join(sys.argv),
    }
    tries = []
    loops = (("before", decode_batch_on_device_before), ("after", decode_batch_on_device))
    for num_entities in sizes:
        trie, build_seconds = timed(
            torch.device("cpu"), lambda n=num_entities: synthetic_trie(n, args.seed, ids)
        )
        tries.append(trie)
        info = {
            "entities": num_entities,
            "trie_build_s": round(build_seconds, 3),
            "trie_mib": round(trie.nbytes / 2**20, 1),
            "trie_nodes": trie.num_nodes,
            "trie_max_length": trie.max_length,
            "widest_node_per_depth": trie.max_children()[:4],
        }
        print(json.dumps(info))
        report["runs"].append(info)
        rankings: dict[str, list[Any]] = {}
        for max_rows in rows_settings:
            for label, decode in loops:
                ranked, seconds = warm_and_time(
                    decode, model, prompts, trie, args.num_beams, max_rows
                )
                rankings[f"{label}@{max_rows}"] = ranked
                entry = {
                    "entities": num_entities,
                    "loop": label,
                    "max_rows": max_rows,
                    "seconds": round(seconds, 3),
                    "queries_per_s": round(len(prompts) / seconds, 1),
                    "vs_before_same_rows": compare_rankings(rankings[f"before@{max_rows}"], ranked),
                    f"vs_before_at_{rows_settings[0]}_rows": compare_rankings(
                        rankings[f"before@{rows_settings[0]}"], ranked
                    ),
                }
                report["runs"].append(entry)
                print(json.dumps(entry))
                if num_entities == sizes[0] and max_rows == rows_settings[-1]:
                    report["queries_per_s"][label] = entry["queries_per_s"]
                save(report)
        if num_entities == sizes[0]:
            for max_rows in [int(r) for r in args.after_only_rows.split(",") if r]:
                entry = after_only(args, model, prompts, trie, max_rows, rankings, rows_settings)
                report["runs"].append(entry)
                print(json.dumps(entry))
                save(report)
        if device.type == "cuda":
            batch = prompts[: max(1, rows_settings[-1] // args.num_beams)]
            info["sync_count_one_batch"] = count_syncs(model, batch, trie, args.num_beams)
            print(json.dumps({"entities": num_entities, **info["sync_count_one_batch"]}))
        info["rankings_identical_at_same_rows"] = all(
            [x.entities for x in rankings[f"after@{r}"]]
            == [x.entities for x in rankings[f"before@{r}"]]
            for r in rows_settings
        )
        report["rankings_identical"] = all(
            r.get("rankings_identical_at_same_rows", True) for r in report["runs"]
        )
        save(report)
        if not info["rankings_identical_at_same_rows"]:  # reported in the JSON; the run goes on
            print(f"NOTE: {num_entities} entities: before and after rank differently (see JSON)")

    # full ranking, smallest trie
    trie = tries[-1]
    full_prompts = prompts[: args.full_queries]
    score_prompts_before(model, full_prompts[:1], trie)  # warm-up
    score_prompts_after(model, full_prompts[:2], trie)
    before, before_s = timed(device, lambda: score_prompts_before(model, full_prompts, trie))
    after, after_s = timed(device, lambda: score_prompts_after(model, full_prompts, trie))
    same_order = all(
        torch.equal(torch.sort(-a, stable=True).indices, torch.sort(b, stable=True).indices)
        for a, b in zip(before, -after, strict=True)
    )
    report["full_ranking"] = {
        "entities": trie.num_entities,
        "queries": len(full_prompts),
        "queries_per_s": {
            "before": round(len(full_prompts) / before_s, 2),
            "after": round(len(full_prompts) / after_s, 2),
        },
        "max_abs_score_difference": float((before - after).abs().max()),
        "identical_rankings": same_order,
        "max_abs_difference_to_a_cache_free_forward": check_exact(model, full_prompts, trie, after),
    }
    print(json.dumps({"full_ranking": report["full_ranking"]}))
    save(report)
    return report


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action="store_true", help="toy model and sizes (a dry run)")
    parser.add_argument("--output", required=True, help="JSON file for the figures")
    parser.add_argument("--queries", type=int, default=None, help="default 400 (tiny: 12)")
    parser.add_argument(
        "--entities",
        default=None,
        help="default 1000000,10000 (tiny: 3000,300); largest first, full ranking on the smallest",
    )
    parser.add_argument("--num_beams", type=int, default=None, help="default 50 (tiny: 8)")
    parser.add_argument(
        "--max_rows", default="1024,8192", help="rows per forward to time; headline: the last"
    )
    parser.add_argument(
        "--after_only_rows",
        default="",
        help="more rows per forward to time on the largest trie with the new loop alone (the "
        "old one keeps every row's prompt and may not fit), e.g. 16384,32768; an out-of-memory "
        "error is recorded and the run goes on",
    )
    parser.add_argument("--full_queries", type=int, default=None, help="default 16 (tiny: 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (device cpu)")
    args = parser.parse_args(argv)
    tiny = args.tiny
    args.queries = args.queries or (12 if tiny else 400)
    args.entities = args.entities or ("3000,300" if tiny else "1000000,10000")
    args.num_beams = args.num_beams or (8 if tiny else 50)
    args.full_queries = args.full_queries or (3 if tiny else 16)
    if tiny and args.max_rows == "1024,8192":
        args.max_rows = "16,64"
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)

    def save(report: dict[str, Any]) -> None:
        with atomic_file(output, argument="--output") as staging:
            staging.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    report = run(args, save)
    speed = report["queries_per_s"]
    print(
        f"speed ratio (after / before, {report['entities']} entities, K={report['num_beams']}): "
        f"{speed['after'] / speed['before']:.1f}x"
    )


if __name__ == "__main__":
    main()
