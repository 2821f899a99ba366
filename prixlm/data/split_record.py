"""Whether an evaluated split can hold a model's training facts: the split record of a build.

A build draws each fact's split from its key and `--seed` alone (`prixlm.data.dbpedia.splits`):
a key is test when its draw is below `test_fraction`, validation below `test_fraction +
validation_fraction`, train above. Two builds with the same protocol and seed draw every
key alike, whatever their languages, `--link_languages` or dumps, so a rebuild's test split
holds no training fact of the other build while its test (or test + validation) fraction
stays within the other's test + validation fractions, provided one rule drew both (the
card's `draw`, `schema.SPLIT_DRAW`: the builder before the md5 draw ranked keys by blake2b,
and about 85% of its seed-0 test split are training rows of a current seed-0 build). Another
seed, protocol or draw rule draws afresh: about `1 - test - validation` of its test rows
were training rows of the first. A card that records no draw rule (an earlier build) is
told apart by its files alone.

`split_record(dataset)` is what a dataset's card records of that (the settings its YAML
records, `card.SPLIT_YAML`, else those its "Splits" section states in words, without a draw
rule; and the sha256 of each config's Parquet files that its YAML holds, else, for a folder
of an earlier build, of its files); training keeps it in `train_results.json` (`RECORD_KEY`). `check_training_facts`
compares it with the evaluated dataset's before a ranking command (evaluate_lp,
completion.measure) ranks: it refuses a split drawn from the model's training range unless
`--allow_training_facts`, warns where it cannot tell, and says once where the model records
nothing (an earlier release, the official checkpoint).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from prixlm.cli import UsageError, first_line

#: The key of `train_results.json` (and of a report) that holds the training data's record.
RECORD_KEY = "training_split"
#: How bad a verdict is, for the worst of a continued model's builds.
_RANK = {"same build": 0, "same draw": 0, "other languages": 0, "unknown": 1, "overlap": 2}
#: The option that ranks a split the check refuses.
ALLOW_OPTION = "--allow_training_facts"
_DIGEST = re.compile(r"Parquet files sha256 ([0-9a-f]{64})")
_PROTOCOL = re.compile(r"^- protocol: `(\w+)`", re.MULTILINE)
_FRACTIONS = re.compile(
    r"test fraction ([0-9.e+-]+), validation fraction ([0-9.e+-]+),\s+hash seed (-?\d+)"
)


def _card(dataset: str) -> Any:
    """The dataset card of a folder or a Hub id (`DatasetCard`), or None if none loads."""
    from huggingface_hub import DatasetCard

    path = Path(dataset) / "README.md"
    try:
        return DatasetCard.load(path if Path(dataset).is_dir() else dataset)
    except Exception:  # noqa: BLE001 - no card, not a repo, offline: nothing recorded
        return None


def _recorded_settings(card: Any) -> dict[str, Any] | None:
    """The split settings the card's YAML records (`card.SPLIT_YAML`, with the `draw` rule),
    else those its "Splits" section states in words (`draw` None: an earlier build's card,
    whose rule is not known), else None."""
    from prixlm.data.dbpedia.card import SPLIT_YAML

    recorded = card.data.to_dict().get(SPLIT_YAML)
    try:
        return {
            "draw": str(recorded["draw"]),
            "protocol": str(recorded["protocol"]),
            "seed": int(recorded["seed"]),
            "test_fraction": float(recorded["test_fraction"]),
            "validation_fraction": float(recorded["validation_fraction"]),
        }
    except (TypeError, KeyError, ValueError):  # none (an earlier build), or edited away
        pass
    protocol, fractions = _PROTOCOL.search(card.text), _FRACTIONS.search(card.text)
    if not (protocol and fractions):
        return None
    try:
        return {
            "draw": None,
            "protocol": protocol.group(1),
            "seed": int(fractions.group(3)),
            "test_fraction": float(fractions.group(1)),
            "validation_fraction": float(fractions.group(2)),
        }
    except ValueError:  # text edited into no number
        return None


def _file_digests(folder: Path, configs: list[str]) -> dict[str, str]:
    """`{config: sha256}` of a local build's Parquet files, as a card records them
    (`output.config_digest`), for an earlier build whose card records none ({} where its
    files cannot be read)."""
    from prixlm.data.dbpedia.output import config_digest, file_digests
    from prixlm.data.loading import local_data_files

    digests = {}
    try:
        for config in configs:
            splits = local_data_files(folder, config)
            relative = {
                split: [str(Path(path).relative_to(folder.resolve())) for path in paths]
                for split, paths in splits.items()
            }
            paths = [path for paths in relative.values() for path in paths]
            digests[config] = config_digest(relative, file_digests(folder.resolve(), paths))
    except Exception:  # noqa: BLE001 - an unreadable or hand-made folder: nothing to compare
        return {}
    return digests


def split_record(dataset: str) -> dict[str, Any] | None:
    """What `dataset`'s card records of its split: `settings` (`draw`, `protocol`, `seed`,
    `test_fraction`, `validation_fraction`; None where the card states none, as a KG-layout
    conversion's, which keeps the KG's splits) and `config_digests` (`{config: sha256}`, of
    the files where the card of a folder records none); `dataset` as recorded. None where no
    card loads."""
    card = _card(dataset)
    if card is None:
        return None
    digests, configs = {}, []
    for entry in card.data.to_dict().get("configs") or []:
        if not isinstance(entry, dict):
            continue
        configs.append(str(entry.get("config_name")))
        if match := _DIGEST.search(str(entry.get("description") or "")):
            digests[configs[-1]] = match.group(1)
    folder = Path(dataset)
    if not digests and folder.is_dir():  # an earlier build: the files themselves
        digests = _file_digests(folder, configs)
    where = str(folder.resolve()) if folder.is_dir() else dataset
    return {"dataset": where, "settings": _recorded_settings(card), "config_digests": digests}


class RecordUnreadable(Exception):
    """A Hub model's `train_results.json` that cannot be fetched (offline and not in the
    cache, which `from_pretrained` does not put it in; the Hub unreachable)."""


def _train_results(model: str | Path) -> dict[str, Any] | None:
    """`model`'s `train_results.json` (a release folder, or a Hub id's file), or None where
    it has none; `RecordUnreadable` where a Hub id's cannot be fetched."""
    path = Path(model) / "train_results.json"
    if not Path(model).is_dir():
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import RemoteEntryNotFoundError

        try:
            path = Path(hf_hub_download(str(model), "train_results.json"))
        except RemoteEntryNotFoundError:  # the repo holds none: nothing recorded
            return None
        except Exception as error:  # noqa: BLE001 - offline and not cached, unreachable
            raise RecordUnreadable(first_line(error)) from error
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return results if isinstance(results, dict) else None


