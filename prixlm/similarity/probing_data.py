"""mLAMA's layout (Kassner et al., EACL 2021; `norakassner/mlama`, `mlama1.1/`), read.

```
<probes_dir>/<lang>/templates.jsonl   {"relation": "P19", "template": "[X] was born in [Y] .", ...}
<probes_dir>/<lang>/<relation>.jsonl  {"uuid": ..., "lineid": 0, "sub_uri": "Q...",
                                       "sub_label": "Dante", "obj_uri": "Q...", "obj_label": "Florence"}
```

One probe per line (a triple); a relation's probes in a language are answered with that
language's template, `[X]` the subject and `[Y]` the answer. `uuid`, `lineid`, the URIs and
other keys are optional here. One key is ours, also optional: `all_obj_labels`, every true
object of `(sub_label, relation)` in the source KB (the CLDR export writes it), filtered when
ranking as in LAMA's filtered precision. A relation file without a template in its
language is not read (mLAMA leaves some untranslated); its name goes to `untemplated`. A
malformed line (not UTF-8, not a JSON object, a missing or empty label, a template without
exactly one `[X]` and one `[Y]`) raises `ProbeFormatError` naming the file and the 1-based line.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prixlm.text_lines import utf8_lines

TEMPLATES_FILE = "templates.jsonl"
SUBJECT_SLOT, OBJECT_SLOT = "[X]", "[Y]"


class ProbeFormatError(ValueError):
    """A line that does not follow mLAMA's layout (the message names file:line)."""


@dataclass(frozen=True)
class Probe:
    """One fact to probe: `(sub_label, relation, obj_label)` in `language`."""

    sub_label: str
    obj_label: str
    relation: str
    language: str
    uuid: str | None = None
    known_objects: frozenset[str] = frozenset()  # every true object (`all_obj_labels`)


@dataclass(frozen=True)
class Template:
    """A relation's template in one language, e.g. `"[X] was born in [Y] ."`."""

    relation: str
    template: str
    label: str | None = None  # the relation's name, when templates.jsonl gives one

    def fill(self, subject: str, answer: str) -> str:
        """The sentence with `[X]` = `subject` and `[Y]` = `answer`."""
        return self.template.replace(SUBJECT_SLOT, subject).replace(OBJECT_SLOT, answer)

    def split(self, subject: str) -> tuple[str, str]:
        """The text before and after `[Y]`, with `[X]` filled, both stripped."""
        before, after = self.template.replace(SUBJECT_SLOT, subject).split(OBJECT_SLOT)
        return before.strip(), after.strip()


@dataclass
class ProbeSet:
    """One language's probes by relation, with their templates."""

    language: str
    templates: dict[str, Template]
    probes: dict[str, list[Probe]]
    untemplated: list[str] = field(default_factory=list)


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in utf8_lines(path, ProbeFormatError):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ProbeFormatError(f"{path}:{number}: not JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise ProbeFormatError(f"{path}:{number}: expected a JSON object")
        yield number, record


def _text(path: Path, number: int, record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ProbeFormatError(f"{path}:{number}: {key!r} must be a non-empty string")
    return _composed(value)


def _composed(text: str) -> str:
    """`text` composed (NFC), as the model reads every name (`modeling_prixlm.formatting`)."""
    return unicodedata.normalize("NFC", text)


def read_templates(path: str | Path) -> dict[str, Template]:
    """`relation -> Template` from a `templates.jsonl`."""
    path = Path(path)
    templates = {}
    for number, record in _json_lines(path):
        relation = _text(path, number, record, "relation")
        template = _text(path, number, record, "template")
        for slot in (SUBJECT_SLOT, OBJECT_SLOT):
            if template.count(slot) != 1:
                raise ProbeFormatError(
                    f"{path}:{number}: template {template!r} must hold {slot} exactly once"
                )
        label = record.get("label")
        templates[relation] = Template(
            relation, template, label if isinstance(label, str) else None
        )
    return templates


def read_probes(path: str | Path, language: str, relation: str) -> list[Probe]:
    """The probes of one `<relation>.jsonl` file."""
    path = Path(path)
    probes = []
    for number, record in _json_lines(path):
        uuid = record.get("uuid")
        known = record.get("all_obj_labels", [])
        if not isinstance(known, list) or not all(isinstance(o, str) for o in known):
            raise ProbeFormatError(f"{path}:{number}: 'all_obj_labels' must be a list of strings")
        probes.append(
            Probe(
                _text(path, number, record, "sub_label").strip(),
                _text(path, number, record, "obj_label").strip(),
                relation,
                language,
                str(uuid) if uuid is not None else None,
                frozenset(_composed(o).strip() for o in known),
            )
        )
    return probes


def read_mlama(
    probes_dir: str | Path,
    languages: Sequence[str] | None = None,
    relations: Sequence[str] | None = None,
) -> dict[str, ProbeSet]:
    """Read `probes_dir/<lang>/` for each language (default: every folder with templates).

    Raises:
        FileNotFoundError: naming `--probes` (the commands' option) where `probes_dir` is
            missing or holds no `<language>/templates.jsonl` (a dataset folder given for the
            probes read as no probes at all: empty results), `--languages` for a requested
            language without templates there.
        ProbeFormatError: a malformed line (file:line).
    """
    root = Path(probes_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"--probes {root}: no such folder")
    found = sorted(p.name for p in root.iterdir() if (p / TEMPLATES_FILE).is_file())
    if not found:
        raise FileNotFoundError(
            f"--probes {root}: not a probes folder (no <language>/{TEMPLATES_FILE}); "
            "write one with python -m prixlm.similarity.probing_export"
        )
    if missing := [language for language in languages or () if language not in found]:
        raise FileNotFoundError(
            f"--languages {','.join(missing)}: no probes in {root} (its languages: "
            f"{', '.join(found)})"
        )
    sets = {}
    for language in languages or found:
        folder = root / language
        templates = read_templates(folder / TEMPLATES_FILE)
        probes, untemplated = {}, []
        for path in sorted(folder.glob("*.jsonl")):
            relation = path.stem
            if path.name == TEMPLATES_FILE or (relations is not None and relation not in relations):
                continue
            if relation not in templates:
                untemplated.append(relation)
                continue
            probes[relation] = read_probes(path, language, relation)
        sets[language] = ProbeSet(language, templates, probes, untemplated)
    return sets


__all__ = [
    "OBJECT_SLOT",
    "SUBJECT_SLOT",
    "TEMPLATES_FILE",
    "Probe",
    "ProbeFormatError",
    "ProbeSet",
    "Template",
    "read_mlama",
    "read_probes",
    "read_templates",
]
