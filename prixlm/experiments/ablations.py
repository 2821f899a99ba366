"""Prix-LM ablations on the VALIDATION split (why Table 1's All lands where it does).

Each variant is one `prixlm_job` (train.py + full-ranking validation metrics, no test):
the share of link rows (every language pair vs links through one pivot language), the
number of training steps and the model's size (the demo's 192 x 4 layers; Table 1's
256 x 4; 384 x 6), on a few languages, on CPU.

    python -m prixlm.experiments.ablations --languages en,de,ja --work_dir outputs/ablations \\
        --output results/table1_ablations.json [--merge_into results/table1.json]
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from prixlm.cli import UsageError, command_parser, read_json, user_errors
from prixlm.experiments.prixlm_jobs import prixlm_job
from prixlm.experiments.run_settings import check_run_settings
from prixlm.experiments.table1_data import (
    folder_digest,
    input_digests,
    prepare_data,
    prepare_tokenizer,
)
from prixlm.experiments.table1_docs import check_table1_results
from prixlm.outputs.atomic import updating, write_json, writer_lock
from prixlm.training.log_lines import named_job

DEMO = {
    "hidden_size": 192, "num_hidden_layers": 4, "num_attention_heads": 4,
    "intermediate_size": 768, "learning_rate": 1e-3, "warmup_steps": 0.06,
    "weight_decay": 0.01, "per_device_train_batch_size": 64, "gradient_accumulation_steps": 1,
    "logging_steps": 100, "lp_eval_queries": 0, "max_fact_length": 64, "disable_tqdm": True,
}  # fmt: skip

# the model sizes compared at 900 and 2,700 steps (3.4 and 10 epochs on en, de, ja):
# Table 1's (profiles `full`, `gpu`) and a larger one
TABLE1_SIZE = {"hidden_size": 256, "intermediate_size": 1024}
LARGER_SIZE = {"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 6,
               "intermediate_size": 1536}  # fmt: skip

# name: (dataset, train.py overrides)
VARIANTS = {
    "links-all-300": ("main", {"max_steps": 300}),
    "links-pivot-300": ("pivot", {"max_steps": 300}),
    "links-pivot-900": ("pivot", {"max_steps": 900}),
    "links-pivot-900-256x4": ("pivot", {"max_steps": 900, **TABLE1_SIZE}),
    "links-pivot-900-384x6": ("pivot", {"max_steps": 900, **LARGER_SIZE}),
    "links-pivot-2700-256x4": ("pivot", {"max_steps": 2700, **TABLE1_SIZE}),
    "links-pivot-2700-384x6": ("pivot", {"max_steps": 2700, **LARGER_SIZE}),
    "links-all-2700-256x4": ("main", {"max_steps": 2700, **TABLE1_SIZE}),
}


def kept_runs(output: Path, languages: list[str], seed: int) -> dict[str, Any]:
    """The runs already in `output`, if they are of `languages` and `seed` (a file without
    a seed: seed 0, the only one used before it was recorded); `UsageError` otherwise, and
    for a file that is not JSON or not this command's (it is never overwritten then)."""
    if not output.is_file():
        return {}
    kept = read_json(output, "--output")
    if not isinstance(kept, dict) or not isinstance(kept.get("runs"), dict):
        raise UsageError(
            f"--output {output}: not an ablations file (no 'runs' object); "
            "write to another --output"
        )
    theirs = (kept.get("languages"), kept.get("seed", 0))
    if theirs != (languages, seed):
        raise UsageError(
            f"--output {output} holds runs of languages {theirs[0]} and seed {theirs[1]} "
            f"(this run: {languages}, seed {seed}); write to another --output"
        )
    return kept["runs"]


def run_key(dataset: str, settings: dict[str, Any], digests: dict[str, str]) -> dict[str, Any]:
    """What a kept run in `--output` must have been made with to be reused (`key`): the
    variant's dataset and full train.py settings, the digests of that dataset and of the
    tokenizer (`table1_data.input_digests`). A run kept with another key (an edited
    variant, data built again from another CLDR release, a file written before keys were
    kept) is run again."""
    key = {"dataset": dataset, "settings": settings, "data_sha256": digests[dataset],
           "tokenizer_sha256": digests["tokenizer"]}  # fmt: skip
    return json.loads(json.dumps(key))  # as it reads back from the file


