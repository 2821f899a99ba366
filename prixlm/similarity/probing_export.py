"""Knowledge probes from a built Prix-LM dataset (the CLDR KB by default), in mLAMA's layout.

Each triple of one split of a language config becomes one probe line of
`<output_dir>/<lang>/<relation>.jsonl`, and `<lang>/templates.jsonl` holds that language's
templates (`probing_templates.TEMPLATES`: the CLDR KB's ten relations in the paper's nine
languages)::

    python -m prixlm.similarity.probing_export --dataset outputs/demo/dataset \
        --output_dir outputs/probes --languages en,de,ja --split test

The default split is `test`: under the build's default `--split_protocol fact` a test fact is
held out of training in every language, so a probe asks for a fact the model never read (it
has read other facts of the same entities). A probe line holds mLAMA's keys (`uuid`,
`lineid`, `sub_uri`, `sub_label`, `obj_uri`, `obj_label`) plus `all_obj_labels`, every true
object of `(subject, relation)` in the KB (filtered when ranking). `probes_info.json` records
the source and the counts. The folder is written atomically (`prixlm.outputs.atomic`): an
existing one is replaced (entries this export does not write are kept).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prixlm.cli import command_parser, user_errors
from prixlm.outputs.atomic import atomic_folder
from prixlm.similarity.probing_data import TEMPLATES_FILE
from prixlm.similarity.probing_templates import TEMPLATES

INFO_FILE = "probes_info.json"
_NAMESPACE = uuid.UUID("6f1c8c1e-6d7e-4a55-9a3e-0d0d6a1c2b10")  # stable uuids per fact


def relation_name(relation_id: str) -> str:
    """The relation's local name: `http://dbpedia.org/ontology/officialLanguage` -> `officialLanguage`."""
    return relation_id.rstrip("/").rsplit("/", 1)[-1]


def probe_records(rows: Any, language: str) -> dict[str, list[dict[str, Any]]]:
    """`relation -> [probe line]` of a language's triple rows (dataset schema)."""
    by_relation: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["kind"] != "triple":
            continue
        relation = relation_name(row["relation_id"])
        fact = f"{row['subject_id']} {row['relation_id']} {row['object_id']}"
        by_relation[relation].append(
            {
                "uuid": str(uuid.uuid5(_NAMESPACE, fact)),
                "lineid": len(by_relation[relation]),
                "sub_uri": row["subject_id"],
                "sub_label": row["subject"],
                "obj_uri": row["object_id"],
                "obj_label": row["object"],
                "all_obj_labels": sorted(row["all_objects"]),
            }
        )
    return dict(by_relation)


def _write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def export_probes(
    dataset: str | Path,
    output_dir: str | Path,
    languages: Sequence[str],
    split: str = "test",
) -> dict[str, dict[str, int]]:
    """Write the probes of `languages` (one split each) in mLAMA's layout.

    Relations without a template in a language are left out (counted under `untemplated`).

    Returns:
        `{language: {relation: probes, ..., "untemplated": n}}`.
    Raises:
        ValueError: a language without templates (the message lists those with templates).
    """
    from prixlm.data.loading import load_kb

    missing = [language for language in languages if language not in TEMPLATES]
    if missing:
        raise ValueError(
            f"no probing templates for {missing}; templates exist for {sorted(TEMPLATES)}"
        )
    stats: dict[str, dict[str, int]] = {}
    written = {INFO_FILE, *languages}
    with atomic_folder(
        output_dir, carry_over=lambda entry: entry.name not in written, argument="--output_dir"
    ) as staging:
        for language in languages:
            templates = TEMPLATES[language]
            records = probe_records(load_kb(dataset, language, split=split), language)
            folder = staging / language
            folder.mkdir()
            kept = {r: lines for r, lines in sorted(records.items()) if r in templates}
            _write_jsonl(
                folder / TEMPLATES_FILE,
                [{"relation": r, "template": templates[r]} for r in sorted(kept)],
            )
            for relation, lines in kept.items():
                _write_jsonl(folder / f"{relation}.jsonl", lines)
            stats[language] = {r: len(lines) for r, lines in kept.items()}
            stats[language]["untemplated"] = sum(
                len(lines) for r, lines in records.items() if r not in templates
            )
        info = {"dataset": str(dataset), "split": split, "layout": "mLAMA", "probes": stats}
        (staging / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return stats


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser("prixlm.similarity.probing_export", __doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True, help="a dataset build folder (or Hub id)")
    parser.add_argument("--output_dir", required=True, help="the probes folder to write")
    parser.add_argument("--languages", required=True, help="comma-separated language configs")
    parser.add_argument("--split", default="test", help="the split whose triples become probes")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    languages = [code.strip() for code in args.languages.split(",") if code.strip()]
    with user_errors(ValueError):  # one line: also a file as --output_dir, a full disk
        stats = export_probes(args.dataset, args.output_dir, languages, args.split)
    for language, counts in stats.items():
        total = sum(v for k, v in counts.items() if k != "untemplated")
        print(f"{language}: {total} probes in {len(counts) - 1} relations")
    print(f"wrote {args.output_dir}")
    return 0


__all__ = ["export_probes", "probe_records", "relation_name"]

if __name__ == "__main__":
    sys.exit(main())
