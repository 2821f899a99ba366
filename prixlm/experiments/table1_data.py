"""The data of the Table 1 and DBP-5L runners: the dataset (exported CLDR KB or given dumps,
built once under the work dir), its pivot-links copy, the shared tokenizer and the KB's
statistics per language."""

from __future__ import annotations

import json
from pathlib import Path


def prepare_data(
    work_dir: Path, languages: list[str], dump_dir: Path | None = None, pivot: str | None = None
) -> dict[str, Path]:
    """CLDR dumps (or the DBpedia-format dumps in `dump_dir`) -> Hub dataset `main` under
    `work_dir` (skipped when already built); with `pivot`, also `pivot`: a copy with the
    same splits whose links keep only those with one end in the pivot language (fewer link
    rows for All: a tuning knob; the builder's `--link_languages` keeps the splits only of
    entities whose links name an English IRI)."""
    from prixlm.data.cldr.export import export_cldr_kb
    from prixlm.data.dbpedia.build import build_dataset

    dumps = dump_dir or work_dir / "dumps"
    main = work_dir / "data"
    built = not (main / "README.md").is_file()
    if built:
        if dump_dir is None:
            export_cldr_kb(languages, dumps)
        build_dataset(dumps, main, languages, progress=False)
    datasets = {"main": main}
    if pivot:
        datasets["pivot"] = work_dir / f"data_links_{pivot}"
        # a copy of an earlier `main` (removed, then built again) is made again
        if built or not (datasets["pivot"] / "README.md").is_file():
            pivot_links_copy(main, datasets["pivot"], pivot)
        _check_same_splits(main, datasets["pivot"], languages)
    return datasets


def source_settings(dump_dir: Path | None) -> dict[str, str]:
    """What decides the dataset besides the languages, for the run settings
    (`run_settings.check_run_settings`): the SHA-256 of the dumps in `dump_dir` (their
    names and bytes: the same folder rewritten is another source), or for the embedded
    CLDR KB the Babel and CLDR versions it is exported from."""
    if dump_dir is not None:
        return {"dumps_sha256": folder_digest(dump_dir)}
    import babel

    from prixlm.data.cldr.cldr_facts import cldr_version

    return {"cldr": f"Babel {babel.__version__}, CLDR {cldr_version()}"}


def folder_digest(folder: Path) -> str:
    """SHA-256 over every file of `folder` (relative names and bytes; hidden ones aside)."""
    from prixlm.training.resume import files_digest

    return files_digest(folder, sorted(Path(folder).rglob("*")))


def input_digests(datasets: dict[str, Path], tokenizer: Path | None = None) -> dict[str, str]:
    """`{dataset key: its fingerprint}` and, with `tokenizer`, `{"tokenizer": its folder's
    digest}`: what the job plans carry (`data_sha256`, `tokenizer_sha256`), so that kept
    trainings, searches and rankings are not taken for another dataset's or tokenizer's."""
    from prixlm.training.resume import dataset_fingerprint

    digests = {key: dataset_fingerprint(path) for key, path in datasets.items()}
    if tokenizer is not None:
        digests["tokenizer"] = folder_digest(tokenizer)
    return digests


def pivot_links_copy(source: Path, destination: Path, pivot: str) -> None:
    """Copy the dataset `source`, keeping only the links with one end in `pivot`.

    The card's `dataset_info` (split sizes that `load_dataset` verifies) is dropped from the
    copy: sizes are then read from the Parquet files.
    """
    import shutil

    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    import yaml

    from prixlm.atomic_output import atomic_folder
    from prixlm.data.loading import local_data_files

    with atomic_folder(destination) as staging:
        shutil.copytree(source, staging, dirs_exist_ok=True)
        for shard in local_data_files(source, "links")["train"]:  # one file or several shards
            links = pq.read_table(shard)
            keep = pc.or_(
                pc.equal(links["subject_language"], pivot),
                pc.equal(links["object_language"], pivot),
            )
            pq.write_table(links.filter(keep), staging / Path(shard).relative_to(source.absolute()))
        _, header, body = (source / "README.md").read_text("utf-8").split("---\n", 2)
        card = yaml.safe_load(header)
        card.pop("dataset_info", None)
        text = "---\n" + yaml.safe_dump(card, allow_unicode=True, sort_keys=False) + "---\n"
        (staging / "README.md").write_text(text + body, "utf-8")