def merged_table(merge_into: Path) -> dict[str, Any]:
    """The Table 1 results file `merge_into` (`--merge_into`), checked: `UsageError` when it
    is missing, not JSON or not a Table 1 results file."""
    table = read_json(merge_into, "--merge_into")
    check_table1_results(table, merge_into, "--merge_into")
    return table


def main(argv: list[str] | None = None) -> dict:
    parser = command_parser("prixlm.experiments.ablations", __doc__.splitlines()[0])
    parser.add_argument(
        "--languages",
        default="en,de,ja",
        help="comma-separated; the first is the pivot of the links",
    )
    parser.add_argument(
        "--work_dir",
        type=Path,
        default=Path("outputs/ablations"),
        help="data, tokenizer and runs (kept between starts)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="the runs as JSON, each written as it finishes; runs it already holds are not run again (default: <work_dir>/ablations.json)",
    )
    parser.add_argument("--merge_into", type=Path, default=None, help="add as 'ablations'")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated variants to run"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of training and sampling")
    args = parser.parse_args(argv)
    with ExitStack() as held:  # one run of a --work_dir at a time: a second is refused at once
        with user_errors():
            held.enter_context(writer_lock(args.work_dir, argument="--work_dir"))
        return _run(args)


def _run(args: argparse.Namespace) -> dict:
    """`main`'s run, holding `writer_lock(args.work_dir)` (two runs of one folder each ran
    the other's stages again, beside them)."""
    args.output = args.output or args.work_dir / "ablations.json"
    languages = [code.strip() for code in args.languages.split(",") if code.strip()]
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    # every input is checked before any work (the --merge_into file used to be read only
    # after hours of runs); an unknown language is one line too (ValueError)
    with user_errors(ValueError):
        if not languages:
            raise UsageError("--languages: no language given")
        unknown = sorted(set(names) - set(VARIANTS))
        if unknown:
            raise UsageError(f"--variants: unknown {unknown}; known: {sorted(VARIANTS)}")
        runs = kept_runs(args.output, languages, args.seed)
        if args.merge_into:
            merged_table(args.merge_into)
        args.work_dir.mkdir(parents=True, exist_ok=True)
        datasets = prepare_data(args.work_dir, languages, pivot=languages[0])
        # kept runs are of these languages and this seed, or refused
        check_run_settings(args.work_dir, {"languages": languages, "seed": args.seed})
    digests = input_digests(datasets)
    with user_errors():  # a full disk: one line naming the tokenizer folder
        tokenizer = prepare_tokenizer(
            args.work_dir, datasets["main"], languages, 8000, digests["main"]
        )
    digests["tokenizer"] = folder_digest(tokenizer)
    for name in names:
        dataset, overrides = VARIANTS[name]
        settings = {**DEMO, **overrides}
        key = run_key(dataset, settings, digests)
        if name in runs and runs[name].get("key") == key:
            continue
        if name in runs:
            print(f"{name}: the run kept in --output {args.output} was made with other "
                  "settings or data: running it again", flush=True)  # fmt: skip
        started = time.time()
        with named_job(name):  # its training's lines name it, its results are one line
            record = prixlm_job(
                str(datasets[dataset]), str(args.work_dir / "runs" / name), languages, "all",
                str(tokenizer), settings, seed=args.seed, splits=("validation",),
                data_sha256=key["data_sha256"], tokenizer_sha256=key["tokenizer_sha256"],
            )  # fmt: skip
        record["dataset"] = dataset
        runs[name] = {**{k: v for k, v in record.items() if k != "release"}, "key": key}
        print(f"{name}: {time.time() - started:.0f} s {record['validation']}", flush=True)
        result = {"languages": languages, "seed": args.seed, "split": "validation", "runs": runs}
        write_json(result, args.output, "--output")
    result = {"languages": languages, "seed": args.seed, "split": "validation", "runs": runs}
    if args.merge_into:
        with user_errors():
            merge_ablations(result, args.merge_into)
    return result


def merge_ablations(result: dict[str, Any], merge_into: Path) -> None:
    """Add `result` to the Table 1 results file `merge_into` as its `ablations`: read again
    (it may have changed during the runs) and written `updating` it, so that a `table1`
    refresh finishing meanwhile neither is lost nor drops this merge."""
    with updating(merge_into, "--merge_into"):
        table = merged_table(merge_into)
        table["ablations"] = result
        write_json(table, merge_into, "--merge_into")


if __name__ == "__main__":
    main()
