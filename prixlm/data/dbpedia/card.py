"""The dataset card (`README.md`): Hub YAML (configs, features, licence) and statistics."""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import DatasetCard, DatasetCardData

from prixlm.cli import UsageError
from prixlm.data.dbpedia.dataset_folder import BUILD_MARKER
from prixlm.data.dbpedia.drops import HOST_RULE_MARKDOWN, unlinked
from prixlm.data.dbpedia.dumps import KINDS, DumpIndex
from prixlm.data.dbpedia.output import ALL, FEATURE_YAML, config_digest, data_files
from prixlm.data.dbpedia.schema import SPLIT_DRAW, SplitSettings
from prixlm.data.dbpedia.splits import DatasetRows
from prixlm.hub.languages import hub_languages

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


def example_variables(
    languages: Sequence[str], configs: Sequence[dict[str, Any]] | None = None
) -> list[tuple[str, str, str]]:
    """`(language, Python name, splits)` for the card's usage snippet: `-` as `_`, and a name
    that is no identifier or a keyword (`is`, `or`, `as`: Icelandic, Odia, Assamese) ends
    `_kb`; the splits of the language's config as `configs` (the card's YAML `configs`) list
    them, `train / validation / test` where it is not listed (a conversion whose validation
    file is empty has none)."""
    listed = {
        config["config_name"]: " / ".join(files["split"] for files in config["data_files"])
        for config in configs or []
    }
    names = []
    for language in languages:
        name = language.replace("-", "_")
        if keyword.iskeyword(name) or not name.isidentifier():
            name = f"{name}_kb"
        names.append((language, name, listed.get(language, "train / validation / test")))
    return names


def source_info_files(
    dump_dir: str | Path | DumpIndex, languages: Sequence[str] | None = None
) -> list[Path]:
    """The exporters' `*_info.json` files that describe the dumps a build reads, sorted.

    They are looked for in `--dump_dir` itself and in every folder on the way from it to a
    dump file the build reads (the labels, object-facts and links files of `languages`,
    default every language found, and the Wikidata hub files): the dump scan reads
    subfolders, so an export copied into `dumps/cldr_kb/` keeps its description. An info
    file in a folder that holds none of those dumps describes other files and is not read.
    """
    index = dump_dir if isinstance(dump_dir, DumpIndex) else DumpIndex.scan(dump_dir)
    top = index.dump_dir
    chosen = None if languages is None else set(languages)
    read = [
        path
        for (kind, language), paths in index.files.items()
        if kind in KINDS and (chosen is None or language in chosen)
        for path in paths
    ]
    folders = {top}
    for path in [*read, *index.hub_files]:
        for folder in path.parents:
            if folder == top or top not in folder.parents:
                break
            folders.add(folder)
    return sorted(path for folder in folders for path in folder.glob(SOURCE_INFO_GLOB))


