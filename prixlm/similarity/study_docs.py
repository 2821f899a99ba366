"""`docs/similarity.md` and `docs/similarity_curve.png` from `results/similarity.json`.

python -m prixlm.similarity.study_docs results/similarity.json
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from prixlm.outputs.atomic import atomic_file, updating

MODEL_NAMES = {
    "kb": "Prix-LM (KB)",
    "kb+mirror": "Prix-LM (KB) + Mirror",
    "plain": "plain-text MLM",
    "plain+mirror": "plain-text MLM + Mirror",
}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def xel_section(models: dict[str, Any], subset: str) -> list[str]:
    """Accuracy / MRR per language of one XEL subset (`all` or `unseen`)."""
    present = {n: m["xel"][subset] for n, m in models.items() if subset in m["xel"]}
    if not present:
        return []
    languages = sorted({lang for r in present.values() for lang in r["per_language"]})
    rows = []
    for name, result in present.items():
        cells = [
            f"{_pct(result['per_language'][lang]['accuracy'])} / "
            f"{_pct(result['per_language'][lang]['mrr'])}"
            if lang in result["per_language"]
            else "–"
            for lang in languages
        ]
        average = result["average"]
        rows.append(
            [MODEL_NAMES[name], *cells, f"{_pct(average['accuracy'])} / {_pct(average['mrr'])}"]
        )
    first = next(iter(present.values()))["per_language"]  # every model ranks the same queries
    counts = [f"{first[lang]['num_queries']:,}" if lang in first else "–" for lang in languages]
    rows.append(["queries", *counts, "(per-language mean)"])
    return _table(["model", *languages, "average"], rows)


def in_pair_order(pairs: Iterable[str], settings: dict[str, Any]) -> list[str]:
    """BLI `pairs` in the run's `bli_pairs` order, any others after them, whatever the
    JSON's key order (earlier runs wrote it with sorted keys, and its page came out in
    another order than the run's own)."""
    order = [p.strip() for p in str(settings.get("bli_pairs", "")).split(",") if p.strip()]
    pairs = list(pairs)
    return [p for p in order if p in pairs] + [p for p in pairs if p not in order]


def bli_section(models: dict[str, Any], pairs: Sequence[str]) -> list[str]:
    """Accuracy / MRR per pair of `pairs` and their average, a row per model."""
    rows = []
    for name, model in models.items():
        bli = model["bli"]
        rows.append(
            [MODEL_NAMES[name]]
            + [f"{_pct(bli[p]['accuracy'])} / {_pct(bli[p]['mrr'])}" for p in pairs]
            + [f"{_pct(bli['average']['accuracy'])} / {_pct(bli['average']['mrr'])}"]
        )
    return _table(["model", *pairs, "average"], rows)


def probing_section(models: dict[str, Any]) -> list[str]:
    """Single-token accuracy (the paper's protocol) per language; multi-token beside it."""
    present = {n: m["probing"] for n, m in models.items() if m.get("probing")}
    if not present:
        return ["Knowledge probing did not run: `prixlm.similarity.probing.evaluate_probing` "
                "was not available when this run was made."]  # fmt: skip
    languages = sorted(
        {lang for r in present.values() for lang in r["single_token"]["per_language"]}
    )
    rows = []
    for name, result in present.items():
        single = result["single_token"]
        multi = result.get("multi_token") or {}
        cells = [
            _pct((single["per_language"].get(lang) or {}).get("accuracy"))
            + (
                f" ({_pct(multi['per_language'][lang]['accuracy'])})"
                if lang in multi.get("per_language", {})
                else ""
            )
            for lang in languages
        ]
        average = _pct(single.get("average"))
        if multi.get("average") is not None:
            average += f" ({_pct(multi['average'])})"
        rows.append([MODEL_NAMES[name], *cells, average])
    return _table(["model", *languages, "average"], rows)


