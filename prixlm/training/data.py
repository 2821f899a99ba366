"""From a built Prix-LM dataset folder to tokenised training facts.

The folder is what `python -m prixlm.data.dbpedia.build` writes (Parquet +
dataset card, one config per language plus `links`); rows follow docs/architecture.md.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from pathlib import Path
from typing import Any

import datasets
from datasets.fingerprint import Hasher

from modeling_prixlm.formatting import (
    MAX_FACT_LENGTH,
    ControlTokenError,
    encode_row,
    known_languages,
    language_key,
    special_token_ids,
)
from modeling_prixlm.label_encoding import encode_texts
from prixlm.cli import UsageError, first_line
from prixlm.data.load_errors import hub_error, not_the_dataset
from prixlm.data.loading import (
    DatasetInputError,
    check_dataset_source,
    config_names,
    has_config,
    load_kb,
    local_data_files,
)
from prixlm.hub.calls import HUB_ERRORS
from prixlm.training.encoding_cache import encoding_cache_errors

VARIANTS = ("all", "single")


def dataset_languages(dataset_dir: str | Path) -> list[str]:
    """The language configs of a built dataset (every config but `links` and `all`)."""
    try:
        names = config_names(dataset_dir)
    except DatasetInputError:  # no such folder, no card
        raise
    except (*HUB_ERRORS, ValueError) as error:  # an unreadable card, an unknown or offline Hub id
        if (
            unreachable := hub_error(error, f"--dataset {dataset_dir}", str(dataset_dir))
        ) is not None:
            raise unreachable from error
        message = f"--dataset {dataset_dir}: cannot read its configs ({error})"
        raise DatasetInputError(message) from error
    return sorted(n for n in names if n not in ("links", "all"))


def resolve_languages(dataset_dir: str | Path, languages: str | list[str]) -> list[str]:
    """`"all"`, `"de,fr"` or a list -> validated, sorted language codes."""
    available = dataset_languages(dataset_dir)
    if isinstance(languages, str):
        languages = (
            available
            if languages == "all"
            else [c.strip() for c in languages.split(",") if c.strip()]
        )
    missing = sorted(set(languages) - set(available))
    if missing:
        raise DatasetInputError(
            f"--languages {','.join(missing)}: {dataset_dir} has no config for {missing}; "
            f"available: {', '.join(available)}"
        )
    if not languages:
        raise DatasetInputError("--languages: no language given")
    return sorted(set(languages))


def check_split(dataset_dir: str | Path, languages: list[str], split: str, argument: str) -> None:
    """Before any work: every language's config of a local build has `split` (the option
    `argument` names it); a Hub id is checked when it is loaded."""
    if not check_dataset_source(dataset_dir):
        return
    for language in languages:
        files = local_data_files(dataset_dir, language)
        if split not in files:
            raise DatasetInputError(
                f"{argument} {split}: config {language!r} of {dataset_dir} has the splits "
                f"{sorted(files)}"
            )


def load_split(dataset_dir: str | Path, config: str, split: str) -> datasets.Dataset:
    """One split of one config; `DatasetInputError` (a `UsageError` naming `--dataset`: one
    `error:` line in train.py) when it is missing, unreadable or empty. A Hub id that cannot
    be reached and a system error (the datasets cache read-only or full) pass as `load_kb`
    raises them (`prixlm.data.load_errors.not_the_dataset`): no fault of `--dataset`."""
    try:
        rows = load_kb(dataset_dir, config, split=split)
    except DatasetInputError:
        raise
    except Exception as error:  # noqa: BLE001 - datasets raises many types; name the input
        cause = not_the_dataset(error)
        if cause is error:
            raise
        if cause is not None:
            raise cause from error
        first = first_line(error)
        raise DatasetInputError(
            f"--dataset {dataset_dir}: cannot load config {config!r} split {split!r}: {first}"
        ) from error
    if len(rows) == 0:
        raise DatasetInputError(
            f"--dataset {dataset_dir}: config {config!r} split {split!r} is empty"
        )
    return rows


def load_training_rows(
    dataset_dir: str | Path, languages: list[str], variant: str, links: bool = True
) -> datasets.Dataset:
    """Training facts: each language's train triples, plus (variant `all`, unless `links` is
    False) the links between them (`training_rows`, without saying whether links were added).

    `single` is the paper's "Prix-LM (Single)" (pass one language); `all` is "Prix-LM (All)".
    """
    return training_rows(dataset_dir, languages, variant, links)[0]


def training_rows(
    dataset_dir: str | Path, languages: list[str], variant: str, links: bool = True
) -> tuple[datasets.Dataset, bool]:
    """`load_training_rows`'s facts, and whether link rows are among them: never with
    `single`, one language, `links` False, a dataset without a `links` config or no link
    between `languages` (what a run records as `links`, not the option as given)."""
    if variant not in VARIANTS:
        raise UsageError(f"--variant {variant!r}: expected one of {VARIANTS}")
    if variant == "single" and len(languages) != 1:
        raise UsageError(
            f"--variant single trains one language's triples; got languages {languages}"
        )
    parts = [load_split(dataset_dir, language, "train") for language in languages]
    added = False
    if variant == "all" and links and len(languages) > 1:
        link_rows = training_links(dataset_dir, languages)
        if link_rows is not None and len(link_rows):
            parts.append(link_rows)
            added = True
    return datasets.concatenate_datasets(parts), added


def training_links(dataset_dir: str | Path, languages: list[str]) -> datasets.Dataset | None:
    """The `links` train rows between `languages`, or None (with a note on stderr) when the
    dataset has no `links` config (dumps without link files, a KG without alignments): the
    languages' triples are then trained alone."""
    if not has_config(dataset_dir, "links"):
        print(
            f"note: {dataset_dir} has no links config: training on the languages' triples alone",
            file=sys.stderr,
        )
        return None
    wanted = set(languages)
    links = load_split(dataset_dir, "links", "train")
    with encoding_cache_errors(links):  # `filter` writes its indices as a map does
        return links.filter(
            lambda row: row["subject_language"] in wanted and row["object_language"] in wanted
        )


