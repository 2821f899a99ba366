"""Read a knowledge graph in the KEnS / SS-AGA layout (DBP-5L and others) into id tables.

The layout (the files of one folder)::

    entity/<lang>.tsv              one entity IRI per line; its line number (from 0) is its id
    kg/<lang>-train.tsv            `head<TAB>relation<TAB>tail` ids, one fact per line
    kg/<lang>-val.tsv              (and -test.tsv): the benchmark's own splits
    relations.txt                  one relation IRI per line; the line number is its id,
                                   shared by every language's KG
    seed_alignlinks/<a>-<b>.tsv    `id_in_a<TAB>id_in_b`: the same entity in KGs a and b

Ids may be written as integral floats (`3072.0`, as the published alignment files are).
A line that does not fit (a wrong number of fields, an id that is not a whole number or
is out of range, an empty IRI, bytes that are not UTF-8) raises `LayoutError` naming
`file:line`; nothing is skipped, so every id keeps the meaning the files give it.

Language codes (the `<lang>` of `kg/<lang>-train.tsv` or `--languages`) follow the DBpedia
build's rule (`dumps.normalize_language`: letters and digits, parts joined by `-` or `_`);
`all` and `links` (the dataset's own configs) and two codes that name the same language
(`EN` and `en`) are refused, before anything is written.

Labels come from the IRIs (`entity_label`): the local name after `/resource/` (else after
the last `/` or `#`), percent-decoded as UTF-8, `_` as a space, composed (NFC, as the model
reads every name), then cleaned as the DBpedia build cleans a label
(`arrow_values.clean_label`: zero-width and control characters dropped, each run of white
space, `__` or an escaped tab or newline, one space); a relation's name
(`relation_name`) is the DBpedia build's: `prixlm.data.relation_names.relation_words` of the
IRI's form with its non-ASCII percent-escapes decoded (`prixlm.data.ntriples.canonical_iri`):
`officialLanguage` -> `official language`, `nacionalidadeDoCidad%C3%A3o` -> `nacionalidade
do cidadão`. Percent-escapes that are not UTF-8 in a local name raise `UnicodeDecodeError`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from prixlm.cli import UsageError
from prixlm.data.dbpedia.arrow_values import clean_label
from prixlm.data.dbpedia.dumps import normalize_language
from prixlm.data.dbpedia.schema import ALL, LINKS
from prixlm.data.ntriples import canonical_iri
from prixlm.data.relation_names import relation_words
from prixlm.text_lines import utf8_lines

#: The layout's split files and the dataset's split names.
SPLIT_FILES = {"train": "train", "validation": "val", "test": "test"}
RELATIONS_FILE = "relations.txt"
ENTITY_DIR, KG_DIR, ALIGN_DIR = "entity", "kg", "seed_alignlinks"
_WHOLE = re.compile(r"\d+(?:\.0*)?")
_SPACE = re.compile(r"\s")


def alignment_pair(name: str, languages: Iterable[str]) -> tuple[str, str] | None:
    """`(a, b)` of an alignment file `<a>-<b>.tsv` whose two languages are both among
    `languages` (codes may hold a hyphen: `en-zh-hant.tsv`), else None."""
    if not name.endswith(".tsv"):
        return None
    stem, known = name.removesuffix(".tsv"), set(languages)
    cuts = [i for i, character in enumerate(stem) if character == "-"]
    pairs = [(stem[:i], stem[i + 1 :]) for i in cuts]
    found = [pair for pair in pairs if pair[0] in known and pair[1] in known]
    return found[0] if len(found) == 1 else None


class LayoutError(UsageError):
    """A file of the layout is missing or a line is malformed; the message names `file:line`."""


def entity_label(iri: str) -> str:
    """An entity's label from its IRI: the local name, percent-decoded, `_` as a space.

    The local name is what follows `/resource/` (DBpedia: `AC/DC` keeps its slash), else
    what follows the last `/` or `#`. The label is cleaned as the DBpedia build cleans one
    (`arrow_values.clean_label`: zero-width and control characters dropped, each run of white
    space one space, none at the ends), composed (NFC), so that `A__B` or `A%09B` is `A B`,
    `A%7FB` is `AB` and `Que%CC%81bec` is `Québec`, the name the model reads (its tokenizer
    splits at white space) and a query can hold. Undecodable percent-escapes raise
    `UnicodeDecodeError`.

    >>> entity_label("http://ja.dbpedia.org/resource/%E6%9D%B1%E4%BA%AC")
    '東京'
    """
    _, marker, local = iri.partition("/resource/")
    if not marker:
        local = re.split(r"[/#]", iri)[-1]
    decoded = unquote(local, errors="strict").replace("_", " ")
    # composed (NFC), as the model reads every name: `Qu%C3%A9bec` and `Que%CC%81bec` are
    # one label, so their facts share one filter list (the format keys entities by label)
    return clean_label(unicodedata.normalize("NFC", decoded))


def relation_name(iri: str) -> str:
    """A relation's name from its IRI, the DBpedia build's rule: `relation_words` of the IRI
    with its percent-escapes of non-ASCII UTF-8 decoded (`canonical_iri`, as the build reads
    every IRI). Escapes in the local name that are not UTF-8 raise `UnicodeDecodeError`, as
    they do for an entity (`entity_label`).

    >>> relation_name("http://zh.dbpedia.org/property/%E5%A7%8A%E5%A6%B9%E5%9F%8E%E5%B8%82")
    '姊妹城市'
    """
    unquote(re.split(r"[/#]", iri.rstrip("/#"))[-1], errors="strict")  # the name's part
    return relation_words(canonical_iri(iri))


def parse_id(text: str, size: int, where: str, what: str) -> int:
    """The id `text` (`12` or an integral float `12.0`), which must be below `size`."""
    if text.isascii() and text.isdigit():  # the common case, at a fifth of the cost
        value = int(text)
    elif _WHOLE.fullmatch(text.strip()):
        value = int(float(text))
    else:
        raise LayoutError(f"{where}: {what} {text!r} is not a whole number")
    if value >= size:
        raise LayoutError(f"{where}: {what} {value} out of range (the file lists {size})")
    return value


def read_iris(
    path: Path, on_bytes: Callable[[int], None] | None = None, what: str | None = None
) -> list[str]:
    """The IRIs of an entity or relation file, one a line; an empty one is a `LayoutError`,
    and so is a file without any where `what` (the IRIs it lists) is given: its triples' ids
    would be "out of range (the file lists 0)", naming the triples' file."""
    iris = []
    for number, line in utf8_lines(path, LayoutError, on_bytes):
        iri = line.strip()
        if not iri or _SPACE.search(iri):
            raise LayoutError(f"{path}:{number}: expected one IRI, got {line!r}")
        iris.append(iri)
    if what and not iris:
        raise LayoutError(f"{path}: empty file: no {what} (one IRI a line)")
    return iris


