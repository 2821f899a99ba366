"""XEL's seen links (`prixlm.similarity.xel_cldr.training_links` with a run record): each link
row encoded on its own (before) vs its names tokenised in one call (`BatchTokenized`, ours).

Run::

    .venv/bin/python bench/bench_xel_seen_links.py [--languages en,de,ja] [--repeats 3]

The links are those of `make demo`'s dataset: the CLDR knowledge base of `--languages` built
into a Hub-format folder (in a temporary folder); the tokenizer is the embedded default
trained on the names (`_prixlm_bench.fact_tokenizer`). Each way decides, for every link row,
whether train.py kept it (shorter than 30 tokens as `encode_row` encodes it):

- **row by row**: `encode_row(tokenizer, row)`, two tokenizer calls and two fact-token
  lookups a row;
- **one call**: `encode_row(BatchTokenized(tokenizer, names), row, ids)`, as `training_links` does.

Both must keep the same rows (checked). The last line is the ratio of the seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _prixlm_bench import fact_tokenizer, interleaved_times, print_best  # noqa: E402
from bench_card_configs import build  # noqa: E402

from modeling_prixlm.formatting import encode_row, special_token_ids, within_length  # noqa: E402
from prixlm.data.loading import load_kb  # noqa: E402
from prixlm.training.data import BatchTokenized  # noqa: E402


def row_by_row(tokenizer: Any, rows: list[dict]) -> list[bool]:
    return [within_length(encode_row(tokenizer, row)) for row in rows]


def one_call(tokenizer: Any, rows: list[dict]) -> list[bool]:
    fast = BatchTokenized(tokenizer, [row[c] for row in rows for c in ("subject", "object")])
    ids = special_token_ids(tokenizer)
    return [within_length(encode_row(fast, row, ids)) for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", default="en,de,ja")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = build(args.languages.split(","), Path(temporary))
        rows = load_kb(folder, "links", split="train").to_list()
        names = [row[c] for row in rows for c in ("subject", "object")]
        tokenizer = fact_tokenizer([(name, "", "") for name in names], locales=())
        from modeling_prixlm.formatting import add_prixlm_tokens

        add_prixlm_tokens(tokenizer, sorted({row["subject_language"] for row in rows}))
        print(f"links: {len(rows):,} rows of {args.languages}")
        paths = {"row by row": row_by_row, "one call": one_call}
        kept: dict[str, list[bool]] = {}

        def step(name: str):
            def run() -> None:
                kept[name] = paths[name](tokenizer, rows)

            return run

        times = interleaved_times({name: step(name) for name in paths}, 0, args.repeats)
    if kept["row by row"] != kept["one call"]:
        raise SystemExit("the two ways keep different rows")
    print(f"same rows kept: yes ({sum(kept['one call']):,} of {len(rows):,})")
    print_best({name: min(seconds) for name, seconds in times.items()}, len(rows), "row", 4)


if __name__ == "__main__":
    main()