def _check_same_splits(first: Path, second: Path, languages: list[str]) -> None:
    """Both datasets must hold the same triples in every split (only their links differ)."""
    from prixlm.experiments.jobs import load_language

    for language in languages:
        if load_language(str(first), language) != load_language(str(second), language):
            raise ValueError(f"{first} and {second}: the {language} splits differ")


#: In a tokenizer folder `prepare_tokenizer` made with `data_sha256`: what it was trained from.
TOKENIZER_SOURCE = "prixlm_tokenizer_source.json"


def prepare_tokenizer(
    work_dir: Path,
    dataset_dir: Path,
    languages: list[str],
    vocab: int,
    data_sha256: str | None = None,
) -> Path:
    """One tokenizer trained on every language's names, shared by Single and All.

    With `data_sha256` (the dataset's fingerprint, `input_digests`), the folder keeps what
    it was trained from (that, the languages and `vocab`), and one trained from others (a
    dataset built again from other dumps, another vocabulary size) is trained again;
    without, a trained folder is used as it is. A full disk: an `OSError` naming the
    folder."""
    from prixlm.atomic_output import atomic_folder, disk_errors
    from prixlm.experiments.jobs import load_language
    from prixlm.training.tokenizer_training import train_tokenizer

    folder = work_dir / "tokenizer"
    source = {"data_sha256": data_sha256, "languages": list(languages), "vocab_size": vocab}
    trained = (folder / "tokenizer_config.json").is_file()
    if trained and data_sha256 is not None:
        kept = folder / TOKENIZER_SOURCE
        trained = kept.is_file() and json.loads(kept.read_text("utf-8")) == source
    if not trained:
        # the texts of `tokenizer_training_texts` (names of every split), read through
        # `load_dataset` (its `get_dataset_split_names` took 18 s on a two-row-group dataset)
        texts = [
            row[column]
            for language in languages
            for rows in load_language(str(dataset_dir), language).values()
            for row in rows
            for column in ("subject", "relation", "object")
        ]
        tokenizer = train_tokenizer(texts, vocab)
        named = "tokenizer folder"  # a full disk (tokenizers raise a bare Exception) names it
        with atomic_folder(folder, argument=named) as staging, disk_errors(folder, named):
            tokenizer.save_pretrained(staging)
            if data_sha256 is not None:
                (staging / TOKENIZER_SOURCE).write_text(json.dumps(source), "utf-8")
    return folder


def kb_statistics(
    dataset_dir: Path, languages: list[str], layout_dir: Path | None = None
) -> dict[str, dict[str, int]]:
    """Entities (the candidates: the dataset's own, `dataset_candidates`, its triples'
    labels and link ends as `evaluate_lp` and the release's `candidates.json` have them,
    with `layout_dir` also every entity of the KG's entity list) and triples per language,
    with the split sizes."""
    from prixlm.experiments.jobs import load_language
    from prixlm.link_prediction.candidate_files import dataset_candidates, layout_candidates

    listed = {} if layout_dir is None else layout_candidates(layout_dir)
    own = dataset_candidates(dataset_dir, languages)
    stats = {}
    for language in languages:
        splits = load_language(str(dataset_dir), language)
        sizes = {name: len(rows) for name, rows in splits.items()}
        labels = {*listed.get(language, ()), *own[language]}
        stats[language] = {
            "entities": len(labels),
            "triples": sum(sizes.values()),
            **sizes,
        }
    return stats


__all__ = [
    "TOKENIZER_SOURCE",
    "folder_digest",
    "input_digests",
    "kb_statistics",
    "pivot_links_copy",
    "prepare_data",
    "prepare_tokenizer",
    "source_settings",
]
