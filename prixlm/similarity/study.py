"""`make similarity`: the paper's similarity tasks on the embedded default, KB model vs baseline.

Stages (each skipped when its output exists, so an interrupted run resumes):

1. the CLDR KB of the profile's languages (export + Hub-format build, as `make demo`);
2. the KB model: `train.py` with the demo's recipe (`prixlm.training.arguments.demo_training_argv`), every
   checkpoint kept (the curve) and link prediction at each (`lp_curve.csv`);
3. the plain-text baseline (`prixlm.similarity.plain_mlm`): same architecture, tokenizer,
   labels, steps, batch and learning rate, no fact structure;
4. Mirror-BERT tuning of both (`prixlm.similarity.mirror`, on the most frequent words of the
   KB's English labels), and of every KB checkpoint for the curve;
5. evaluation of the four models (and the checkpoints): XEL (`prixlm.similarity.xel`, CLDR
   links to English), BLI (`prixlm.similarity.bli`, CLDR dictionaries held out of the KB) and
   knowledge probing (`prixlm.similarity.probing`, when present);
6. `results/similarity.json` (raw numbers, seeds, commands, wall times), `docs/similarity.md`
   and `docs/similarity_curve.png` (the paper's Fig. 2: XEL/BLI/probing next to LP).

`<work_dir>/run_settings.json` keeps the profile (its name and values), seed and pooling; a
later run with others in the same `--work_dir` is refused. The evaluations are kept per model
weights (`<work_dir>/eval/<name>.<digest>.*.json`): a model trained again is evaluated again.

    python -m prixlm.similarity.study --work_dir outputs/similarity
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import prixlm.threads  # noqa: F401 - first: sets OpenMP's wait policy before torch loads

# isort: split
from prixlm.cli import add_report_options, command_parser, report_paths, user_errors
from prixlm.experiments.run_settings import check_run_settings
from prixlm.outputs.atomic import atomic_file, atomic_folder, published_together, writer_lock
from prixlm.similarity.bli_cldr import PAPER_PAIRS
from prixlm.similarity.embedder import DEFAULT_POOLING, POOLING_MODES
from prixlm.similarity.study_eval import evaluate_model

PROFILES: dict[str, dict[str, Any]] = {
    # the demo's 1,000 steps; under an hour on 2 shared CPU cores (wall times in the JSON)
    "default": {
        "languages": "en,fi,it,ru,tr",
        # the KB's languages (their links are training facts) + four Latin-script languages the
        # model never saw (its tokenizer is trained on the KB's languages only: te, lo, mr
        # would be mostly <unk>)
        "xel_languages": "fi,it,ru,tr,de,fr,et,hu",
        "bli_pairs": ",".join(PAPER_PAIRS),
        "max_steps": 1000,
        "save_steps": 250,
        "model_args": [],
        "lp_eval_queries": 60,
        "mirror_words": 10_000,
        "mirror_max_steps": -1,
        "probing_multi_token": True,
    },
    # seconds: the tests' path through every stage
    "toy": {
        "languages": "en,fi",
        "xel_languages": "fi",
        "bli_pairs": "en-fi",
        "max_steps": 2,
        "save_steps": 2,
        "model_args": [
            "--hidden_size",
            "32",
            "--num_hidden_layers",
            "1",
            "--num_attention_heads",
            "2",
            "--intermediate_size",
            "64",
            "--tokenizer_vocab_size",
            "1500",
        ],  # fmt: skip
        "lp_eval_queries": 2,
        "mirror_words": 200,
        "mirror_max_steps": 2,
        "probing_multi_token": False,
    },
}
MODELS = ("kb", "kb+mirror", "plain", "plain+mirror")


class Runner:
    """Stages with wall times; `stage(name, output, build)` skips when `output` exists."""

    def __init__(self, work_dir: Path, profile: dict[str, Any], seed: int, pooling: str):
        self.work_dir, self.profile, self.seed, self.pooling = work_dir, profile, seed, pooling
        self.languages = profile["languages"].split(",")
        self.wall: dict[str, float] = {}
        self.started = time.time()

    def log(self, message: str) -> None:
        print(f"[{time.time() - self.started:6.0f} s] {message}", flush=True)

    def stage(self, name: str, output: Path, build: Callable[[], Any]) -> Path:
        if output.exists():
            self.log(f"{name}: reusing {output}")
            return output
        self.log(f"{name}: building {output}")
        started = time.time()
        build()
        self.wall[name] = round(time.time() - started, 1)
        return output

    def cached_json(self, name: str, path: Path, compute: Callable[[], Any]) -> Any:
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
        started = time.time()
        value = compute()
        self.wall[name] = round(time.time() - started, 1)
        with atomic_file(path) as staging:
            staging.write_text(json.dumps(value, indent=2, sort_keys=True), encoding="utf-8")
        return value


def kb_train_argv(runner: Runner, dataset: Path, run_dir: Path) -> list[str]:
    """The demo's train.py command line, every checkpoint kept (later flags win)."""
    from prixlm.training.arguments import demo_training_argv

    profile = runner.profile
    return [
        *demo_training_argv(dataset, run_dir, profile["languages"], profile["max_steps"]),
        "--save_steps", str(profile["save_steps"]), "--save_total_limit", "1000",
        "--lp_eval_queries", str(profile["lp_eval_queries"]), "--seed", str(runner.seed),
        "--report_to", "none", *profile["model_args"],
    ]  # fmt: skip


def checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """`(step, folder)` of every `checkpoint-<step>` in `run_dir`, by step."""
    found = []
    for path in run_dir.glob("checkpoint-*"):
        match = re.fullmatch(r"checkpoint-(\d+)", path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    return sorted(found)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every stage; returns the results dict written to `--results`."""
    from prixlm.similarity.bli_cldr import (
        dictionary_pairs,
        export_dictionaries,
        link_overlap,
        split_pairs,
    )
    from prixlm.similarity.mirror import MIRROR_DEFAULTS, kb_label_words, mirror_tune
    from prixlm.similarity.plain_mlm import kb_label_texts, train_plain_mlm

    profile = PROFILES[args.profile]
    runner = Runner(args.work_dir, profile, args.seed, args.pooling)
    work = args.work_dir
    dataset = work / "dataset"

    def build_kb() -> None:
        from prixlm.data.cldr.export import export_cldr_kb
        from prixlm.data.dbpedia.build import build_dataset

        export_cldr_kb(runner.languages, work / "cldr_dumps")
        build_dataset(work / "cldr_dumps", dataset, runner.languages, progress=False)

    runner.stage("kb dataset", dataset, build_kb)
    run_dir = work / "kb"
    train_argv = kb_train_argv(runner, dataset, run_dir)

    def train_kb() -> None:
        from prixlm.training.arguments import parse_training_arguments
        from prixlm.training.pretrain import pretrain

        # `true` also where no checkpoint was made yet: a start stopped before its first
        # one left a curve, which a new run (no `true`) would refuse as another run's
        pretrain(parse_training_arguments([*train_argv, "--resume_from_checkpoint", "true"]))

    kb_model = runner.stage("kb model", run_dir / "model", train_kb)
    plain_model = runner.stage(
        "plain model",
        work / "plain" / "model",
        lambda: train_plain_mlm(
            kb_model, kb_label_texts(dataset, runner.languages), work / "plain" / "model",
            profile["max_steps"], batch_size=64, learning_rate=1e-3, seed=args.seed,
        ),
    )  # fmt: skip
    words = kb_label_words(dataset, "en", profile["mirror_words"])

    def tune(source: Path, output: Path) -> Path:
        return runner.stage(
            f"mirror {output.parent.name}/{output.name}",
            output,
            lambda: mirror_tune(  # tuned with the pooling it is evaluated with
                source,
                output,
                words,
                seed=args.seed,
                max_steps=profile["mirror_max_steps"],
                pooling=args.pooling,
            ),
        )

    models = {
        "kb": kb_model,
        "kb+mirror": tune(kb_model, work / "kb" / "model-mirror"),
        "plain": plain_model,
        "plain+mirror": tune(plain_model, work / "plain" / "model-mirror"),
    }
    pairs = profile["bli_pairs"].split(",")

    def write_dictionaries() -> None:
        with atomic_folder(work / "bli") as staging:
            export_dictionaries(pairs, staging, args.seed)

    dictionaries = runner.stage("bli dictionaries", work / "bli", write_dictionaries)
    probes = _export_probes(runner, dataset)
    results: dict[str, Any] = {"models": {}}
    for name, folder in models.items():
        runner.log(f"evaluating {name}")
        probed = None if name.endswith("+mirror") else folder
        results["models"][name] = evaluate_model(
            runner, name, folder, dataset, dictionaries, probes, probed
        )
    curve = []
    for step, checkpoint in checkpoints(run_dir):
        runner.log(f"curve: checkpoint {step}")
        tuned = tune(checkpoint, work / "curve" / f"mirror-{step}")
        scores = evaluate_model(
            runner, f"step{step}", tuned, dataset, dictionaries, probes, checkpoint
        )
        curve.append({"step": step, **_curve_point(scores)})
    lp = json.loads((kb_model / "train_results.json").read_text(encoding="utf-8"))
    lp_records = lp.get("checkpoint_link_prediction", [])
    for point in curve:
        record = next((r for r in lp_records if r.get("step") == point["step"]), {})
        hits = [v for k, v in record.items() if k.endswith("/hits_at_1")]
        point["lp_hits_at_1"] = sum(hits) / len(hits) if hits else None

    from prixlm.data.loading import load_kb

    links = load_kb(dataset, "links", "train")
    link_pairs = list(zip(links["subject"], links["object"], strict=True))
    overlaps = {}
    for pair in pairs:
        source, _, target = pair.partition("-")
        every = dictionary_pairs(source, target)
        train_pairs, test_pairs = split_pairs(every, args.seed)
        overlaps[pair] = {
            "train": len(train_pairs),
            "test": len(test_pairs),
            "link_overlap": link_overlap(every, link_pairs),
        }
    import torch

    # the CPU threads change the numbers' last digits: this start's, and the KB model's
    # training's (`train_results.json`; unknown for a model trained before it said); in the
    # results only, not the run settings (a resume on another machine is allowed)
    threads, kb_threads = torch.get_num_threads(), lp.get("torch_num_threads")
    results.update(
        {
            "profile": args.profile,
            "settings": {**profile, "seed": args.seed, "pooling": args.pooling,
                         "mirror": MIRROR_DEFAULTS, "mirror_words": len(words),
                         "plain_texts": len(kb_label_texts(dataset, runner.languages))},
            "commands": {
                "make": "make similarity",
                "runner": " ".join([f"OMP_NUM_THREADS={threads} python -m prixlm.similarity.study",
                                    *sys.argv[1:]]),
                "kb_model": (f"OMP_NUM_THREADS={kb_threads} " if kb_threads else "")
                + "python train.py " + " ".join(train_argv),
            },
            "torch_num_threads": threads,
            "kb_train_torch_num_threads": kb_threads,
            "dictionaries": overlaps,
            "curve": curve,
            "wall_seconds": runner.wall,
            "kb_train_runtime_seconds": lp.get("train_runtime"),
            "total_seconds": round(time.time() - runner.started, 1),
        }
    )  # fmt: skip
    return results


def _export_probes(runner: Runner, dataset: Path) -> Path | None:
    """mLAMA-layout probes of the KB's test split (F's exporter), when it exists."""
    try:
        from prixlm.similarity.probing_export import export_probes
        from prixlm.similarity.probing_templates import TEMPLATES
    except ImportError:
        return None
    languages = [language for language in runner.languages if language in TEMPLATES]
    output = runner.work_dir / "probes"
    return runner.stage("probes", output, lambda: export_probes(dataset, output, languages))


def _curve_point(scores: dict[str, Any]) -> dict[str, float | None]:
    probing = scores.get("probing") or {}
    return {
        "xel_accuracy": scores["xel"]["all"]["average"]["accuracy"],
        "bli_accuracy": scores["bli"]["average"]["accuracy"],
        "probing_accuracy": (probing.get("single_token") or {}).get("average"),
        "probing_multi_token_accuracy": (probing.get("multi_token") or {}).get("average"),
    }


REPORTS_PROFILE = "default"  # the profile of the committed figures
#: the committed report files, written by the `default` profile (others: into `--work_dir`)
REPORTS = {"results": "results/similarity.json", "docs": "docs/similarity.md",
           "chart": "docs/similarity_curve.png"}  # fmt: skip


def run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """What the kept stages of `--work_dir` depend on: the profile's name and every value of
    it (`profile.max_steps`, ...: an edited profile is refused, not served the stages made
    with the old values), the seed and the pooling."""
    values = {f"profile.{key}": value for key, value in PROFILES[args.profile].items()}
    return {"profile": args.profile, **values, "seed": args.seed, "pooling": args.pooling}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser("prixlm.similarity.study", __doc__)
    parser.add_argument(
        "--work_dir",
        type=Path,
        default=Path("outputs/similarity"),
        help="data, models and per-stage results (a new start resumes)",
    )
    parser.add_argument(
        "--profile", choices=sorted(PROFILES), default="default", help="the study's size"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the split, training and dictionaries"
    )
    parser.add_argument(
        "--pooling",
        choices=POOLING_MODES,
        default=DEFAULT_POOLING,
        help="embedding of a text: first token (Mirror-BERT) or mean",
    )
    add_report_options(parser, REPORTS_PROFILE, REPORTS)
    args = parser.parse_args(argv)
    report_paths(args, REPORTS_PROFILE, REPORTS, args.work_dir)
    with ExitStack() as held:  # one run of a --work_dir at a time: a second is refused at once
        with user_errors():
            held.enter_context(writer_lock(args.work_dir, argument="--work_dir"))
        return _run(args)


def _run(args: argparse.Namespace) -> dict[str, Any]:
    """`main`'s run, holding `writer_lock(args.work_dir)` (two runs of one folder each ran
    the other's stages again, beside them)."""
    from prixlm.similarity.study_docs import write_docs

    with user_errors():  # its kept stages were made with these settings, or refused
        args.work_dir.mkdir(parents=True, exist_ok=True)  # an existing file: one line
        check_run_settings(args.work_dir, run_settings(args))
    with user_errors():  # a refused stage (a run folder of other settings): one line
        results = run(args)
    with user_errors():  # a full disk: one line naming the file, exit 2
        with published_together():  # the JSON, the page and the chart: all new or all kept
            with atomic_file(args.results, "--results") as staging:
                text = json.dumps(results, indent=2) + "\n"  # in run order
                staging.write_text(text, encoding="utf-8")
            write_docs(results, args.docs, args.chart)
        print(f"wrote {args.results}, {args.docs}, {args.chart}")
    return results


if __name__ == "__main__":
    main()
