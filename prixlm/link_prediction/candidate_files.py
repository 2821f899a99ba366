"""Candidate lists `{language: [label, ...]}`: a dataset's own, or given (`evaluate_lp
--candidates`): a JSON file, or a KG folder in the KEnS / SS-AGA layout (DBP-5L), whose
`entity/<lang>.tsv` lists every entity.

A dataset's own candidates of a language (`dataset_candidates`) are every label of that
language in its triples (subjects and objects, every split) or at an end of a link (the
`links` config): what the release's `candidates.json` stores (the pipeline, the Inference
Endpoints handler and the Space rank them), what `evaluate_lp` ranks a language's triples
and link rows among (in the language's config, in `links` and in `all` alike), what
training's checkpoint link prediction ranks, and the labels `prixlm.complete` ranks (by
IRI, `prixlm.completion.knowledge.target_labels`, when it reads every split of the target).
An entity named by links only (no fact in the language) is a candidate, as is one with facts
but no link. Filtering (`all_objects`) does not depend on the candidates.

The DBP-5L papers rank every entity of a KG's entity list, also those no triple names; this
makes `prixlm` rank the same candidates, in entity-id order (for the `index` ties of the
`kens` protocol).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from prixlm.cli import UsageError
from prixlm.data.columns import column, columns
from prixlm.data.dbpedia.schema import LINK, LINKS, TRIPLE
from prixlm.data.kg_layout.read import ENTITY_DIR, entity_label, read_iris

KINDS = (TRIPLE, LINK)
_LABEL_COLUMNS = ("subject", "subject_language", "object", "object_language")


def row_kind(kind: str | None, subject_language: str, object_language: str) -> str:
    """A row's kind: its `kind` value, else `triple` where both names share a language."""
    return kind or (TRIPLE if subject_language == object_language else LINK)


def labels_by_kind(splits: Mapping[str, Any]) -> dict[tuple[str, str], set[str]]:
    """`{(kind, language): labels}`: the subject and object labels in each language of each
    kind's rows (`row_kind`) over all `splits`, each split's columns read once.

    `splits`: `{split: columns}` with a `Dataset` or a dict of lists as columns (a
    `DatasetDict`), or `{split: [row dicts]}`.
    """
    labels: dict[tuple[str, str], set[str]] = {}
    for split in splits.values():
        values = columns(split, _LABEL_COLUMNS)
        kinds = column(split, "kind", None)
        for subject, first, object_, second, kind in zip(*values, kinds, strict=False):
            kind = row_kind(kind, first, second)
            labels.setdefault((kind, first), set()).add(subject)
            labels.setdefault((kind, second), set()).add(object_)
    return labels


def kind_labels(
    labels: Mapping[tuple[str, str], set[str]], language: str, kinds: Sequence[str]
) -> list[str]:
    """Sorted labels in `language` of the `kinds` rows, from `labels_by_kind`'s sets;
    ValueError for an unknown kind."""
    _check_kinds(kinds)
    return sorted(set().union(*(labels.get((kind, language), ()) for kind in kinds)))


def candidate_labels(
    splits: Mapping[str, Any], language: str, kinds: Sequence[str] = KINDS
) -> list[str]:
    """Sorted labels of every subject and object in `language` of the `kinds` rows (default:
    every row, triples and links; a row without a `kind` column: see `row_kind`), over all
    `splits` (as `labels_by_kind` takes them). Of one config's splits; a dataset's
    candidates, its language configs and links together: `dataset_candidates`. Raises
    ValueError for an unknown kind.
    """
    _check_kinds(kinds)  # before any read
    return kind_labels(labels_by_kind(splits), language, kinds)


def dataset_candidates(dataset: str | Path, languages: Iterable[str]) -> dict[str, list[str]]:
    """`{language: sorted labels}` of each of `languages` (in that order) in `dataset` (a
    build folder or Hub id): every label of the language in its config's triples (subjects
    and objects, every split) or at an end of a row of the `links` config, as the module
    docstring says (a dataset without a `links` config: its triples only; a language without
    a config: its link ends only). Each config is read once.

    Raises:
        TypeError: `languages` is a string (`"en"` for `["en"]`: it would be read as the
            languages `e` and `n`).
        DatasetInputError: a language is neither a config of `dataset` nor an end of a link
            (codes are matched as the dataset spells them: `en`, not `EN`).
    """
    if isinstance(languages, (str, bytes)):
        raise TypeError(
            f"languages is a string ({languages!r}): expected a list of language codes, "
            f"e.g. [{languages!r}]"
        )
    found = DatasetCandidates(dataset)
    return {language: found[language] for language in languages}