def check_languages_have_tokens(tokenizer: Any, rows: datasets.Dataset) -> None:
    """Every language used by a link must have its `[xx]` token."""
    if "link" not in set(rows.unique("kind")):
        return
    used = set(rows.unique("subject_language")) | set(rows.unique("object_language"))
    known = set(known_languages(tokenizer))  # spelled as `language_key` spells them
    missing = sorted(code for code in used if language_key(code) not in known)
    if missing:
        raise ValueError(
            f"languages {missing} have no token in the tokenizer: add them with "
            "modeling_prixlm.formatting.add_prixlm_tokens(tokenizer, languages)"
        )


class BatchTokenized:
    """The tokenizer as `encode_row` sees it, with its text calls answered from one batch call.

    `modeling_prixlm.formatting.encode_row` (the one home of the fact layout) tokenises a
    row's subject, relation and object one call at a time. Here the distinct texts of a
    whole batch are tokenised in one call (`label_encoding.encode_texts`), so the per-text
    calls become dictionary lookups; every other attribute is the tokenizer's. The ids are
    the same as one call per text: the encoding of a text does not depend on the others.
    """

    def __init__(self, tokenizer: Any, texts: list[str]) -> None:
        self._tokenizer = tokenizer
        unique = list(dict.fromkeys(texts))
        self._ids = dict(zip(unique, encode_texts(tokenizer, unique), strict=True))
        self.bos_token_id = tokenizer.bos_token_id
        self.sep_token_id = tokenizer.sep_token_id

    def __call__(self, text: Any, add_special_tokens: bool = True, **kwargs: Any) -> Any:
        ids = self._ids.get(text) if isinstance(text, str) else None
        if ids is None or add_special_tokens or set(kwargs) - {"verbose"}:
            return self._tokenizer(text, add_special_tokens=add_special_tokens, **kwargs)
        return {"input_ids": ids}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)


#: The encoded columns' types: 32-bit integers (XLM-R's 250k-piece vocabulary and the -100
#: of unlabelled positions fit). `datasets` stored labels and lengths in 64 bits: the cache
#: file was half as large again (5.1 vs 3.4 MB for the demo's 20,683 facts; tens of GB at
#: the paper's 194M facts).
ENCODED_FEATURES = datasets.Features(
    {
        "input_ids": datasets.List(datasets.Value("int32")),
        "labels": datasets.List(datasets.Value("int32")),
        "length": datasets.Value("int32"),
    }
)


def encode_batch(
    batch: dict[str, list[Any]], tokenizer: Any, max_length: int | None = MAX_FACT_LENGTH
) -> dict[str, list[Any]]:
    """Encode a batch of rows (columns of the dataset schema, each `(n,)`) as `input_ids`,
    `labels` and `length` (lists of `m <= n` rows), dropping facts of `max_length` tokens or
    more (None or 0 keeps all) and facts with a name read as a control token (`[O]` in a
    subject: `ControlTokenError`). Ids as `encode_row` gives them for each row."""
    count = len(batch["object"])
    columns = [name for name in ("kind", "subject", "relation", "subject_language",
                                 "object_language", "object") if name in batch]  # fmt: skip
    kinds = batch.get("kind", ["triple"] * count)
    texts = [t for t in batch["subject"] + batch["object"] if isinstance(t, str)]
    texts += [
        relation
        for relation, kind in zip(batch.get("relation", [None] * count), kinds, strict=True)
        if kind != "link" and isinstance(relation, str)
    ]
    fast = BatchTokenized(tokenizer, texts)
    ids = special_token_ids(tokenizer)  # once per batch, not twice per row
    out: dict[str, list[Any]] = {"input_ids": [], "labels": [], "length": []}
    for values in zip(*(batch[name] for name in columns), strict=True):
        try:
            fact = encode_row(fast, dict(zip(columns, values, strict=True)), ids)
        except ControlTokenError:  # its layout would not be the paper's
            continue
        if max_length and len(fact) >= max_length:
            continue
        out["input_ids"].append(fact.input_ids)
        out["labels"].append(fact.labels)
        out["length"].append(len(fact))
    return out