def _read_info(path: Path) -> dict[str, Any]:
    """One info file's JSON object (`UsageError` naming it, and the line, otherwise)."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}:{error.lineno}: not JSON ({error.msg})") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"{path}: not UTF-8 ({error.reason})") from None
    if not isinstance(info, dict):
        raise UsageError(f"{path}: expected a JSON object (the dumps' source description)")
    return info


def card_source(info: dict[str, Any]) -> dict[str, Any]:
    """What the card shows of a source description: its plain (not nested) values."""
    return {key: value for key, value in info.items() if not isinstance(value, dict | list)}


def read_source_info(
    dump_dir: str | Path | DumpIndex, languages: Sequence[str] | None = None
) -> dict[str, Any]:
    """The exporter's `*_info.json` of the dumps read (e.g. `cldr_kb_info.json`), or `{}`.

    Looked for by `source_info_files` (beside the dumps, in `--dump_dir` or the subfolders
    that hold them). Several files describe one source when the values the card shows
    (`card_source`: name, versions, licence, source; not per-locale lists such as
    `locales` or `statistics`) are the same, e.g. exports of different locales from one CLDR
    release: these values are returned. Otherwise the dumps mix sources, whose licences and
    names one card cannot state.

    Raises:
        UsageError: naming the file (and line) when it is not a JSON object; naming the
            files when several describe different sources.
    """
    found = source_info_files(dump_dir, languages)
    if not found:
        return {}
    infos = [_read_info(path) for path in found]
    if len(infos) == 1:
        return infos[0]
    shown = [card_source(info) for info in infos]
    if all(one == shown[0] for one in shown[1:]):
        return shown[0]
    keys = sorted({key for one in shown for key in one if one.get(key) != shown[0].get(key)})
    raise UsageError(
        f"several source descriptions for the dumps read, of different sources (they differ "
        f"in {', '.join(keys)}): {', '.join(map(str, found))}; the card states one source and "
        "licence: build each source's dumps on its own, or keep the one file that describes "
        "them all"
    )


SIZE_CATEGORIES = (  # the Hub's size buckets, by number of rows
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"),
    (100_000_000_000, "10B<n<100B"),
    (1_000_000_000_000, "100B<n<1T"),
)
#: The config `load_dataset(path)` gives without a config name: every language + links.
DEFAULT_CONFIG = ALL
#: The card's YAML key that records how the build drew its splits (`split_yaml`).
SPLIT_YAML = "prixlm_split"


def split_yaml(settings: SplitSettings) -> dict[str, Any]:
    """What the card's YAML (`SPLIT_YAML`) records of a build's split, for a program to read
    (`prixlm.data.split_record`): the draw rule (`schema.SPLIT_DRAW`), protocol, seed and
    fractions, as the "Splits" section states them in words."""
    return {
        "draw": SPLIT_DRAW,
        "protocol": settings.protocol,
        "seed": settings.seed,
        "test_fraction": settings.test_fraction,
        "validation_fraction": settings.validation_fraction,
    }


def size_category(num_rows: int) -> str:
    """The Hub's `size_categories` bucket of a dataset with `num_rows` rows."""
    for bound, name in SIZE_CATEGORIES:
        if num_rows < bound:
            return name
    return "n>1T"


def license_name(text: str) -> str:
    """The card's `license_name` for a source's licence `text`: its SPDX id in parentheses
    (`Unicode License v3 (Unicode-3.0)` -> `unicode-3.0`), else its words before any link
    as one slug (`CC BY-SA 3.0 https://...` -> `cc-by-sa-3.0`; it was the first word,
    `cc`)."""
    spdx = re.search(r"\(([A-Za-z0-9.+-]+)\)", text)
    if spdx:
        return spdx.group(1).lower()
    words = re.split(r"https?://\S+", text)[0]
    return re.sub(r"[^a-z0-9.+]+", "-", words.lower()).strip("-.") or "other"


