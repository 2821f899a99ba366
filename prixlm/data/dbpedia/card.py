"""The dataset card (`README.md`): Hub YAML (configs, features, licence) and statistics."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from huggingface_hub import DatasetCard, DatasetCardData

from prixlm.cli import UsageError
from prixlm.data.dbpedia.dataset_folder import BUILD_MARKER
from prixlm.data.dbpedia.output import ALL, FEATURE_YAML, data_files
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
#: The card template; the file beside this module links to the dataset folder's template
#: (`dataset_builders/prixlm_dbpedia/dataset_card.md`) and ships as package data.
TEMPLATE = Path(__file__).with_name("dataset_card.md")


def read_source_info(dump_dir: str | Path) -> dict[str, Any]:
    """The exporter's `*_info.json` beside the dumps (e.g. `cldr_kb_info.json`), or `{}`.

    Raises:
        UsageError: naming the file (and line) when it is not a JSON object.
    """
    found = sorted(Path(dump_dir).glob(SOURCE_INFO_GLOB))
    if not found:
        return {}
    try:
        info = json.loads(found[0].read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise UsageError(f"{found[0]}:{error.lineno}: not JSON ({error.msg})") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"{found[0]}: not UTF-8 ({error.reason})") from None
    if not isinstance(info, dict):
        raise UsageError(f"{found[0]}: expected a JSON object (the dumps' source description)")
    return info


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
    template: str | Path = TEMPLATE,
    path: str = "PATH_OR_REPO",
) -> str:
    """The whole `README.md` text for a built folder whose files have `file_sizes`.

    The metadata is `card_data`'s (rendered by `huggingface_hub`, so `DatasetCard.load`
    reads it back); the body is `template` (`dataset_builders/prixlm_dbpedia/dataset_card.md`)
    with the usage of the configs this build has, the statistics per language, the split
    protocol, the source and the citation. `path` is what the usage example loads
    (`prixlm.publish` puts the repo id in place of `PATH_OR_REPO`).
    """
    source = source or {}
    if license_id is None:
        license_id = "other" if source.get("license") else DBPEDIA_LICENSE
    data = card_data(rows, file_sizes, license_id, source, files)
    languages = sorted(rows.triples)
    card = DatasetCard.from_template(
        data,
        template_path=str(template),
        build_marker=BUILD_MARKER,
        example_languages=languages[:2],
        path=path,
        has_links=any(stats.links for stats in rows.stats.values()),
        statistics_table=statistics_table(rows),
        num_links=sum(stats.links for stats in rows.stats.values()),
        settings=rows.settings,
        inverse_relations=rows.inverse_relations,
        source_lines=[
            (key, value) for key, value in source.items() if not isinstance(value, dict | list)
        ],
        licence_text=source.get("license")
        or "DBpedia data: CC BY-SA 3.0 and GNU FDL (https://www.dbpedia.org/about/)",
        citation=CITATION,
    )
    return str(card).rstrip("\n") + "\n"


__all__ = [
    "CITATION",
    "DEFAULT_CONFIG",
    "TEMPLATE",
    "card_data",
    "dataset_card",
    "read_source_info",
    "size_category",
    "statistics_table",
]