def model_records(model: str) -> list[dict[str, Any]] | None:
    """The split records of every build `model` was trained on: its own run's first, then
    those of the releases it continued (`continued_from`'s `training_splits`, `{}` for one
    that records none); None where its own run records none."""
    results = _train_results(model)
    own = (results or {}).get(RECORD_KEY)
    if not isinstance(own, dict):
        return None
    languages = results.get("languages")
    if isinstance(languages, list) and languages:  # the configs trained, of the build's
        own = {**own, "trained_configs": [str(language) for language in languages]}
    earlier = (results.get("continued_from") or {}).get("training_splits") or []
    return [own, *(record if isinstance(record, dict) else {} for record in earlier)]


def release_training_splits(release: str | Path | None) -> list[dict[str, Any]]:
    """What a run continuing `release` (a folder) keeps of the builds it was trained on
    (`model_records`), each `{}` that it records none of, as `{"dataset": ...}` naming it."""
    records = model_records(str(release)) if release is not None else None
    return records or [{"dataset": f"the data of the release {release} (not recorded)"}]


def describe(settings: dict[str, Any] | None) -> str:
    """`settings` in words, for a message."""
    if not settings:
        return "no split settings recorded"
    return (
        f"protocol {settings['protocol']}, seed {settings['seed']}, test fraction "
        f"{settings['test_fraction']}, validation fraction {settings['validation_fraction']}"
    )


def trained_share(trained: dict[str, Any], evaluated: dict[str, Any], split: str) -> float:
    """The share of `split`'s draw range in the `evaluated` build's settings that is the
    `trained` build's train range (same draw rule, protocol and seed), or, drawn afresh, its train
    share: the share of `split`'s rows expected to be training rows of the model."""
    train_from = trained["test_fraction"] + trained["validation_fraction"]
    rule = ("draw", "protocol", "seed")
    if any(trained.get(key) != evaluated.get(key) for key in rule):
        return 1.0 - train_from
    low = 0.0 if split == "test" else evaluated["test_fraction"]
    high = evaluated["test_fraction"] + (split == "validation") * evaluated["validation_fraction"]
    return max(0.0, high - max(low, train_from)) / (high - low) if high > low else 0.0


