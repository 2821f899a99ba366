"""Which hits@k a link-prediction evaluation reports, and the table `evaluate_lp` prints.

Full mode ranks every candidate exactly: hits@1, hits@3 and hits@10 are all reported. Beam
mode (the paper's Algorithm 1 with K beams) ranks only the entities its search completes, and
a gold outside them is a miss: hits@k for k > K would count as misses golds that an exact
ranking places within k, so it is not hits@k and is not reported (no key in the metrics or in
`evaluate_lp`'s JSON, `–` in the table, no entry in a model card). `--num_beams 10` or more
(or `--mode full`) reports hits@10.
"""

from __future__ import annotations

from collections.abc import Mapping

from prixlm.link_prediction.ranking_rules import hits_key, metric_label, mrr_key

#: The k of every hits@k reported (in beam mode, those up to K only: `reported_ks`).
KS = (1, 3, 10)
#: The line under the table: its rates are percentages (an MRR of 0.01 shows as 1.0).
UNITS_NOTE = "hits@k and MRR in %"
#: A table cell without a value: a metric not reported.
NOT_REPORTED = "–"


def reported_ks(mode: str, num_beams: int | None, ks: tuple[int, ...] = KS) -> tuple[int, ...]:
    """The k of each hits@k reported: every k of `ks` in full mode; in beam mode the k up to
    K=`num_beams` (a list of K beams cannot place a gold at rank k > K)."""
    if mode != "beam" or num_beams is None:
        return ks
    return tuple(k for k in ks if k <= num_beams)


def unreported_note(mode: str, num_beams: int | None) -> str | None:
    """A line saying which hits@k a beam of K=`num_beams` leaves out and how to get them, or
    None when every k of `KS` is reported."""
    left_out = [k for k in KS if k not in reported_ks(mode, num_beams)]
    if not left_out:
        return None
    shown = ", ".join(f"hits@{k}" for k in left_out)
    return (
        f"{shown}: not reported with --num_beams {num_beams} (a gold outside the {num_beams} "
        f"beams is a miss); use --num_beams {max(left_out)} or more, or --mode full"
    )


def _cell(metrics: Mapping[str, float | int | None], key: str) -> str:
    """A metric in %, one decimal; `NOT_REPORTED` where it is absent or None."""
    value = metrics.get(key)
    return NOT_REPORTED if value is None else f"{100 * value:.1f}"


def markdown_table(
    results: Mapping[str, Mapping[str, float | int | None]], mode: str, num_beams: int | None
) -> str:
    """One row per language: queries, candidates, hits@1/3/10 and MRR (in %, which the line
    under the table says: `UNITS_NOTE`); a hits@k not reported (beam mode, k > K:
    `reported_ks`) shows `–`."""
    mrr = mrr_key(num_beams if mode == "beam" else None)
    reported = reported_ks(mode, num_beams)
    hits = " | ".join(f"hits@{k}" for k in KS)
    lines = [
        f"| language | queries | candidates | {hits} | {metric_label(mrr)} |",
        "|---|---:|---:|" + "---:|" * (len(KS) + 1),
    ]
    for language, m in results.items():
        cells = [_cell(m, hits_key(k)) if k in reported else NOT_REPORTED for k in KS]
        values = " | ".join([*cells, _cell(m, mrr)])
        lines.append(f"| {language} | {m['num_queries']} | {m['num_candidates']} | {values} |")
    return "\n".join([*lines, "", UNITS_NOTE])


__all__ = ["KS", "NOT_REPORTED", "UNITS_NOTE", "markdown_table", "reported_ks", "unreported_note"]
