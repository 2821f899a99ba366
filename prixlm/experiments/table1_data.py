"""The data of the Table 1 and DBP-5L runners: the dataset (exported CLDR KB or given dumps,
built once under the work dir), its pivot-links copy, the shared tokenizer and the KB's
statistics per language, and the candidate sets its jobs rank (`job_candidates`) with their
digests, which the job plans and kept progress carry (`candidates_digest`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any


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


def job_candidates(
    languages: Iterable[str], candidates_file: str | None, dataset_dir: str | None = None
) -> dict[str, list[str]]:
    """`{language: labels}` ranked for each of `languages` (a `{language: ...}` mapping: its
    keys): the dataset's own candidates of `dataset_dir` (`dataset_candidates`: the labels
    of the language's triples and link ends, what `evaluate_lp` and the release's
    `candidates.json` rank), or the list `candidates_file` gives for it (`evaluate_lp
    --candidates`' JSON: e.g. every entity of a KG's entity list, in entity order), which
    must list every one of them (UsageError). ValueError when neither is given."""
    from prixlm.link_prediction.candidate_files import (
        check_languages,
        dataset_candidates,
        read_candidates,
    )

    languages = list(languages)
    if not candidates_file:
        if dataset_dir is None:
            raise ValueError("job_candidates: give dataset_dir or candidates_file")
        return dataset_candidates(dataset_dir, languages)
    given = read_candidates(candidates_file, "candidates_file")
    check_languages(given, languages, f"candidates_file {candidates_file}")
    return {language: list(given[language]) for language in languages}


def candidates_digest(candidates: Mapping[str, Sequence[str]]) -> str:
    """SHA-256 of a candidate set `{language: labels}` (languages sorted, labels in their
    order: the order breaks ties under some protocols)."""
    text = json.dumps({language: list(labels) for language, labels in sorted(candidates.items())},
                      ensure_ascii=False)  # fmt: skip
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: `{(dataset folder, its data_sha256): DatasetCandidates}`: a run compares every record's
#: plan after each job, and one read of a nine-language dataset's labels takes seconds.
_READ: dict[tuple[str, str], Any] = {}


def plan_candidates_digest(kwargs: Mapping[str, Any]) -> str | None:
    """`candidates_digest` of the set a Table 1 job (`kge_job`, `prixlm_job`) with these
    arguments ranks: `job_candidates` of its `languages`, `candidates_file` and
    `dataset_dir` (read once per dataset and `data_sha256`). None for arguments without
    `dataset_dir` and `languages`, or with a `layout_dir`: DBP-5L's jobs rank the KG's entity
    list, fixed by the run settings' digest of the layout folder (`dbp5l.layout_digest`)."""
    if "layout_dir" in kwargs or "dataset_dir" not in kwargs or "languages" not in kwargs:
        return None
    languages = list(kwargs["languages"])
    if kwargs.get("candidates_file"):
        return candidates_digest(job_candidates(languages, kwargs["candidates_file"]))
    from prixlm.link_prediction.candidate_files import DatasetCandidates

    key = (str(kwargs["dataset_dir"]), str(kwargs.get("data_sha256")))
    found = _READ.get(key) if kwargs.get("data_sha256") else None
    if found is None:
        found = DatasetCandidates(key[0])
        if kwargs.get("data_sha256"):
            if len(_READ) >= 8:
                _READ.clear()
            _READ[key] = found
    return candidates_digest({language: found[language] for language in languages})


def ranked_entities(
    kb: Mapping[str, Mapping[str, int]], records: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, int]]:
    """`kb` (`kb_statistics`) with each language's `entities` the number of candidates its
    job records ranked (their `candidates`: `{language: count}`), so that the row states
    what the numbers beside it were ranked among; a language no record counts keeps the
    count read from the dataset. ValueError naming the records (`jobs/<name>.json` of the
    work folder) when they ranked different numbers of candidates for one language."""
    counts: dict[str, dict[int, list[str]]] = {}
    for name, record in sorted(records.items()):
        for language, count in (record.get("candidates") or {}).items():
            counts.setdefault(language, {}).setdefault(int(count), []).append(f"jobs/{name}.json")
    table = {language: dict(stats) for language, stats in kb.items()}
    for language, by_count in counts.items():
        if len(by_count) > 1:
            named = "; ".join(f"{count} in {', '.join(names)}" for count, names in by_count.items())
            raise ValueError(
                f"the job records rank {language} among different numbers of candidates "
                f"({named}): the table states one count per language"
            )
        if language in table:
            table[language]["entities"] = next(iter(by_count))
    return table


def pivot_links_copy(source: Path, destination: Path, pivot: str) -> None:
    """Copy the dataset `source`, keeping only the links with one end in `pivot`.

    The card's `dataset_info` (split sizes that `load_dataset` verifies) is dropped from the
    copy: sizes are then read from the Parquet files.
    """
    import shutil

    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    import yaml

    from prixlm.data.loading import local_data_files
    from prixlm.outputs.atomic import atomic_folder

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
    """One tokenizer trained on every language's names, shared by Single and All: the texts
    of `tokenizer_training_texts` (train.py's own), so every label the languages' candidates
    hold (`dataset_candidates`: link ends too) is written without `<unk>`.

    With `data_sha256` (the dataset's fingerprint, `input_digests`), the folder keeps what
    it was trained from (that, the languages, `vocab` and the texts' rule,
    `TOKENIZER_TEXTS_RULE`), and one trained from others (a dataset built again from other
    dumps, another vocabulary size, texts chosen by an earlier rule) is trained again;
    without, a trained folder is used as it is. A full disk: an `OSError` naming the
    folder."""
    from prixlm.outputs.atomic import atomic_folder, disk_errors
    from prixlm.training.data import TOKENIZER_TEXTS_RULE, tokenizer_training_texts
    from prixlm.training.tokenizer_training import train_tokenizer

    folder = work_dir / "tokenizer"
    source = {"data_sha256": data_sha256, "languages": list(languages), "vocab_size": vocab,
              "texts": TOKENIZER_TEXTS_RULE}  # fmt: skip
    trained = (folder / "tokenizer_config.json").is_file()
    if trained and data_sha256 is not None:
        kept = folder / TOKENIZER_SOURCE
        trained = kept.is_file() and json.loads(kept.read_text("utf-8")) == source
    if not trained:
        texts = tokenizer_training_texts(dataset_dir, list(languages))
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
    with the split sizes. The table states the counts its job records ranked, where they
    hold them (`ranked_entities`)."""
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
    "candidates_digest",
    "folder_digest",
    "input_digests",
    "job_candidates",
    "kb_statistics",
    "pivot_links_copy",
    "plan_candidates_digest",
    "prepare_data",
    "prepare_tokenizer",
    "ranked_entities",
    "source_settings",
]