def tokenize_rows(
    rows: datasets.Dataset,
    tokenizer: Any,
    max_length: int | None = MAX_FACT_LENGTH,
    num_proc: int | None = None,
    batch_size: int = 1000,
) -> datasets.Dataset:
    """Encode rows as `input_ids`, `labels`, `length`; drop facts of `max_length` tokens or more.

    Rows are encoded `batch_size` at a time (one tokenizer call per batch, `encode_batch`)
    over `num_proc` processes (None or 1: this process), in one pass that also drops the
    long facts. The ids are those of `modeling_prixlm.formatting.encode_row`, row by row.
    A write that fails (a full disk) leaves no partial file in the `datasets` cache and
    names its folder (`prixlm.training.encoding_cache`).
    """
    check_languages_have_tokens(tokenizer, rows)
    if num_proc is not None and num_proc < 1:
        raise UsageError(f"--tokenize_num_proc {num_proc}: at least 1")
    what = (
        f"tokenising facts, dropping those of >= {max_length} tokens or with control tokens"
        if max_length
        else "tokenising facts, dropping those with control tokens"
    )
    with encoding_cache_errors(rows):  # a full disk: no partial file left, the folder named
        encoded = rows.map(
            encode_batch,
            batched=True,
            batch_size=batch_size,
            fn_kwargs={"tokenizer": tokenizer, "max_length": max_length},
            remove_columns=rows.column_names,
            num_proc=num_proc if num_proc and num_proc > 1 else None,
            desc=what,
            features=ENCODED_FEATURES,
            # the cache file's name: `datasets` would hash `encode_batch` by reference (its
            # module and name), and a change of the encoding code reused the old encoding
            new_fingerprint=encoding_fingerprint(rows, tokenizer, max_length, batch_size),
        )
    if len(encoded) == 0:
        raise UsageError(_no_fact_left(rows, max_length))
    return encoded


def encoding_code_digest() -> str:
    """sha256 of the files that hold the code encoding a training fact (this module and
    `modeling_prixlm.formatting`, as imported): an edited or upgraded encoding gives
    another digest. Functions patched at run time are not seen."""
    import modeling_prixlm.formatting as formatting

    digest = hashlib.sha256()
    for module in (formatting, sys.modules[__name__]):
        digest.update(Path(inspect.getfile(module)).read_bytes())
    return digest.hexdigest()


def encoding_fingerprint(
    rows: datasets.Dataset, tokenizer: Any, max_length: int | None, batch_size: int
) -> str:
    """The fingerprint (and cache file name) of `rows` encoded by `tokenize_rows`.

    What `datasets` hashes by default (the rows' fingerprint, the tokenizer as its own
    `Hasher` reads it, `max_length`, `batch_size`) plus `encoding_code_digest()`: the
    encoding code itself, which `datasets` names by reference only. The same rows, tokenizer
    and code: the same name, and the cached encoding is reused.
    """
    hasher = Hasher()
    hasher.update("prixlm.training.data.tokenize_rows")
    hasher.update(rows._fingerprint)
    hasher.update(tokenizer)
    hasher.update(max_length)
    hasher.update(batch_size)
    hasher.update(encoding_code_digest())
    return hasher.hexdigest()


def _no_fact_left(rows: datasets.Dataset, max_length: int | None) -> str:
    """Why `tokenize_rows` kept none of `rows`, naming the option to change."""
    if max_length:
        return (
            f"--max_fact_length {max_length}: none of the {len(rows)} training facts is "
            f"shorter than {max_length} tokens; raise it (0 keeps every fact)"
        )
    return (
        f"none of the {len(rows)} training facts is usable: each has a name read as a control token"
    )


#: What `tokenizer_training_texts` returns, as a kept tokenizer records it
#: (`table1_data.prepare_tokenizer`): another rule, another tokenizer.
TOKENIZER_TEXTS_RULE = "names of the languages' facts and every link end in a language"


def tokenizer_training_texts(dataset_dir: str | Path, languages: list[str]) -> list[str]:
    """Entity and relation names of every split of the languages, then each label at an end
    of a link whose end is in one of the languages, whatever the other end's language (an
    entity linked but in no fact of the language), once each, for the offline tokenizer.

    These are every label `dataset_candidates` ranks in the languages: a label left out
    could be written with `<unk>`, and two such labels tokenise alike and merge into one
    candidate (`TOKENIZER_TEXTS_RULE` names this rule).
    """
    texts: list[str] = []
    for language in languages:
        for rows in load_kb(dataset_dir, language).values():
            texts.extend(rows["subject"])
            texts.extend(rows["relation"])
            texts.extend(rows["object"])
    if has_config(dataset_dir, "links"):
        wanted, seen = set(languages), set(texts)
        for rows in load_kb(dataset_dir, "links").values():
            ends = zip(
                rows["subject"], rows["subject_language"], rows["object"],
                rows["object_language"], strict=True,
            )  # fmt: skip
            for subject, first, object_, second in ends:
                for label, language in ((subject, first), (object_, second)):
                    if language in wanted and label not in seen:  # link-only labels, once
                        seen.add(label)
                        texts.append(label)
    return texts
