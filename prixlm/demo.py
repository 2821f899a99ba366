"""`make demo`: the whole Prix-LM pipeline on the embedded default, end to end, on CPU.

1. export a real multilingual KB from CLDR (the `babel` package) as DBpedia dump files;
2. build the Hub-format dataset (Parquet + card; per-fact splits, inverse filter);
3. train a tokenizer and a small Prix-LM ("All": triples + links) with the Trainer,
   evaluating link prediction at every checkpoint (the paper's Fig. 2 as a PNG);
4. link prediction on the test split (filtered hits@1/3/10 and MRR per language), kept in
   the release folder and shown on its model card;
5. reload the saved folder through `AutoModelForCausalLM` and complete a few facts.

    python -m prixlm.demo --output_dir outputs/demo [--languages en,de,ja] [--max_steps 1000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from prixlm.cli import command_parser, user_errors

DEFAULT_LANGUAGES = "en,de,ja"
#: K of the demo's beam search (test-set link prediction and the completed examples): the
#: pipeline's `DEFAULT_NUM_BEAMS` and the paper's (not imported: torch would load for --help).
DEFAULT_NUM_BEAMS = 50
#: What the demo writes about its model beside `run/`: removed with the earlier run's model
#: when a new run trains (a stopped run left them describing a model that no longer exists).
SUMMARY_FILE = "demo_summary.json"
RESULTS_FILE = "link_prediction_test.json"


def section(title: str, started: float) -> None:
    print(f"\n=== {title}  [{time.time() - started:5.0f} s]", flush=True)


def complete_examples(
    model: Any,
    tokenizer: Any,
    rows: list[dict],
    candidates: list[str],
    num_beams: int = DEFAULT_NUM_BEAMS,
    top_k: int = 5,
) -> None:
    """Print the top objects of a few facts (`rows`) among `candidates`, decoded with
    constrained beam search of `num_beams` (K) beams, as the pipeline decodes them."""
    from modeling_prixlm.beam_search import predict_objects

    ranked = predict_objects(model, tokenizer, rows, candidates, num_beams=num_beams)
    for row, result in zip(rows, ranked, strict=True):
        print(
            f"\n[{row['subject_language']}] ({row['subject']}, {row['relation']}, ?)   gold: {row['object']}"
        )
        for label, loss in list(zip(result.labels, result.losses, strict=True))[:top_k]:
            mark = "*" if label == row["object"] else " "
            print(f"   {mark} {label:<40} -log p = {loss:6.2f}")


def complete_test_examples(
    model: Any,
    tokenizer: Any,
    dataset_dir: Path,
    languages: list[str],
    num_beams: int,
    started: float,
) -> None:
    """Step 5 (its heading names K): `complete_examples` on three facts of each language's
    test split, among the language's candidates (`dataset_candidates`: the labels of its
    triples and link ends, what the saved folder's `candidates.json` lists), with
    K = `num_beams` (`--num_beams`)."""
    from prixlm.data.loading import load_kb
    from prixlm.link_prediction.candidate_files import dataset_candidates

    section(
        "5/5 the saved folder (loaded through AutoModelForCausalLM) completes facts "
        f"(constrained beam search K={num_beams})",
        started,
    )
    candidates = dataset_candidates(dataset_dir, languages)
    for language in languages:
        test = load_kb(dataset_dir, language, split="test")
        examples = [test[i] for i in range(0, len(test), max(1, len(test) // 3))][:3]
        complete_examples(model, tokenizer, examples, candidates[language], num_beams)


def dataset_languages(locale_ids: list[str]) -> list[str]:
    """The dataset's language codes (its config names) of CLDR `locale_ids`, in the order
    given: the export names `zh_Hant`'s files, and the build its config, `zh-hant`."""
    from prixlm.data.cldr.dump_format import dbpedia_language

    return [dbpedia_language(locale_id) for locale_id in locale_ids]


def main(argv: list[str] | None = None) -> None:
    parser = command_parser("prixlm.demo", __doc__)
    parser.add_argument(
        "--output_dir", type=Path, default=Path("outputs/demo"), help="where every step writes"
    )
    parser.add_argument(
        "--languages", default=DEFAULT_LANGUAGES, help="CLDR locales, comma-separated"
    )
    parser.add_argument(
        "--max_steps",
        type=int,
        default=1000,
        help="training steps, at least 1 (1,000: under 10 minutes with one busy core)",
    )
    parser.add_argument(
        "--num_beams",
        type=int,
        default=DEFAULT_NUM_BEAMS,
        help="K of the beam search: the test-set link prediction and the completed examples",
    )
    parser.add_argument(
        "--test_queries", type=int, default=0, help="limit test queries per language (0: all)"
    )
    args = parser.parse_args(argv)
    for name, least in (("max_steps", 1), ("num_beams", 1), ("test_queries", 0)):
        if getattr(args, name) < least:  # found before the minutes of data and training
            parser.error(f"--{name} {getattr(args, name)}: at least {least}")
    with user_errors(ValueError):
        run_demo(args)


