"""BLI dictionaries exported from CLDR (the `babel` package), held out of the KB.

Each entry is one CLDR key localised in two languages; the pair is (source word, target
word). Word groups (all from the locale data Babel ships):

- months (format wide, stand-alone wide, format abbreviated), weekdays (wide, abbreviated),
  quarters (wide), day periods (format and stand-alone wide), eras (wide);
- measurement units (CLDR `unit_display_names`, long form: "seconds", "sekunnit"), language
  variant names (`Locale.variants`) and measurement systems;
- names of languages, territories, scripts and currencies that are **not** KB entities (the
  KB holds only those that take part in a fact: `prixlm.data.cldr.cldr_facts.cldr_entities`).

**Held out of the KB.** A pair is dropped when either word, case-folded, equals the
(case-folded) label of any KB entity in its language, or the bare CLDR name behind it, so
no dictionary word is a KB label and no pair can be a KB link: the overlap with the links
of the KB's train split is 0 by construction, and `link_overlap` measures it on the built
dataset (the paper's bound is 0.001%). Pairs whose two sides are identical strings
("Dior" = "Dior") are kept out too (they test string identity, not translation).

**Split.** By groups of pairs that share a word, so no word (source or target,
case-folded) is in both train and test: 5,000 train and 2,000 test pairs when a language
pair has 7,000+ pairs, else about 70% / 30% of the pairs (seeded). A source word with
several targets, inflected sources with one target (`elokuu`, `elokuuta` -> `Ağustos`) and
case variants (`calories`, `Calories`) stay on one side.

    python -m prixlm.similarity.bli_cldr --pairs en-it,en-tr,en-ru,en-fi,fi-ru,fi-tr \\
        --output_dir outputs/similarity/bli
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

from babel import Locale

from prixlm.cli import UsageError, command_parser, user_errors
from prixlm.similarity.bli_dictionary import Pair, clean_word, write_dictionary

PAPER_PAIRS = ("en-it", "en-tr", "en-ru", "en-fi", "fi-ru", "fi-tr")
TRAIN_PAIRS, TEST_PAIRS = 5000, 2000


def _clean(word: object) -> str | None:
    if not isinstance(word, str):
        return None
    return clean_word(word) or None


def _items(table: object) -> Iterator[tuple[object, object]]:
    try:
        yield from table.items()  # type: ignore[attr-defined]
    except (AttributeError, KeyError):
        return


def localized_words(locale: Locale) -> dict[str, str]:
    """`{CLDR key: word}` of the dictionary's word groups for one locale (see module doc)."""
    from prixlm.data.cldr.cldr_facts import cldr_entities

    words: dict[str, object] = {}
    for context, width in (("format", "wide"), ("stand-alone", "wide"), ("format", "abbreviated")):
        for key, word in _items(locale.months.get(context, {}).get(width, {})):
            words[f"month/{context}/{width}/{key}"] = word
    for width in ("wide", "abbreviated"):
        for key, word in _items(locale.days.get("format", {}).get(width, {})):
            words[f"day/{width}/{key}"] = word
    for key, word in _items(locale.quarters.get("format", {}).get("wide", {})):
        words[f"quarter/{key}"] = word
    for context in ("format", "stand-alone"):
        for key, word in _items(locale.day_periods.get(context, {}).get("wide", {})):
            words[f"day_period/{context}/{key}"] = word
    for key, word in _items(locale.eras.get("wide", {})):
        words[f"era/{key}"] = word
    for unit, forms in _items(locale._data["unit_display_names"]):
        words[f"unit/{unit}"] = dict(_items(forms)).get("long")
    for key, word in _items(locale.variants):
        words[f"variant/{key}"] = word
    for key, word in _items(locale.measurement_systems):
        words[f"measurement_system/{key}"] = word
    in_kb = {(entity.kind, entity.code) for entity in cldr_entities()}
    for kind, table in (
        ("language", locale.languages),
        ("territory", locale.territories),
        ("script", locale.scripts),
        ("currency", locale.currencies),
    ):
        for code, name in _items(table):
            if (kind, code) not in in_kb:
                words[f"{kind}/{code}"] = name
    return {key: cleaned for key, word in words.items() if (cleaned := _clean(word))}


def kb_label_keys(locale: Locale) -> set[str]:
    """Case-folded labels and bare names of every KB entity in `locale` (the held-out set)."""
    from prixlm.data.cldr.cldr_facts import cldr_entities
    from prixlm.data.cldr.export import build_locale_kb

    kb = build_locale_kb(str(locale))
    keys = {label.casefold() for label in kb.labels.values()}
    tables = {
        "language": locale.languages,
        "territory": locale.territories,
        "script": locale.scripts,
        "currency": locale.currencies,
    }
    for entity in cldr_entities():
        name = _clean(tables.get(entity.kind, {}).get(entity.code))
        if name:
            keys.add(name.casefold())
    return keys


