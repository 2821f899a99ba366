"""The completion measurement as Markdown: the block between `<!-- completion:start -->` and
`<!-- completion:end -->` in `docs/results.md`, rendered from the JSON report of
`prixlm.completion.measure` (so the page's numbers are the JSON's). A JSON without `device`
(written before it was recorded) was measured on the CPU, one without `batch_size` says
nothing of its decoding batch and threads; the skipped pairs whose relation the
target never uses are named only when there are some (the committed block renders as it was),
and so are the queries the model did not rank and its proposals skipped as ambiguous
(`ranked_queries_note`; every method is scored on the queries the model ranked, but for
`link_projection` in a report written before that rule, which scored it on every query:
`scored_on_ranked_queries`).

The block names the JSON the command wrote (its `--output`) and calls link projection an
oracle of the CLDR KB only for a report of that KB (`cldr_kb`: the dataset card's
`source_datasets`, else the JSON's notes); for another KB it states the condition instead.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

METHODS = ("model", "model_agreeing", "link_projection")
START, END = "<!-- completion:start -->", "<!-- completion:end -->"


def markdown_table(report: Mapping[str, Any]) -> str:
    """Precision / recall (in %) and proposal counts per threshold and method."""
    header = "| score >= | " + " | ".join(f"{m} P | {m} R | {m} n" for m in METHODS) + " |"
    lines = [header, "|---:|" + "---:|---:|---:|" * len(METHODS)]
    for index, threshold in enumerate(report["thresholds"]):
        cells = []
        for method in METHODS:
            row = report["methods"][method][index]
            precision = "–" if row["precision"] is None else f"{100 * row['precision']:.1f}"
            cells += [precision, f"{100 * row['recall']:.1f}"]
            cells.append(str(row["proposals"]))
        lines.append(f"| {threshold:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ranked_queries_note(r: Mapping[str, Any]) -> str:
    """What the model did not rank, and what that leaves the three methods: empty when it
    ranked every query and skipped no proposal (a JSON without these counts, or with zeros)."""
    q = r["queries"]
    left_out = {
        "beyond the query limit": q.get("queries_beyond_limit", 0),
        "too long for the model": q.get("queries_too_long", 0),
        "that it cannot encode": q.get("queries_unencodable", 0),
    }
    ambiguous = q.get("ambiguous_objects", 0)
    if not any(left_out.values()) and not ambiguous:
        return ""
    lines = []
    if any(left_out.values()):
        ranked = (
            q["queries"] - left_out["too long for the model"] - left_out["that it cannot encode"]
        )
        asked = q["queries"] + left_out["beyond the query limit"]
        parts = ", ".join(f"{count} {why}" for why, count in left_out.items() if count)
        if not scored_on_ranked_queries(r):
            lines.append(
                f"The model ranked {ranked} of these {asked} queries ({parts}). `model` and "
                f"`model_agreeing` below are scored on those {ranked} queries only; "
                f"`link_projection` on all {asked} (this report was written before every "
                "method was scored on the model's ranked queries, and does not record how many "
                "hidden facts those cover)."
            )
            return "\n" + "\n".join([*lines, *_ambiguous_line(ambiguous)])
        covered = r["hidden_facts_with_ranked_queries"]
        lines.append(
            f"The model ranked {ranked} of these {asked} queries ({parts}); they cover "
            f"{covered} of the {r['hidden_facts']} hidden facts. Every method below is scored on "
            f"those {ranked} queries only."
        )
        every = r.get("link_projection_every_query")
        if every:
            zero = every[r["thresholds"].index(0.0)]
            lines.append(
                f"`link_projection` on all {asked}: {zero['correct']} of {zero['judged']} judged "
                f"proposals correct, recall {100 * zero['recall']:.1f}%."
            )
    return "\n" + "\n".join([*lines, *_ambiguous_line(ambiguous)])


def _ambiguous_line(ambiguous: int) -> list[str]:
    """The line on the model's proposals skipped as ambiguous; none when there are none."""
    if not ambiguous:
        return []
    return [
        f"{ambiguous} model proposals were skipped as ambiguous (labels the model cannot tell "
        "apart, and no evidence language says which entity is meant)."
    ]