class DatasetCandidates(dict[str, list[str]]):
    """`dataset_candidates` of every language of `dataset`, each one read when first asked
    for (`found[language]`), the `links` config once."""

    def __init__(self, dataset: str | Path) -> None:
        super().__init__()
        self.dataset = dataset
        self._links: dict[tuple[str, str], set[str]] | None = None

    def __missing__(self, language: str) -> list[str]:
        from prixlm.data.loading import has_config, load_kb

        if self._links is None:
            found = has_config(self.dataset, LINKS)
            self._links = labels_by_kind(load_kb(self.dataset, LINKS)) if found else {}
        own: dict[tuple[str, str], set[str]] = {}
        if has_config(self.dataset, language):
            own = labels_by_kind(load_kb(self.dataset, language))
        elif not any(end == language for _, end in self._links):
            self._unknown(language)
        labels = {*kind_labels(own, language, KINDS), *kind_labels(self._links, language, KINDS)}
        self[language] = sorted(labels)
        return self[language]

    def _unknown(self, language: str) -> NoReturn:
        """DatasetInputError for a language with neither a config nor a link end, naming
        the languages the links do name (and the dataset's spelling of `language`)."""
        from modeling_prixlm.formatting import language_key
        from prixlm.data.load_errors import DatasetInputError
        from prixlm.data.loading import has_config

        ends = sorted({end for _, end in self._links})
        key = language_key(language)
        known = key != language and (key in ends or has_config(self.dataset, key))
        hint = f"; the dataset spells it {key!r}" if known else ""
        raise DatasetInputError(
            f"language {language!r}: {self.dataset} has no config {language!r} and no link "
            f"with an end in {language!r} (link languages: {ends or 'none'}){hint}"
        )


def _check_kinds(kinds: Sequence[str]) -> None:
    """ValueError unless every one of `kinds` is in `KINDS`."""
    if set(kinds) - set(KINDS):
        raise ValueError(f"kinds {list(kinds)}: expected some of {list(KINDS)}")


def layout_candidates(root: str | Path) -> dict[str, list[str]]:
    """`{language: labels}` of every `entity/<lang>.tsv` under `root`: each entity's label
    (`prixlm.data.kg_layout`'s rule, as the dataset's rows name it) in id order, a label
    listed again (an IRI at two ids, two IRIs with one label) kept at its first id, an empty
    label left out.

    Raises:
        UsageError: `root` has no `entity/*.tsv`; `LayoutError` names a malformed line.
    """
    files = sorted((Path(root) / ENTITY_DIR).glob("*.tsv"))
    if not files:
        raise UsageError(f"--candidates {root}: no {ENTITY_DIR}/<lang>.tsv in this folder")
    candidates = {}
    for path in files:
        labels = (entity_label(iri) for iri in read_iris(path))
        candidates[path.stem] = list(dict.fromkeys(label for label in labels if label))
    return candidates


def read_candidates(path: str, argument: str = "--candidates") -> dict[str, list[str]]:
    """`{language: [label, ...]}` from `path`: a KG layout folder (`layout_candidates`) or a
    JSON object of lists.

    Raises:
        UsageError: naming `argument` and the file (and the line for malformed JSON) when it
            cannot be read, is not JSON, or is not an object of lists of distinct strings.
    """
    if Path(path).is_dir():
        return layout_candidates(path)
    where = f"{argument} {path}"
    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle)
    except json.JSONDecodeError as error:
        raise UsageError(f"{where}:{error.lineno}: not JSON ({error.msg})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{where}: cannot be read ({error})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{where}: expected an object {{language: [labels]}}")
    for language, labels in value.items():
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise UsageError(f"{where}: {language!r} is not a list of strings")
        if len(set(labels)) != len(labels):
            raise UsageError(f"{where}: {language!r} repeats a label")
        try:  # JSON's "\ud800" reads as a lone surrogate: no text, no tokenizer takes it
            "".join(labels).encode("utf-8")
        except UnicodeEncodeError:
            label = next(x for x in labels if not _is_text(x))
            raise UsageError(
                f"{where}: {language!r} lists {label!r}, which holds a lone surrogate (no "
                "text): remove it"
            ) from None
    return value


