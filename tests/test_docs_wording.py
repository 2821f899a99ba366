"""The README, docs, cards, help texts and sources speak to users about the software only.

Issue numbers ("issue 13", "(issue 10, item 6)") and words about how the work was organised
("session", "helper", "the lead", "other engineers' jobs", a "borrowed" GPU) belong in commit
messages. Every measurement keeps its machine, command and date; only the wording is checked.
Every text file of the repository is read (tests and generated data aside), so new sections
of docs/benchmarks.md, new cards and new modules are checked too.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROCESS_WORDS = re.compile(
    r"\bissues?[ -]?#?\d+"  # issue 13, issues 11-13, issue-13
    r"|\(issue\b"  # (issue 10, item 6)
    r"|\bitem \d+\b"
    r"|\bsessions?\b"
    r"|\bhelpers?\b"
    r"|\bthe lead\b"
    r"|\bengineers?\b"
    r"|\bborrow(?:ed|ing)?\b"
    r"|\bworkplace\b"
    r"|\bthis task\b",
    re.IGNORECASE,
)
SUFFIXES = {".md", ".py", ".sh", ".toml", ".cfg", ".j2", ".jinja", ".txt", ".yaml", ".yml"}
NAMES = {"Makefile", "README", "Dockerfile"}
#: Not user-facing (tests, their fixtures) or not ours (environments, outputs, caches).
SKIPPED = {"tests", "outputs", "build", "runs", "node_modules", "__pycache__"}


def text_files(root: Path) -> list[Path]:
    """The repository's text files that users read (sources included: docstrings are help)."""
    found = []
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if any(part.startswith(".") or part in SKIPPED for part in parts):
            continue
        if path.is_file() and (path.suffix in SUFFIXES or path.name in NAMES):
            found.append(path)
    return sorted(found)


def process_words(path: Path) -> list[str]:
    """`file:line: match` for each process word of `path`."""
    hits = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        hits += [f"{path.relative_to(ROOT)}:{number}: {m.group(0)!r}" for m in PROCESS_WORDS.finditer(line)]  # fmt: skip
    return hits


def test_the_pattern_catches_process_words_and_spares_ordinary_text():
    caught = [
        "see issue 13",
        "(issue 10, item 6)",
        "after issues 11-13",
        "measured in the previous session",
        "helper H's measurements",
        "the lead runs one GPU call",
        "shared with other engineers' jobs",
        "a GPU was borrowed",
        "the `run` tool of this workplace",
    ]
    spared = ["a 2-core VM shared with other jobs (load 2-5)", "8 min 19 s", "`_helper_rows`"]
    assert all(PROCESS_WORDS.search(text) for text in caught)
    assert not any(PROCESS_WORDS.search(text) for text in spared)


def test_docs_cards_and_help_texts_have_no_process_words():
    files = text_files(ROOT)
    names = {path.relative_to(ROOT).as_posix() for path in files}
    assert {"README.md", "docs/benchmarks.md", "docs/results.md", "model_card.md"} <= names
    assert "train.py" in names and any(name.startswith("prixlm/") for name in names)
    hits = [hit for path in files for hit in process_words(path)]
    assert not hits, "process words in user-facing text:\n" + "\n".join(hits)


def test_readme_names_the_best_baselines_of_the_committed_table():
    """The README's Table 1 summary names the baseline that leads each metric, with its figures."""
    import json

    from prixlm.experiments.table1_docs import averages

    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    table = json.loads((ROOT / "results" / "table1.json").read_text(encoding="utf-8"))
    means = {m: v for m, v in averages(table).items() if not m.startswith("Prix-LM")}
    for metric, word in (("hits_at_1", "hits@1"), ("mrr", "MRR")):
        best = max(means, key=lambda method: means[method][metric])
        hits, mrr = (f"{100 * means[best][key]:.1f}" for key in ("hits_at_1", "mrr"))
        assert f"{best} by {word} ({hits} / {mrr})" in readme.replace(
            "RotatE on the union graph", "RotatE (union graph)"
        )


def test_docs_point_to_no_file_of_one_machine():
    """A pointer such as `/work/shared/NOTES.md` names a file a user of the repository does not
    have; the text it points to belongs in the docs (recorded commands in results/ keep their
    paths: they say where a run wrote, not where to read)."""
    machine_file = re.compile(r"/work/shared/\S+")
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {m.group(0)}"
        for path in text_files(ROOT)
        if path.relative_to(ROOT).parts[0] != "results"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for m in machine_file.finditer(line)
    ]
    assert not hits, "pointers to files outside the repository:\n" + "\n".join(hits)