def card_data(
    rows: DatasetRows,
    file_sizes: dict[str, tuple[int, int]],
    license_id: str,
    source: dict[str, Any],
    files: dict[str, dict[str, list[str]]] | None = None,
    digests: dict[str, str] | None = None,
    split: SplitSettings | None = None,
) -> DatasetCardData:
    """The card's metadata: licence, languages, task, size, source, configs and features.

    `file_sizes` maps each written Parquet file (relative path; several shards per split are
    fine) to `(rows, Arrow bytes)`; `files` is `{config: {split: [paths]}}`
    (default: `output.data_files(file_sizes)`). The `configs:` entry of `DEFAULT_CONFIG` is
    marked `default: true`, so `load_dataset(path)` works without a config name. `digests`
    (`output.file_digests`) puts each config's `config_digest` in its entry's `description`:
    `datasets` keys a local folder's cache on its card, not on its files, and served a
    folder rebuilt in place with other rows of the same sizes from the earlier build's cache.
    `split` (a build's drawn splits; not a conversion's, which keeps its source's) is recorded
    as `SPLIT_YAML` (`split_yaml`).
    """
    files = data_files(file_sizes) if files is None else files
    extra: dict[str, Any] = {}
    if license_id == "other" and source.get("license"):
        text = str(source["license"])
        extra["license_name"] = license_name(text)
        link = re.search(r"https?://\S+", text)
        if link:
            extra["license_link"] = link.group()
    if split is not None:
        extra[SPLIT_YAML] = split_yaml(split)
    unique_rows = sum(count for count, _ in file_sizes.values())  # `all` reuses these files
    return DatasetCardData(
        license=license_id,
        # ISO 639 codes, as the Hub asks; the configs and the body keep the edition codes
        language=hub_languages(rows.triples) or None,
        multilinguality="multilingual" if len(rows.triples) > 1 else "monolingual",
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
                **({"description": _described(splits, digests)} if digests else {}),
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


def _described(splits: dict[str, list[str]], digests: dict[str, str]) -> str:
    """A config's `description`: the sha256 of its files (`output.config_digest`)."""
    return f"Parquet files sha256 {config_digest(splits, digests)}"


@dataclass(frozen=True)
class BuildRecord:
    """What the card records of a build besides its split settings (`SplitSettings`).

    `link_languages`: the `--link_languages` kept (None: every link); `length_filter`: what
    measured the rows for `max_length` (the tokenizer's name or path; None: no filter);
    `ontology`: the `--ontology` file as given (None: names from the relation IRIs);
    `command`: the command line (`build_arguments.recorded_command`; None: built from Python).
    """

    link_languages: tuple[str, ...] | None = None
    length_filter: str | None = None
    ontology: str | None = None
    command: str | None = None


def statistics_table(rows: DatasetRows) -> str:
    """A Markdown table per language, like the paper's Table 1, with per-split counts; then
    the input read but not kept (`drops`), and where several languages were built and no
    link joins them, that each language's split was drawn on its own."""
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
    return "\n".join(lines) + "\n\n" + _dropped_input(rows)


def _dropped_input(rows: DatasetRows) -> str:
    """The statistics' lines under the table (a list, not a table: the table above is
    the one table of the section): per language, the input read but not kept."""
    lines = [
        "Read but not kept, per language: fact lines and links with an end that has no label "
        "in its\nlanguage, and `owl:sameAs` lines whose target's language is unknown "
        f"({HOST_RULE_MARKDOWN}).",
        "",
    ]
    for language, stats in rows.stats.items():
        lines.append(
            f"- {language}: fact lines (no label) {stats.unlabelled_facts:,}, links (no label) "
            f"{stats.unlabelled_links:,}, `owl:sameAs` lines (target of unknown language) "
            f"{stats.unknown_target_links:,}"
        )
    if unlinked(rows):
        lines += [
            "",
            "No link joins entities of these languages: each language's split was drawn on "
            "its own,\nso a test fact of one language may be a training fact of another.",
        ]
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
    build: BuildRecord | None = None,
    digests: dict[str, str] | None = None,
) -> str:
    """The whole `README.md` text for a built folder whose files have `file_sizes` (and
    `digests`, `card_data`'s).

    The metadata is `card_data`'s (rendered by `huggingface_hub`, so `DatasetCard.load`
    reads it back); the body is `template` (`dataset_builders/prixlm_dbpedia/dataset_card.md`)
    with the usage of the configs this build has, the statistics per language, the split
    protocol and the other settings that decide the data (`build`), the source, the command
    line and the citation. `path` is what the usage example loads (`prixlm.publish` puts the
    repo id in place of `PATH_OR_REPO`).
    """
    source = source or {}
    build = build or BuildRecord()
    licence_text = (
        source.get("license")
        or "DBpedia data: CC BY-SA 3.0 and GNU FDL (https://www.dbpedia.org/about/)"
    )
    if license_id is None:
        license_id = "other" if source.get("license") else DBPEDIA_LICENSE
    else:  # `--license`: the card's body says the same as its YAML
        licence_text = f"{license_id}, as given to the build (the source's: {licence_text})"
    data = card_data(rows, file_sizes, license_id, source, files, digests, rows.settings)
    languages = sorted(rows.triples)
    card = DatasetCard.from_template(
        data,
        template_path=str(template),
        build_marker=BUILD_MARKER,
        example_variables=example_variables(languages[:2], data.configs),
        path=path,
        has_links=any(stats.links for stats in rows.stats.values()),
        statistics_table=statistics_table(rows),
        num_links=sum(stats.links for stats in rows.stats.values()),
        settings=rows.settings,
        build=build,
        inverse_relations=rows.inverse_relations,
        source_lines=list(card_source(source).items()),
        licence_text=licence_text,
        citation=CITATION,
    )
    return str(card).rstrip("\n") + "\n"


__all__ = [
    "BuildRecord",
    "CITATION",
    "DEFAULT_CONFIG",
    "SPLIT_YAML",
    "TEMPLATE",
    "card_data",
    "license_name",
    "card_source",
    "dataset_card",
    "read_source_info",
    "size_category",
    "split_yaml",
    "source_info_files",
    "statistics_table",
]