def plot_curve(curve: list[dict[str, Any]], path: Path) -> None:
    """Accuracy of XEL, BLI, probing (Mirror-tuned checkpoints) and LP hits@1 against steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9.5, 4))
    steps = [point["step"] for point in curve]
    for key, label in (
        ("xel_accuracy", "XEL accuracy (+Mirror)"),
        ("bli_accuracy", "BLI accuracy (+Mirror)"),
        ("probing_accuracy", "probing accuracy (single token)"),
        ("probing_multi_token_accuracy", "probing accuracy (multi-token)"),
        ("lp_hits_at_1", "link prediction hits@1 (validation sample)"),
    ):
        values = [point.get(key) for point in curve]
        if any(v is not None for v in values):
            axis.plot(
                steps, [float("nan") if v is None else v for v in values], marker="o", label=label
            )
    axis.set_xlabel("training step of the KB model")
    axis.set_ylabel("accuracy / hits@1 (0 to 1)")
    axis.set_title("Prix-LM checkpoints (paper Fig. 2, embedded CLDR KB)")
    # beside the axes, not over them: inside, "best" put it over points near 0
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    figure.tight_layout()
    with atomic_file(path, "--chart") as staging:
        figure.savefig(staging, format="png", dpi=110)
    plt.close(figure)


def verdict(models: dict[str, Any]) -> list[str]:
    """One line per task: does the KB model beat the plain-text baseline (averages)?"""

    def line(task: str, kb: float | None, plain: float | None, setting: str) -> str:
        if kb is None or plain is None:
            return f"- {task}: not measured."
        word = "beats" if kb > plain else ("ties with" if kb == plain else "does not beat")
        return (
            f"- {task} ({setting}): the KB model {word} the plain-text baseline, "
            f"{_pct(kb)} vs {_pct(plain)} average accuracy."
        )

    lines = []
    for task, key in (("XEL", "xel"), ("BLI", "bli")):
        for suffix, setting in (("+mirror", "with Mirror tuning"), ("", "without Mirror")):
            kb, plain = models[f"kb{suffix}"][key], models[f"plain{suffix}"][key]
            if key == "xel":
                kb, plain = kb["all"], plain["all"]
            lines.append(
                line(task, kb["average"]["accuracy"], plain["average"]["accuracy"], setting)
            )
    probing = [
        (models[name].get("probing") or {}).get("single_token") or {} for name in ("kb", "plain")
    ]
    lines.append(line("Probing", probing[0].get("average"), probing[1].get("average"),
                      "single-token protocol"))  # fmt: skip
    return lines


def _wall_time_line(results: dict[str, Any]) -> str:
    """Wall times: this process's stages, plus the KB training when an earlier one made it."""
    training = results.get("kb_train_runtime_seconds") or 0.0
    reused = "kb model" not in results["wall_seconds"]
    total = results["total_seconds"] + (training if reused else 0.0)
    stages = ", ".join(f"{k} {v:.0f}" for k, v in results["wall_seconds"].items())
    threads = results.get("torch_num_threads")  # absent from a run before it was recorded
    torch_threads = f", {threads} torch thread{'s' if threads != 1 else ''}" if threads else ""
    line = f"Wall time {total / 60:.1f} min on the 2-core machine{torch_threads}"
    if reused:
        line += (
            f": the KB model's training, {training / 60:.1f} min (Trainer runtime, link "
            "prediction at each checkpoint included), was made by an earlier, interrupted "
            f"process of the same command and reused; this process took "
            f"{results['total_seconds'] / 60:.1f} min"
        )
    return line + f". Stages of this process (s): {stages}."