def scored_on_ranked_queries(r: Mapping[str, Any]) -> bool:
    """Whether report `r` scored `link_projection` on the queries the model ranked, like the
    model: a report written before that rule has neither `link_projection_every_query` nor
    `hidden_facts_with_ranked_queries` (both written with it), and scored `link_projection`
    on every query."""
    return "link_projection_every_query" in r or "hidden_facts_with_ranked_queries" in r


def command_argument(command: str, name: str) -> str | None:
    """The value of option `name` (`--output`) in a recorded command line (`--name VALUE` or
    `--name=VALUE`, the last one given); None where it has none or does not parse."""
    try:
        words = shlex.split(command)
    except ValueError:  # unbalanced quotes: not a command this package recorded
        return None
    value = None
    for word, following in zip(words, [*words[1:], None], strict=True):
        if word == name:
            value = following
        elif word.startswith(name + "="):
            value = word[len(name) + 1 :]
    return value


def cldr_kb(r: Mapping[str, Any]) -> bool | None:
    """Whether report `r` measured the KB exported from Unicode CLDR: the card of its
    `--dataset` folder, where there is one, says so (`source_datasets` naming `cldr_kb`);
    else the JSON's notes (the export command `prixlm.data.cldr.export`, or the dataset
    named the CLDR KB); None where neither says."""
    from prixlm.release.card_results import dataset_card_metadata

    dataset = command_argument(str(r.get("command", "")), "--dataset")
    dataset = str(Path(dataset).expanduser()) if dataset else dataset  # `~/kb` as typed
    if dataset and (Path(dataset) / "README.md").is_file():
        sources = dataset_card_metadata(dataset).get("source_datasets") or []
        return any("cldr" in str(source).lower() for source in sources)
    notes = r.get("notes") or {}
    if "prixlm.data.cldr.export" in str(notes.get("export_command", "")):
        return True
    return True if "CLDR" in str(notes.get("dataset", "")) else None


def _oracle_note(r: Mapping[str, Any]) -> str:
    """What link projection is on the report's KB (the CLDR KB: an oracle) and what the
    model is for (both lines end before the line break the block puts after them)."""
    if cldr_kb(r):
        return """On the CLDR KB every language
holds the same facts and every entity is linked, so link projection is an oracle there. The
model is for what links cannot answer: objects without a link into the target (common between
real DBpedia editions) and evidence languages that disagree; this small model is far from the
link projection on its own."""
    return """Where every language holds
the same facts and every entity is linked (as on the CLDR KB), link projection is an oracle.
The model is for what links cannot answer: objects without a link into the target and
evidence languages that disagree."""


#: The notes that record the commands before the measurement, as the heading names them.
EARLIER_COMMANDS = (
    ("export_command", "export"),
    ("dataset_command", "dataset"),
    ("training_command", "training"),
)


def _command_heading(notes: Mapping[str, Any]) -> str:
    """The line above the command, naming the earlier commands the JSON's notes record."""
    names = [name for key, name in EARLIER_COMMANDS if key in notes]
    if not names:
        return "Command (exact):"
    if len(names) == 1:
        return f"Command (exact; the {names[0]} command is in the JSON's `notes`):"
    listed = ", ".join(names[:-1]) + " and " + names[-1]
    return f"Command (exact; the {listed} commands are in the JSON's `notes`):"


