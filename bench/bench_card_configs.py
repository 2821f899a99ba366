"""Reading a dataset folder's card configs at every `load_kb` / `config_names`: the card's YAML
parsed at each read (before) vs once per card text (`prixlm.data.loading._card_configs`, ours).

Run::

    .venv/bin/python bench/bench_card_configs.py [--languages en,de,ja] [--reads 50] [--repeats 3]

The dataset is `make demo`'s: the CLDR knowledge base of `--languages` built into a Hub-format
folder (in a temporary folder). A demo reads its card ~50 times (training data, the
checkpoint evaluations' candidates, the test evaluation), a toy Table 1 run ~130 times.
`--reads` reads each way, `--repeats` times (best kept), alternating:

- **parse each read**: `DatasetCard.load(card)`'s `configs`, as `_card_configs` read them;
- **parse once per text**: `_card_configs` (the file read each time, its YAML parsed once).

Both must give the same configs (checked). The last line is the ratio of the seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _prixlm_bench import interleaved_times, print_best  # noqa: E402
from huggingface_hub import DatasetCard  # noqa: E402

from prixlm.data import loading  # noqa: E402


def build(languages: list[str], root: Path) -> Path:
    """`make demo`'s steps 1-2: the CLDR KB of `languages` as a dataset folder."""
    from prixlm.data.cldr.export import export_cldr_kb, resolve_locales
    from prixlm.data.dbpedia.build import build_dataset
    from prixlm.demo import dataset_languages

    locales = resolve_locales(",".join(languages))
    export_cldr_kb(locales, root / "dumps")
    build_dataset(root / "dumps", root / "dataset", dataset_languages(locales), progress=False)
    return root / "dataset"


def parse_each_read(folder: Path) -> dict:
    """The configs by name as `_card_configs` read them before: a parse per read."""
    configs = DatasetCard.load(folder / "README.md").data.to_dict().get("configs") or []
    return {entry.get("config_name"): entry for entry in configs if isinstance(entry, dict)}


def parse_once(folder: Path) -> dict:
    return loading._card_configs(folder, "--dataset")[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", default="en,de,ja")
    parser.add_argument("--reads", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = build(args.languages.split(","), Path(temporary))
        card = folder / "README.md"
        print(f"card: {card.stat().st_size:,} bytes, {len(parse_each_read(folder))} configs, "
              f"{args.reads} reads each way")  # fmt: skip
        paths = {"parse each read": parse_each_read, "parse once per text": parse_once}
        results: dict[str, Any] = {}

        def reading(name: str):
            def step() -> None:
                loading._parsed_configs.cache_clear()  # each repeat starts unparsed
                for _ in range(args.reads):
                    results[name] = paths[name](folder)

            return step

        times = interleaved_times({name: reading(name) for name in paths}, 0, args.repeats)
        best = {name: min(seconds) for name, seconds in times.items()}
    if results["parse each read"] != results["parse once per text"]:
        raise SystemExit("the two paths read different configs")
    print("same configs: yes")
    print_best(best, args.reads, "read", places=3)


if __name__ == "__main__":
    main()