def run_demo(args: argparse.Namespace) -> None:
    """Every step of the demo (module docstring), printing as it goes.

    One demo at a time writes `--output_dir`: its one-writer lock is held from the start to
    the end (`OutputLockedError` naming the other demo's process, before anything is
    exported, built or removed); training takes its own lock on `run/` inside it.
    """
    from prixlm.outputs.atomic import writer_lock

    with writer_lock(args.output_dir, argument="--output_dir"):
        _run_steps(args)


def _run_steps(args: argparse.Namespace) -> None:
    """The five steps, under `run_demo`'s lock of `--output_dir`."""
    started = time.time()
    from prixlm.data.cldr.export import export_cldr_kb, resolve_locales

    locale_ids = resolve_locales(args.languages)  # an unknown one named before any work
    output = args.output_dir
    output.mkdir(parents=True, exist_ok=True)

    section(f"1/5 CLDR knowledge base for {', '.join(locale_ids)} (DBpedia dump format)", started)
    dumps = output / "cldr_dumps"
    stats = export_cldr_kb(locale_ids, dumps)
    for language, counts in sorted(stats.items()):
        print(f"  {language}: {counts}")
    languages = dataset_languages(locale_ids)  # what the later steps name them by

    section("2/5 Hub-format dataset (Parquet + dataset card)", started)
    from prixlm.data.dbpedia.build import build_dataset

    dataset_dir = output / "dataset"
    build_dataset(dumps, dataset_dir, languages, progress=False)
    print(
        f"  load_dataset({str(dataset_dir)!r}, {languages[0]!r}) works offline; "
        f"card: {dataset_dir / 'README.md'}"
    )

    section("3/5 tokenizer + small Prix-LM (All) trained with the Trainer", started)
    from prixlm.outputs.atomic import writer_lock
    from prixlm.training.arguments import demo_training_argv, parse_training_arguments
    from prixlm.training.pretrain import pretrain
    from prixlm.training.resume import remove_earlier_run

    run_dir = output / "run"
    for earlier in (SUMMARY_FILE, RESULTS_FILE):  # the earlier model's: first, so that no
        (output / earlier).unlink(missing_ok=True)  # stop leaves them without that model
    argv = demo_training_argv(dataset_dir, run_dir, ",".join(languages), args.max_steps)
    with writer_lock(run_dir, argument="--output_dir"):  # removed and trained by one writer
        remove_earlier_run(run_dir)  # each demo trains afresh (train.py refuses one beside it)
        release = pretrain(parse_training_arguments(argv))
    print(f"  checkpoint curve: {run_dir / 'lp_curve.png'} and {run_dir / 'lp_curve.csv'}")

    section(
        f"4/5 link prediction on the test split (filtered, constrained beam search K={args.num_beams})",
        started,
    )
    from prixlm.link_prediction.evaluation import (
        EvaluationSettings,
        evaluate_dataset,
        markdown_table,
    )
    from prixlm.model_loading import load_prixlm
    from prixlm.outputs.atomic import write_json
    from prixlm.release.report_checks import record_provenance, weights_digest

    digest = weights_digest(release)  # the weights evaluated, as evaluate_lp records them
    model, tokenizer = load_prixlm(release, "cpu")  # AutoModelForCausalLM, AutoTokenizer
    print(f"reloaded {type(model).__name__} from {release}")
    settings = EvaluationSettings(
        split="test", mode="beam", num_beams=args.num_beams, limit=args.test_queries or None
    )
    report = evaluate_dataset(model, tokenizer, str(release), str(dataset_dir), languages, settings)
    record_provenance(report, model, digest, str(dataset_dir))
    print(markdown_table(report["results"], "beam", args.num_beams))
    write_json(report, output / RESULTS_FILE)
    from prixlm.release.model_card import write_model_card

    write_model_card(  # the test results on the release folder's card (kept in the folder)
        release,
        evaluations=[report],
        languages=languages,
        model_name="prixlm-demo",
        curve=run_dir / "lp_curve.png",
    )

    complete_test_examples(model, tokenizer, dataset_dir, languages, args.num_beams, started)

    summary = {
        "languages": languages,
        "max_steps": args.max_steps,
        "seconds": round(time.time() - started, 1),
    }
    write_json(summary, output / SUMMARY_FILE)
    section(f"done: {output}", started)


if __name__ == "__main__":
    main()