def results_block(r: Mapping[str, Any]) -> str:
    """The `docs/results.md` section of report `r` (a `measure` JSON), markers included."""

    def row(method: str, threshold: float) -> Mapping[str, Any]:
        return r["methods"][method][r["thresholds"].index(threshold)]

    def pct(value: float | None) -> str:  # None: no proposal judged at that threshold
        return "–" if value is None else f"{100 * value:.1f}%"

    half, zero = row("model", 0.5), row("model", 0.0)
    agree, projection = row("model_agreeing", 0.0), row("link_projection", 0.0)
    q, n, notes, target = r["queries"], r["hidden_facts"], r["notes"], r["target_language"]
    evidence = ", ".join(r["evidence_languages"])
    seen = ", ".join(
        f"{c} ({lang})" for lang, c in r["hidden_facts_in_evidence_train_split"].items()
    )
    candidate_pairs = (q["evidence_pairs"] - q["held_by_target"] - q["subject_not_linked"]) - q[
        "relation_unknown_in_target"
    ]
    covered = r["hidden_facts_with_evidence"]
    asked = q["queries"] + q.get("queries_beyond_limit", 0)  # measure itself sets no limit
    unknown = q.get("relation_unknown_in_target", 0)
    skipped = (
        f"{q['held_by_target']} are already held by\n{target} and {q['subject_not_linked']} have "
        f"no {target} subject"
        if not unknown
        else f"{q['held_by_target']} are already held by\n{target}, {q['subject_not_linked']} have "
        f"no {target} subject and {unknown} name a relation {target} never uses"
    )
    decoding = (  # absent from a JSON written before they were recorded
        f"\nDecoding: {r['batch_size']} queries per forward, {r['torch_num_threads']} torch "
        "threads; the scores are reproducible for these (another batch size can change a "
        "score's last digits, moving a proposal right at a threshold in or out)."
        if "batch_size" in r
        else ""
    )
    output = command_argument(str(r.get("command", "")), "--output") or "the JSON report"
    return f"""{START}
## KB completion for a thin language

`python -m prixlm.complete --model DIR --dataset DIR --target_language et --output new_facts.nt`
proposes target-language objects for the (subject, relation) pairs that other languages hold
and the target lacks (subject mapped through the `links` config, same relation IRI), by
constrained link prediction over the target's entities, and writes N-Triples with the dumps'
IRIs plus a TSV (labels, score, evidence languages, agreeing languages). The **score** is the
model's probability `exp(-loss)` of the object's tokens and `[EOS]` (full-vocabulary softmax,
not calibrated; the scores of one pair sum to at most 1).

**Measured** (`{output}`, {r["seconds"]} s on {r.get("device", "CPU")}): target `{target}`, its
`{r["hidden_split"]}` split hidden, evidence from {evidence} (every split) and the links.
Model: {notes.get("model", "see the JSON's notes")}.
Dataset: {notes.get("dataset", "see the JSON's notes")}.
Held-out facts that an evidence language has in its training split: {seen} of {n}.{_allowed_note(r)}
Candidates: the {q.get("candidates", "?")} labels of {target} entities ({q.get("candidates_too_long", 0)} too long for the model).{decoding}
K = {r["num_beams"]}, up to {r["max_per_pair"]} objects per pair, every proposal judged against
the {n} hidden {target} facts. Of {q["evidence_pairs"]} evidence pairs, {skipped}; the other {candidate_pairs} are {asked} distinct
{target} queries. They cover {covered} of the {n} hidden facts; the other {n - covered} are not queried
(pairs that {target} still holds with another object, or that no evidence language has). Precision counts
only proposals for pairs with hidden facts (judged); recall is over all {n}.{ranked_queries_note(r)}

- `model`: the model's probability alone (what is left when the objects have no links).
- `model_agreeing`: the same, kept only where an evidence language's object is linked to the
  proposed one.
- `link_projection`: no model; the evidence objects mapped through the links, scored by the
  share of evidence languages naming them.

{markdown_table(r)}

P and R in %, n = proposals kept.

![precision-recall of completion](completion_pr.png)

Reading: at score >= 0.5 the model alone proposes {half["proposals"]} facts at
{pct(half["precision"])} precision ({pct(half["recall"])} recall); keeping its top {r["max_per_pair"]} at any score,
it finds {zero["correct"]} of the {n} hidden facts ({pct(zero["recall"])}) at {pct(zero["precision"])} precision.
Link projection: {projection["correct"]} of {projection["judged"]} judged proposals correct; model proposals
that an evidence language agrees with: {agree["correct"]} of {agree["judged"]}. {_oracle_note(r)}

{_command_heading(notes)}

```
{r["command"]}
```
{END}"""


def _allowed_note(r: Mapping[str, Any]) -> str:
    """A line for a report whose hidden split holds facts the model was trained on
    (`measure --allow_training_facts`): its figures are inflated; empty otherwise."""
    kept = r.get("training_split")
    if not isinstance(kept, Mapping) or not kept.get("allowed"):
        return ""
    share = kept.get("expected_training_share")
    about = f"about {share:.0%}" if isinstance(share, int | float) else "part"
    return (
        f"\n**Inflated figures**: {about} of the hidden split is drawn from the model's "
        "training facts (ranked with `--allow_training_facts`)."
    )


__all__ = [
    "END",
    "METHODS",
    "START",
    "cldr_kb",
    "command_argument",
    "markdown_table",
    "ranked_queries_note",
    "results_block",
    "scored_on_ranked_queries",
]