def render(results: dict[str, Any], chart_name: str) -> str:
    """The markdown page."""
    models, settings = results["models"], results["settings"]
    dictionaries = results["dictionaries"]
    found = [p for p in next(iter(models.values()))["bli"] if p != "average"]
    lines = [
        "# Similarity tasks: XEL, BLI and knowledge probing (paper §3.3–3.5, Tables 2–5, Fig. 2)",
        "",
        "Generated by `make similarity` (`python -m prixlm.similarity.study`) from "
        "`results/similarity.json`; do not edit by hand.",
        "",
        f"Embedded default: the CLDR KB of {settings['languages']}; the KB model is the demo's "
        f'recipe (small Prix-LM from scratch, "All", {settings["max_steps"]} steps of 64 facts, '
        f"seed {settings['seed']}); the plain-text baseline is a masked LM of the same "
        f"architecture and tokenizer trained on the same {settings['plain_texts']} labels for "
        "the same steps, batch and learning rate, without fact structure. Mirror: Mirror-BERT "
        f"tuning on the {settings['mirror_words']} most frequent words of the KB's English "
        f"labels (temperature {settings['mirror']['temperature']}, learning rate "
        f"{settings['mirror']['learning_rate']}, {settings['mirror']['num_train_epochs']} epochs, "
        f"batch {settings['mirror']['batch_size']}). Embeddings: {settings['pooling']}-token "
        "pooling. Cells: accuracy / MRR in %.",
        "",
        "## Does KB training help? (averages over languages / pairs)",
        "",
        *verdict(models),
        "",
        "## Cross-lingual entity linking (label in L → English entity, all English labels)",
        "",
        "All queries (links of the KB languages were training facts of the KB model):",
        "",
        *xel_section(models, "all"),
        "",
        "Unseen queries only (languages the KB model never trained on, and links it did "
        "not train on: too long for its fact length limit):",
        "",
        *xel_section(models, "unseen"),
        "",
        "## Bilingual lexicon induction (Procrustes, CSLS k = 10)",
        "",
        "Each language's words are normalised as VecMap does (unit length, mean-centred, unit "
        "length), then mapped by orthogonal Procrustes on the train pairs (Glavaš et al.'s "
        "PROC); VecMap's supervised mode also whitens, re-weights and de-whitens, which is not "
        "done here. Candidates are the test dictionary's target words only, and CSLS's hubness "
        "term is over its source words only; VecMap's evaluation searches the whole target "
        "vocabulary, a harder search, so these scores are not comparable with numbers from it.",
        "",
        *bli_section(models, in_pair_order(found, settings)),
        "",
        "Dictionaries (CLDR months, weekdays, quarters, day periods, eras, units, variant and "
        "measurement-system names, and names of languages/territories/scripts/currencies "
        "outside the KB; no word is a KB label): "
        + ", ".join(
            f"{pair} {dictionaries[pair]['train']}/{dictionaries[pair]['test']} (overlap with "
            f"KB links {100 * dictionaries[pair]['link_overlap']:.3f}%)"
            for pair in in_pair_order(dictionaries, settings)
        )
        + " (train/test pairs; CLDR has fewer than the usual 5k/2k).",
        "",
        "## Knowledge probing (CLDR probes in mLAMA's layout, test split)",
        "",
        "Accuracy in % of the paper's protocol (single-token answers, the top word at the "
        "answer position); in parentheses, beyond the paper, every answer scored exactly as a "
        "multi-token candidate (Prix-LM only). Probed before Mirror tuning, as in the paper. "
        "Prix-LM is asked causally: the template is split at the answer into its subject and "
        "relation segments and the answer is read after `[O]` (the masked LM: at the mask). "
        "Both models are scored on the same probes, those Prix-LM can be asked (text before "
        "and after the answer; every CLDR template has).",
        "",
        *probing_section(models),
        "",
        "## Checkpoints (Fig. 2)",
        "",
        f"![checkpoint curve]({chart_name})",
        "",
        *_table(
            [
                "step",
                "XEL acc (+Mirror)",
                "BLI acc (+Mirror)",
                "probing acc, single token (multi-token)",
                "LP hits@1",
            ],
            [
                [
                    str(p["step"]),
                    _pct(p["xel_accuracy"]),
                    _pct(p["bli_accuracy"]),
                    f"{_pct(p.get('probing_accuracy'))} ({_pct(p.get('probing_multi_token_accuracy'))})",
                    _pct(p.get("lp_hits_at_1")),
                ]
                for p in results["curve"]
            ],
        ),  # fmt: skip
        "",
        "## Run",
        "",
        _wall_time_line(results),
        "",
        "```",
        results["commands"]["runner"],
        results["commands"]["kb_model"],
        "```",
        "",
    ]
    return "\n".join(lines)


def write_docs(results: dict[str, Any], docs: Path, chart: Path) -> None:
    """Write the chart and the page (the chart linked relative to the page's folder), one
    writer of the page at a time (`updating`; inside `published_together`, until the set is
    published: two studies finishing at once left one's page beside the other's chart)."""
    import os

    with updating(docs, "--docs"):
        plot_curve(results["curve"], chart)
        link = os.path.relpath(chart.absolute(), docs.absolute().parent)
        with atomic_file(docs, "--docs") as staging:
            staging.write_text(render(results, link), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m prixlm.similarity.study_docs [RESULTS]` (default results/similarity.json):
    rewrite docs/similarity.md and its chart; a missing or unreadable RESULTS is one line."""
    from prixlm.cli import UsageError, command_parser, read_json, user_errors

    parser = command_parser(
        "prixlm.similarity.study_docs",
        "Rewrite docs/similarity.md and docs/similarity_curve.png from a study's results.",
    )
    parser.add_argument(
        "results",
        nargs="?",
        type=Path,
        default=Path("results/similarity.json"),
        metavar="RESULTS",
        help="the JSON `make similarity` wrote",
    )
    source = parser.parse_args(argv).results
    with user_errors():
        results = read_json(source, "RESULTS")
        if not isinstance(results, dict) or "curve" not in results:
            raise UsageError(f"{source}: not a similarity study results file (no 'curve')")
        write_docs(results, Path("docs/similarity.md"), Path("docs/similarity_curve.png"))


if __name__ == "__main__":
    main()