def _is_text(label: str) -> bool:
    """Whether `label` holds no lone surrogate (it encodes as UTF-8)."""
    try:
        label.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_languages(
    candidates: dict[str, list[str]] | Any,
    languages: Iterable[str],
    where: str = "--candidates",
    rows: Any = None,
) -> None:
    """UsageError unless `candidates` has a list for every one of `languages` (a language
    left out would be ranked among other candidates than asked: the dataset's labels), and
    that list is not empty; given the `rows` to rank (a `Dataset` or row dicts with `object`
    and `object_language`), also unless each row's gold object is a candidate
    (`check_gold_objects`). `where` names the argument and file in the message."""
    languages = sorted(set(languages))
    missing = [language for language in languages if language not in candidates]
    if missing:
        raise UsageError(
            f"{where}: no candidates for {', '.join(map(repr, missing))} "
            f"(it lists {', '.join(map(repr, sorted(candidates))) or 'none'})"
        )
    empty = [language for language in languages if not candidates[language]]
    if empty:
        raise UsageError(f"{where}: the list of {', '.join(map(repr, empty))} is empty")
    if rows is not None:
        check_gold_objects(candidates, rows, where)


def check_gold_objects(candidates: dict[str, list[str]] | Any, rows: Any, where: str) -> None:
    """UsageError unless every row's `object` is among the candidates of its
    `object_language` (each row is ranked among them: a gold left out could never be
    found), naming the language, how many rows lack theirs and the first one.

    `rows`: a `Dataset` (or a dict of columns) or row dicts, with `object` and
    `object_language`; a language without candidates is `check_languages`' to report.
    """
    objects, languages = columns(rows, ("object", "object_language"))
    labels = {language: set(candidates.get(language) or ()) for language in set(languages)}
    lacking: dict[str, list[int]] = {}
    for index, (gold, language) in enumerate(zip(objects, languages, strict=True)):
        if labels[language] and gold not in labels[language]:
            lacking.setdefault(language, []).append(index)
    if lacking:
        language = min(lacking)
        indices = lacking[language]
        total = languages.count(language)
        first = indices[0]
        raise UsageError(
            f"{where}: the list of {language!r} lacks the gold object of {len(indices)} of "
            f"its {total} rows (first: row {first}, {objects[first]!r}); every gold object "
            "must be a candidate"
        )


def candidates_source(path: str | None) -> dict[str, str | None]:
    """The report's record of the candidates ranked: `{"candidates": None,
    "candidates_sha256": None}` for the dataset's own labels (no `--candidates`), else the
    absolute path of the file or KG folder and the sha256 of what was read from it (a JSON
    file's bytes; a folder's `entity/*.tsv` files, names and bytes), so that a report over
    other candidates is never taken for the ordinary one."""
    if path is None:
        return {"candidates": None, "candidates_sha256": None}
    from prixlm.training.resume import files_digest

    resolved = Path(path).resolve()
    if resolved.is_dir():
        digest = files_digest(resolved, sorted((resolved / ENTITY_DIR).glob("*.tsv")))
    else:
        digest = hashlib.sha256(resolved.read_bytes()).hexdigest()
    return {"candidates": str(resolved), "candidates_sha256": digest}


def candidates_record(candidates: Mapping[str, Sequence[str]] | None) -> dict[str, str | None]:
    """A report's `candidates` and `candidates_sha256`: None for the dataset's own labels,
    else `"given"` and the sha256 of the candidates as sorted JSON (`evaluate_lp` records
    its `--candidates` file instead)."""
    if candidates is None:
        return {"candidates": None, "candidates_sha256": None}
    text = json.dumps({k: sorted(v) for k, v in candidates.items()}, sort_keys=True)
    return {"candidates": "given", "candidates_sha256": hashlib.sha256(text.encode()).hexdigest()}


__all__ = [
    "KINDS",
    "DatasetCandidates",
    "candidate_labels",
    "candidates_record",
    "candidates_source",
    "check_gold_objects",
    "check_languages",
    "dataset_candidates",
    "kind_labels",
    "labels_by_kind",
    "layout_candidates",
    "read_candidates",
    "row_kind",
]
