"""The dataset card (`README.md`): Hub YAML (configs, features, licence) and statistics."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from huggingface_hub import DatasetCard, DatasetCardData

from prixlm.data.dbpedia.output import ALL, BUILD_MARKER, FEATURE_YAML, data_files
from prixlm.data.dbpedia.splits import DatasetRows

CITATION = """@inproceedings{zhou-etal-2022-prix,
    title = "Prix-{LM}: Pretraining for Multilingual Knowledge Base Construction",
    author = "Zhou, Wenxuan and Liu, Fangyu and Vuli{\\'c}, Ivan and Collier, Nigel and Chen, Muhao",
    booktitle = "Proceedings of the 60th Annual Meeting of the Association for Computational Linguistics (Volume 1: Long Papers)",
    year = "2022",
    publisher = "Association for Computational Linguistics",
    pages = "5412--5424",
}"""
DBPEDIA_LICENSE = "cc-by-sa-3.0"
SOURCE_INFO_GLOB = "*_info.json"


def read_source_info(dump_dir: str | Path) -> dict[str, Any]:
    """The exporter's `*_info.json` beside the dumps (e.g. `cldr_kb_info.json`), or `{}`."""
    found = sorted(Path(dump_dir).glob(SOURCE_INFO_GLOB))
    return json.loads(found[0].read_text(encoding="utf-8")) if found else {}


SIZE_CATEGORIES = (  # the Hub's size buckets, by number of rows
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"),
)
#: The config `load_dataset(path)` gives without a config name: every language + links.
DEFAULT_CONFIG = ALL


def size_category(num_rows: int) -> str:
    """The Hub's `size_categories` bucket of a dataset with `num_rows` rows."""
    for bound, name in SIZE_CATEGORIES:
        if num_rows < bound:
            return name
    return "n>10B"


def card_data(
    rows: DatasetRows,
    file_sizes: dict[str, tuple[int, int]],
    license_id: str,
    source: dict[str, Any],
    files: dict[str, dict[str, list[str]]] | None = None,
) -> DatasetCardData:
    """The card's metadata: licence, languages, task, size, source, configs and features.

    `file_sizes` maps each written Parquet file (relative path; several shards per split are
    fine) to `(rows, Arrow bytes)`; `files` is `{config: {split: [paths]}}`
    (default: `output.data_files(file_sizes)`). The `configs:` entry of `DEFAULT_CONFIG` is
    marked `default: true`, so `load_dataset(path)` works without a config name.
    """
    files = data_files(file_sizes) if files is None else files
    extra: dict[str, Any] = {}
    if license_id == "other" and source.get("license"):
        text = str(source["license"])
        spdx = re.search(r"\(([A-Za-z0-9.+-]+)\)", text)
        extra["license_name"] = (spdx.group(1) if spdx else text.split()[0]).lower()
        link = re.search(r"https?://\S+", text)
        if link:
            extra["license_link"] = link.group()
    unique_rows = sum(count for count, _ in file_sizes.values())  # `all` reuses these files
    return DatasetCardData(
        license=license_id,
        language=sorted(rows.triples),
        multilinguality="multilingual",
        annotations_creators=["found"],
        language_creators=["found"],
        pretty_name="Prix-LM multilingual KB facts and links",
        task_categories=["text-generation", "graph-ml"],
        size_categories=[size_category(unique_rows)],
        source_datasets=[f"extended|{source.get('name', 'dbpedia')}"],
        tags=["knowledge-base", "link-prediction", "dbpedia", "prix-lm"],
        configs=[
            {
                "config_name": config,
                **({"default": True} if config == DEFAULT_CONFIG else {}),
                "data_files": [{"split": s, "path": paths} for s, paths in splits.items()],
            }
            for config, splits in files.items()
        ],
        dataset_info=[
            {
                "config_name": config,
                "features": [dict(feature) for feature in FEATURE_YAML],  # no YAML aliases
                "splits": [
                    {
                        "name": split,
                        "num_bytes": sum(file_sizes[path][1] for path in paths),
                        "num_examples": sum(file_sizes[path][0] for path in paths),
                    }
                    for split, paths in splits.items()
                ],
            }
            for config, splits in files.items()
        ],
        **extra,
    )