def read_id_rows(
    path: Path,
    sizes: Sequence[int],
    names: Sequence[str],
    on_bytes: Callable[[int], None] | None = None,
) -> list[tuple[int, ...]]:
    """The id tuples of a tab-separated file: `len(sizes)` ids a line, field `i` below
    `sizes[i]` (`names[i]` in errors)."""
    rows = []
    for number, line in utf8_lines(path, LayoutError, on_bytes):
        where = f"{path}:{number}"
        fields = line.split("\t")
        if len(fields) != len(sizes):
            raise LayoutError(
                f"{where}: expected {len(sizes)} tab-separated ids "
                f"({', '.join(names)}), got {line!r}"
            )
        rows.append(
            tuple(
                parse_id(f, n, where, name) for f, n, name in zip(fields, sizes, names, strict=True)
            )
        )
    return rows


@dataclass
class LayoutFiles:
    """The files of one layout folder for the languages to convert."""

    root: Path
    languages: list[str]
    entities: dict[str, Path]
    splits: dict[str, dict[str, Path]]  # language -> dataset split -> kg file
    relations: Path
    alignments: dict[tuple[str, str], Path]  # (a, b) -> seed_alignlinks/a-b.tsv
    skipped_alignments: list[Path] = field(default_factory=list)  # a language not converted

    def all_files(self) -> list[Path]:
        """Every file read, in reading order."""
        return [
            self.relations,
            *self.entities.values(),
            *(path for splits in self.splits.values() for path in splits.values()),
            *self.alignments.values(),
        ]