def verdict(
    trained: dict[str, Any], evaluated: dict[str, Any] | None, split: str, configs: list[str]
) -> tuple[str, float | None]:
    """`("same build" | "same draw" | "other languages" | "overlap" | "unknown", share)`:
    whether `split` of `configs` in the `evaluated` record can hold training facts of the
    `trained` one (`other languages`: none of `configs` was trained, by the record's
    `trained_configs` (`model_records`: the run's `--languages`), else by the build's)."""
    known = trained.get("config_digests") or {}
    theirs = (evaluated or {}).get("config_digests") or {}
    if configs and all(known.get(c) and known.get(c) == theirs.get(c) for c in configs):
        return "same build", 0.0
    trained_configs = trained.get("trained_configs") or known  # else: the build's configs
    if trained_configs and configs and not any(c in trained_configs for c in configs):
        return "other languages", 0.0  # none of the configs trained: no fact of them
    ours, other = trained.get("settings"), (evaluated or {}).get("settings")
    if not ours or not other or split not in ("test", "validation"):
        return "unknown", None
    if not ours.get("draw") or not other.get("draw"):  # an earlier build's: its rule unknown
        if (ours["protocol"], ours["seed"]) == (other["protocol"], other["seed"]):
            return "unknown", None  # the same draw only if one rule drew both
        # another seed or protocol draws afresh under any rule
    share = trained_share(ours, other, split)
    return ("overlap" if share > 0 else "same draw"), share


def worst_verdict(
    records: list[dict[str, Any]],
    evaluated: dict[str, Any] | None,
    split: str,
    configs: list[str],
) -> tuple[str, float | None, dict[str, Any]]:
    """`(result, share, record)` of the worst `verdict` over `records` (the builds a model
    was trained on, its own first): an overlap (the largest), else unknown, else the first
    record's."""
    verdicts = [(verdict(trained, evaluated, split, configs), trained) for trained in records]
    (result, share), trained = max(verdicts, key=lambda v: (_RANK[v[0][0]], v[0][1] or 0.0))
    return result, share, trained


def add_allow_argument(parser: argparse.ArgumentParser) -> None:
    """`--allow_training_facts`: rank a split that the check refuses (the report says so)."""
    parser.add_argument(
        ALLOW_OPTION,
        action="store_true",
        help="rank the split even where --dataset is another build of the model's training "
        "data whose split is drawn from facts the model was trained on (the report records it)",
    )


def check_training_facts(
    model: str, dataset: str, split: str, configs: list[str], allow: bool, split_option: str
) -> dict[str, Any]:
    """Before ranking `split` of `configs` of `dataset` with `model`: `UsageError` naming both
    builds' settings where the split is drawn from the model's training facts (unless
    `allow`: a warning), a warning where it cannot be told, a note where the model records
    no training split. Returns what the report keeps (`RECORD_KEY`)."""
    if split == "train":  # asked for: the training facts themselves
        return {"result": "train split"}
    try:
        records = model_records(model)
    except RecordUnreadable as error:
        print(
            f"warning: --model {model}: its train_results.json, which records the split it "
            f"was trained on, cannot be fetched ({error}): whether {split_option} {split} "
            "holds facts it was trained on is not checked",
            file=sys.stderr,
        )
        return {"result": "not read"}
    if records is None:
        print(
            f"note: --model {model} records no split of its training data (a release of an "
            f"earlier version, or the official checkpoint): whether {split_option} {split} "
            "holds facts it was trained on is not checked",
            file=sys.stderr,
        )
        return {"result": "not recorded"}
    evaluated = split_record(dataset)
    result, share, trained = worst_verdict(records, evaluated, split, configs)
    who = "was trained on" if trained is records[0] else "continued a release trained on"
    both = (
        f"--model {model} {who} {trained.get('dataset')} "
        f"({describe(trained.get('settings'))}); --dataset {dataset} has "
        f"{describe((evaluated or {}).get('settings'))}"
    )
    kept = {"result": result, "trained_on": trained, "evaluated": evaluated}
    if result == "unknown":
        print(
            f"warning: {both}: another build, and whether its {split} split holds facts the "
            "model was trained on cannot be told from what they record",
            file=sys.stderr,
        )
    elif result == "overlap":
        kept["expected_training_share"] = round(share, 4)
        found = (
            f"{both}: about {share:.0%} of its {split} split ({', '.join(configs)}) is drawn "
            "from the model's training facts"
        )
        if allow:
            print(
                f"warning: {found}: its results are inflated; ranked ({ALLOW_OPTION})",
                file=sys.stderr,
            )
            kept["allowed"] = True
            return kept
        advice = (
            "evaluate the build the model was trained on (or one with the same protocol and "
            "seed, whose test and validation fractions stay within the model's)"
            if trained is records[0]
            else "evaluate a build with the protocol and seed of the release it continued "
            "(whose test and validation fractions stay within the release's)"
        )
        raise UsageError(
            f"{found}, and its results would be inflated; {advice}, or give {ALLOW_OPTION} "
            "to rank it anyway (the report records it)"
        )
    return kept


__all__ = [
    "ALLOW_OPTION",
    "RECORD_KEY",
    "RecordUnreadable",
    "add_allow_argument",
    "check_training_facts",
    "describe",
    "model_records",
    "release_training_splits",
    "split_record",
    "trained_share",
    "verdict",
    "worst_verdict",
]
