"""Tokenising training facts: row by row (before) vs batched, in one and in two processes.

Run::

    .venv/bin/python bench/bench_tokenize.py [--repeats 2] [--copies 2] [--num_proc 2]

Rows: the embedded CLDR KB in the paper's nine languages, as the dataset holds them (the
triples of every locale, and links between each locale and English in both directions),
repeated `--copies` times; the tokenizer: the embedded default (`_prixlm_bench.fact_tokenizer`,
a fast Unigram tokenizer with the Prix-LM tokens). Cases, each timed `--repeats` times
(best kept) in this order on the same in-memory `datasets.Dataset`:

- **per row**: `prixlm.training.data.tokenize_rows` as it was before batching (one
  `datasets.map` call per row through `encode_row`, then a `filter` pass for the length);
- **batched**: `tokenize_rows(rows, tokenizer, 30)` (1,000 rows per tokenizer call);
- **batched, `--num_proc` processes**: the same with `num_proc`.

All three must give the same rows (checked). The last line is the ratio batched/per row in
facts per second (and the multi-process one). `TOKENIZERS_PARALLELISM` is left as it is
(the batch call of a fast tokenizer may use several threads; forked workers use one).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import datasets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _prixlm_bench import fact_tokenizer  # noqa: E402

from modeling_prixlm.formatting import MAX_FACT_LENGTH, encode_row  # noqa: E402
from prixlm.data.cldr.dump_format import dbpedia_language  # noqa: E402
from prixlm.data.cldr.export import PAPER_LOCALES, build_locale_kb  # noqa: E402
from prixlm.training.data import tokenize_rows  # noqa: E402

COLUMNS = ("kind", "subject", "relation", "object", "subject_language", "object_language")


def kb_rows(copies: int) -> datasets.Dataset:
    """The CLDR KB's triples and English-pivot links (both directions), `copies` times."""
    kbs = {locale: build_locale_kb(locale) for locale in PAPER_LOCALES}
    rows: dict[str, list[str]] = {name: [] for name in COLUMNS}

    def add(kind: str, subject: str, relation: str, obj: str, s_lang: str, o_lang: str) -> None:
        for name, value in zip(
            COLUMNS, (kind, subject, relation, obj, s_lang, o_lang), strict=True
        ):
            rows[name].append(value)

    english = kbs["en"]
    for locale, kb in kbs.items():
        language = dbpedia_language(locale)
        for fact in kb.facts:
            add(
                "triple",
                kb.labels[fact.subject],
                fact.relation,
                kb.labels[fact.object],
                language,
                language,
            )
        if locale == "en":
            continue
        for entity, label in kb.labels.items():
            if entity in english.labels:
                add("link", label, "", english.labels[entity], language, "en")
                add("link", english.labels[entity], "", label, "en", language)
    table = datasets.Dataset.from_dict(rows)
    return datasets.concatenate_datasets([table] * copies) if copies > 1 else table


def per_row_tokenize(
    rows: datasets.Dataset, tokenizer: Any, max_length: int | None
) -> datasets.Dataset:
    """`tokenize_rows` before batching (commit 9349082): a map call per row, then a filter."""

    def encode(row: dict[str, Any]) -> dict[str, Any]:
        fact = encode_row(tokenizer, row)
        return {"input_ids": fact.input_ids, "labels": fact.labels, "length": len(fact)}

    encoded = rows.map(encode, remove_columns=rows.column_names)
    if max_length:
        encoded = encoded.filter(lambda row: row["length"] < max_length)
    return encoded


def best_time(function: Any, repeats: int) -> tuple[float, datasets.Dataset]:
    """The shortest wall time of `repeats` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--copies", type=int, default=2, help="times the KB's rows are repeated")
    parser.add_argument("--num_proc", type=int, default=2)
    args = parser.parse_args(argv)
    datasets.disable_progress_bars()
    rows = kb_rows(args.copies)
    texts = [
        (s, r, o) for s, r, o in zip(rows["subject"], rows["relation"], rows["object"], strict=True)
    ]
    tokenizer = fact_tokenizer([t for t in texts if t[1]])
    print(
        f"machine: {os.cpu_count()} CPU cores visible, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; datasets {datasets.__version__}; "
        f"TOKENIZERS_PARALLELISM={os.environ.get('TOKENIZERS_PARALLELISM', '(unset)')}"
    )
    kinds = rows["kind"]
    print(f"rows: {len(rows):,} ({kinds.count('triple'):,} triples, {kinds.count('link'):,} links), "
          f"tokenizer {type(tokenizer).__name__} of {len(tokenizer):,} entries")  # fmt: skip
    cases = {
        "per row (before)": lambda: per_row_tokenize(rows, tokenizer, MAX_FACT_LENGTH),
        "batched, 1 process": lambda: tokenize_rows(rows, tokenizer, MAX_FACT_LENGTH),
        f"batched, {args.num_proc} processes": lambda: tokenize_rows(
            rows, tokenizer, MAX_FACT_LENGTH, num_proc=args.num_proc
        ),
    }
    rates, outputs = {}, {}
    print("| case | best s | facts/s | kept |")
    print("|---|---:|---:|---:|")
    for name, case in cases.items():
        seconds, encoded = best_time(case, args.repeats)
        rates[name] = len(rows) / seconds
        outputs[name] = encoded
        print(f"| {name} | {seconds:.2f} | {rates[name]:,.0f} | {len(encoded):,} |", flush=True)
    reference = outputs["per row (before)"].to_list()
    for name, encoded in outputs.items():
        if encoded.to_list() != reference:
            print(f"ERROR: {name} differs from the per-row encoding")
            return 1
    print("same rows and ids in every case")
    names = list(rates)
    print(
        f"facts/s batched / per row: {rates[names[1]] / rates[names[0]]:.2f}x (1 process), "
        f"{rates[names[2]] / rates[names[0]]:.2f}x ({args.num_proc} processes)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
