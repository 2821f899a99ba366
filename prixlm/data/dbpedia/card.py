"""The dataset card (`README.md`): Hub YAML (configs, features, licence) and statistics."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from prixlm.data.dbpedia.output import BUILD_MARKER, FEATURES, data_files
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


def _yaml_header(
    rows: DatasetRows,
    file_sizes: dict[str, tuple[int, int]],
    license_id: str,
    source: dict[str, Any],
) -> dict[str, Any]:
    files = data_files(file_sizes)
    header: dict[str, Any] = {"license": license_id}
    if license_id == "other" and source.get("license"):
        text = str(source["license"])
        spdx = re.search(r"\(([A-Za-z0-9.+-]+)\)", text)
        header["license_name"] = (spdx.group(1) if spdx else text.split()[0]).lower()
        link = re.search(r"https?://\S+", text)
        if link:
            header["license_link"] = link.group()
    header.update(
        language=sorted(rows.triples),
        multilinguality="multilingual",
        pretty_name="Prix-LM multilingual KB facts and links",
        tags=["knowledge-base", "link-prediction", "dbpedia", "prix-lm"],
        configs=[
            {
                "config_name": config,
                "data_files": [{"split": s, "path": paths} for s, paths in splits.items()],
            }
            for config, splits in files.items()
        ],
        dataset_info=[
            {
                "config_name": config,
                "features": FEATURES._to_yaml_list(),
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
    )
    return header


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
) -> str:
    """The whole `README.md` text for a built folder whose files have `file_sizes`."""
    source = source or {}
    if license_id is None:
        license_id = "other" if source.get("license") else DBPEDIA_LICENSE
    header = yaml.safe_dump(
        _yaml_header(rows, file_sizes, license_id, source),
        sort_keys=False,
        allow_unicode=True,
        width=1000,
    )
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
    return f"""---
{header}---

{BUILD_MARKER}

Monolingual triples and cross-lingual links built as in Prix-LM (Zhou et al., ACL 2022,
§3): per language, a fact (s, p, o) whose subject and object both have a label in that
language becomes the text triple (label(s), name(p), label(o)); a link pairs one entity's
labels in two languages and is used in both directions.

```python
from datasets import load_dataset
german = load_dataset("PATH_OR_REPO", "de")       # train / validation / test triples
links = load_dataset("PATH_OR_REPO", "links")     # train links
everything = load_dataset("PATH_OR_REPO", "all")  # all train triples + links; union of tests
```

Columns: `kind` (`triple` or `link`), `subject`, `relation` (`""` for links), `object`,
`subject_language`, `object_language`, `subject_id`, `relation_id`, `object_id` (source
IRIs), `all_objects` (every true object of the row's query in its language over all
splits, for the filtered setting).

## Statistics

{statistics_table(rows)}

Links (both directions): {len(rows.links):,}.

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


__all__ = ["CITATION", "dataset_card", "read_source_info", "statistics_table"]