def check_languages(codes: Sequence[str], where: Callable[[str], str]) -> None:
    """Refuse a language code that is not one by the DBpedia build's rule
    (`dumps.normalize_language`), `all` or `links` (the dataset's own configs), and two codes
    that name the same language (`EN`, `en`). `where(code)` names the code's source in the
    `LayoutError`.
    """
    seen: dict[str, str] = {}
    for code in codes:
        try:
            normal = normalize_language(code)
        except ValueError:
            normal = ""
        if not normal or code != code.strip():
            raise LayoutError(
                f"{where(code)}: {code!r} is not a language code "
                "(letters and digits, parts joined by '-' or '_')"
            )
        if normal in (ALL, LINKS):
            raise LayoutError(
                f"{where(code)}: language {code!r} is taken by the dataset's {normal!r} config"
            )
        if normal in seen:
            raise LayoutError(
                f"{where(code)}: languages {seen[normal]!r} and {code!r} name the same language"
            )
        seen[normal] = code


def find_layout(root: str | Path, languages: Sequence[str] | None = None) -> LayoutFiles:
    """The layout's files under `root` for `languages` (default: every language with a
    `kg/<lang>-train.tsv`). A language needs `entity/<lang>.tsv` and its three kg files;
    alignment files between two converted languages are read, others are listed in
    `skipped_alignments`.

    Raises:
        LayoutError: `root` or a needed file is missing (named), no language is found, a
            language code is refused (`check_languages`).
    """
    root = Path(root)
    if not root.is_dir():
        raise LayoutError(f"--input_dir {root}: no such folder")
    relations = root / RELATIONS_FILE
    _not_a_folder(relations, f"--input_dir {root}")
    if not relations.is_file():
        raise LayoutError(f"--input_dir {root}: no {RELATIONS_FILE} (relation IRIs, one a line)")
    found = sorted(p.name.removesuffix("-train.tsv") for p in (root / KG_DIR).glob("*-train.tsv"))
    chosen = list(dict.fromkeys(languages)) if languages else found  # each once
    if not chosen:
        raise LayoutError(f"--input_dir {root}: no {KG_DIR}/<lang>-train.tsv file")
    if languages:
        check_languages(chosen, lambda code: f"--languages {code}")
    else:
        check_languages(chosen, lambda code: str(root / KG_DIR / f"{code}-train.tsv"))
    entities, splits = {}, {}
    for language in chosen:
        entities[language] = root / ENTITY_DIR / f"{language}.tsv"
        splits[language] = {
            split: root / KG_DIR / f"{language}-{name}.tsv" for split, name in SPLIT_FILES.items()
        }
        for path in (entities[language], *splits[language].values()):
            _not_a_folder(path, f"--languages {language}")
            if not path.is_file():
                raise LayoutError(
                    f"--languages {language}: no {path} (languages with a KG here: "
                    f"{', '.join(found) or 'none'})"
                )
    alignments, skipped = {}, []
    for path in sorted((root / ALIGN_DIR).glob("*.tsv")):
        pair = alignment_pair(path.name, entities)
        if pair is not None:
            alignments[pair] = path
        else:
            skipped.append(path)
    return LayoutFiles(root, chosen, entities, splits, relations, alignments, skipped)


def _not_a_folder(path: Path, where: str) -> None:
    """`LayoutError` where the file `path` is a folder ("no <path>" said it was missing)."""
    if path.is_dir():
        raise LayoutError(f"{where}: {path} is a folder, not a file")


__all__ = [
    "ALIGN_DIR",
    "ENTITY_DIR",
    "KG_DIR",
    "RELATIONS_FILE",
    "SPLIT_FILES",
    "LayoutError",
    "LayoutFiles",
    "check_languages",
    "entity_label",
    "find_layout",
    "parse_id",
    "read_id_rows",
    "read_iris",
    "relation_name",
]