def dictionary_pairs(source: str, target: str) -> list[Pair]:
    """Sorted distinct `(source word, target word)` pairs of one language pair, held out."""
    source_locale, target_locale = Locale.parse(source), Locale.parse(target)
    source_words, target_words = localized_words(source_locale), localized_words(target_locale)
    held_out_source, held_out_target = kb_label_keys(source_locale), kb_label_keys(target_locale)
    pairs = set()
    for key, word in source_words.items():
        translation = target_words.get(key)
        if translation is None or word == translation:
            continue
        if word.casefold() in held_out_source or translation.casefold() in held_out_target:
            continue
        pairs.add((word, translation))
    return sorted(pairs)


def split_pairs(pairs: Sequence[Pair], seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """Train and test pairs that share no word, either side, case-folded (see the module
    doc for sizes): pairs linked by a common source or target word (`elokuu`/`elokuuta` ->
    `Ağustos`, `calories`/`Calories`) stay on one side, as one group."""
    groups = _word_groups(pairs)
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    wanted = TEST_PAIRS if len(pairs) >= TRAIN_PAIRS + TEST_PAIRS else round(0.3 * len(pairs))
    test_groups: set[int] = set()
    count = 0
    for group in order:
        if count >= wanted:
            break
        test_groups.add(group)
        count += len(groups[group])
    train = [pair for group in order if group not in test_groups for pair in groups[group]]
    test = sorted(pair for group in test_groups for pair in groups[group])
    train = sorted(train)
    if len(train) > TRAIN_PAIRS:
        train = sorted(random.Random(seed).sample(train, TRAIN_PAIRS))
    return train, test


def _word_groups(pairs: Sequence[Pair]) -> dict[int, list[Pair]]:
    """`{group: pairs}`: the connected groups of pairs that share a source or a target word
    (case-folded), numbered by their first pair in sorted order."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def root(node: tuple[str, str]) -> tuple[str, str]:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for source, target in pairs:
        parent[root(("s", source.casefold()))] = root(("t", target.casefold()))
    groups: dict[tuple[str, str], list[Pair]] = {}
    for pair in sorted(pairs):
        groups.setdefault(root(("s", pair[0].casefold())), []).append(pair)
    return dict(enumerate(groups.values()))


def link_overlap(pairs: Sequence[Pair], links: Sequence[Pair]) -> float:
    """Fraction of `pairs` that are KB links `(subject label, object label)`, either way."""
    if not pairs:
        return 0.0
    linked = {(s, o) for s, o in links} | {(o, s) for s, o in links}
    return sum(pair in linked for pair in pairs) / len(pairs)


def export_dictionaries(
    language_pairs: Sequence[str], output_dir: str | Path, seed: int = 0
) -> dict[str, dict[str, int]]:
    """Write `<src>-<tgt>.train.txt` / `.test.txt` per pair; returns the sizes per pair.

    Raises:
        ValueError: a pair not `src-tgt`, or one without a train and a test pair (`pt_BR-pt`).
    """
    output_dir = Path(output_dir)
    splits: dict[str, tuple[list[Pair], list[Pair]]] = {}
    for name in language_pairs:  # every pair checked before any file is written
        source, _, target = name.partition("-")
        if not source or not target:
            raise ValueError(f"language pair {name!r}: expected 'src-tgt', e.g. en-fi")
        splits[name] = split_pairs(dictionary_pairs(source, target), seed)
        if not all(splits[name]):  # the evaluation needs both: refused now, not after training
            raise ValueError(
                f"language pair {name!r}: {sum(map(len, splits[name]))} word pairs outside the "
                "KB's labels, too few for a train and a test dictionary (two locales of one "
                "language name most words alike)"
            )
    sizes: dict[str, dict[str, int]] = {}
    for name, (train, test) in splits.items():
        write_dictionary(train, output_dir / f"{name}.train.txt")
        write_dictionary(test, output_dir / f"{name}.test.txt")
        sizes[name] = {"train": len(train), "test": len(test)}
    return sizes


def main(argv: list[str] | None = None) -> None:
    parser = command_parser("prixlm.similarity.bli_cldr", __doc__)
    parser.add_argument(
        "--pairs",
        default=",".join(PAPER_PAIRS),
        help="comma-separated src-tgt pairs of CLDR locales (the paper's six)",
    )
    parser.add_argument(
        "--output_dir",
        type=Path,
        required=True,
        help="where <src>-<tgt>.train.txt and .test.txt are written",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/test split")
    args = parser.parse_args(argv)
    from babel import UnknownLocaleError

    with user_errors(ValueError, UnknownLocaleError):  # a bad pair: `error: --pairs ...`
        try:
            sizes = export_dictionaries(args.pairs.split(","), args.output_dir, args.seed)
        except (ValueError, UnknownLocaleError) as error:
            raise UsageError(f"--pairs {args.pairs}: {error}") from None
    print(json.dumps(sizes, indent=2))


if __name__ == "__main__":
    main()