def statistics_table(rows: DatasetRows) -> str:
    """A Markdown table per language, like the paper's Table 1, with per-split counts."""
    lines = [
        "| language | entities | triples | train | validation | test | removed (inverse) "
        "| removed (length) | links | labelled entities |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for language, stats in rows.stats.items():
        lines.append(
            f"| {language} | {stats.entities:,} | {stats.triples:,} | {stats.splits['train']:,} "
            f"| {stats.splits['validation']:,} | {stats.splits['test']:,} "
            f"| {stats.removed_inverse:,} | {stats.removed_length:,} | {stats.links:,} "
            f"| {stats.labelled_entities:,} |"
        )
    return "\n".join(lines)


def dataset_card(
    rows: DatasetRows,
    file_sizes: dict[str, tuple[int, int]],
    *,
    license_id: str | None = None,
    source: dict[str, Any] | None = None,
    files: dict[str, dict[str, list[str]]] | None = None,
) -> str:
    """The whole `README.md` text for a built folder whose files have `file_sizes`.

    The metadata is `card_data`'s (rendered by `huggingface_hub`, so `DatasetCard.load`
    reads it back); the body holds the usage, the statistics per language, the split
    protocol, the source and the citation.
    """
    source = source or {}
    if license_id is None:
        license_id = "other" if source.get("license") else DBPEDIA_LICENSE
    data = card_data(rows, file_sizes, license_id, source, files)
    settings = rows.settings
    inverse = "\n".join(
        f"- `{r1}` <- {', '.join(f'`{r2}`' for r2 in r2s)}"
        for r1, r2s in rows.inverse_relations.items()
    )
    source_lines = "\n".join(
        f"- {key}: {value}" for key, value in source.items() if not isinstance(value, dict | list)
    )
    licence_text = source.get("license") or (
        "DBpedia data: CC BY-SA 3.0 and GNU FDL (https://www.dbpedia.org/about/)"
    )
    body = f"""{BUILD_MARKER}

Monolingual triples and cross-lingual links built as in Prix-LM (Zhou et al., ACL 2022,
§3): per language, a fact (s, p, o) whose subject and object both have a label in that
language becomes the text triple (label(s), name(p), label(o)); a link pairs one entity's
labels in two languages and is used in both directions.

```python
from datasets import load_dataset
everything = load_dataset("PATH_OR_REPO")         # the default config, `all`
german = load_dataset("PATH_OR_REPO", "de")       # train / validation / test triples
links = load_dataset("PATH_OR_REPO", "links")     # train links
# `all`: every language's train triples + links; validation/test: the union of the languages'
```

Columns: `kind` (`triple` or `link`), `subject`, `relation` (`""` for links), `object`,
`subject_language`, `object_language`, `subject_id`, `relation_id`, `object_id` (source
IRIs), `all_objects` (every true object of the row's query in its language over all
splits, for the filtered setting).

## Statistics

{statistics_table(rows)}

Links (both directions): {sum(stats.links for stats in rows.stats.values()):,}.

## Splits

- protocol: `{settings.protocol}` (`fact`: a fact is held out in every language at once;
  `language`: the paper's independent 10% per language);
- test fraction {settings.test_fraction}, validation fraction {settings.validation_fraction},
  hash seed {settings.seed}; links are train only;
- inverse-relation filter (after Akrami et al., 2020): `r2` is an inverse of `r1` when at
  least {settings.inverse_threshold} of `r1`'s training (s, o) pairs appear as (o, s) under
  `r2`; validation/test triples (s, r1, o) with (o, r2, s) in training are removed.
  Inverse pairs found (`r1` <- its inverses):
{inverse or "- none"}
- length filter: rows of {settings.max_length} tokens or more are dropped when a tokenizer
  was given (see the `removed (length)` column).

## Source and licence

{source_lines or "- DBpedia dumps"}

Licence: {licence_text}.

Built with `python -m prixlm.data.dbpedia.build`.

## Citation

```bibtex
{CITATION}
```
"""
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body}"))


__all__ = [
    "CITATION",
    "DEFAULT_CONFIG",
    "card_data",
    "dataset_card",
    "read_source_info",
    "size_category",
    "statistics_table",
]
