"""Mean reciprocal rank for link prediction: filtered, realistic ties, MRR@K for truncated lists.

Wraps `ranking_rules.py` beside it (the one implementation of the ranking rules, standard
library only; in the prixlm repository a link to `prixlm/link_prediction/ranking_rules.py`)
and `short_lists.py` (the warning for lists shorter than the cutoff; a link to
`evaluate_metrics/short_lists.py`), so it runs without the prixlm package. See README.md.
Loadable offline: `evaluate.load("<repo>/evaluate_metrics/mrr")`.
"""

import numbers
import os
import warnings

import datasets
import evaluate

from .ranking_rules import check_filter_objects, mean_reciprocal_rank, mrr_key, ranks_for_lists
from .short_lists import warn_short_lists

_DESCRIPTION = """\
MRR = mean over queries of 1 / rank of the gold object, after removing the query's other
known true objects (filtered setting), with PyKEEN's realistic rank for ties. When the
prediction lists are truncated (e.g. the entities a beam of size K completed), a gold
missing from its list or ranked below K contributes 0 and the result is reported as
`mrr_at_K`: the MRR over the list's entities, neither above nor below the full-ranking MRR
in general (the list leaves out candidates that a full ranking would place anywhere).
Labels are composed (Unicode NFC) before they are compared.
"""

_KWARGS_DESCRIPTION = """\
Args:
    predictions (`list[list[str]]`): per query, predicted objects, best first.
    references (`list[str]`): per query, the gold object.
    prediction_scores (`list[list[float]]`, optional): per query, one score per prediction,
        higher is better; ties are ranked realistically. Without, the list order is the rank.
        A repeated prediction counts once: with scores its best score, without its first place.
    filter_objects (`list[list[str]]`, optional): per query, the other known true objects,
        removed before ranking (the gold is never removed). A list of strings per query,
        even for one object (`[["Paris"]]`): a string (`["Paris"]`) or an entry that is not a
        string (`[[2]]`) raises TypeError.
    Labels (predictions, references, filter objects) are composed (Unicode NFC), then
    compared as exact strings.
    cutoff (`int`, optional): K when the lists are truncated (key `mrr_at_K`; a gold missing
        or ranked below K counts 0); an integer >= 1 (NumPy's too; not a bool or a float).
        Leave unset for full rankings (key `mrr`); a missing gold then raises ValueError.
        A list shorter than K that lacks its gold warns (UserWarning): it may have been cut
        short (the Prix-LM pipeline's default top_k is 5: pass top_k=num_beams).
    k: ignored (the hits_at_k metric's option; a warning without `cutoff`, which is this
        metric's K), so that `evaluate.combine` of both metrics
        can be called with `k` and `cutoff`.
Returns:
    `{"mrr" or "mrr_at_K": float, "num_queries": int, "num_missing": int}`; `num_missing`
    counts the golds absent from their lists, before any cutoff (as hits_at_k): a gold in
    its list but ranked below K contributes 0 to `mrr_at_K` and is not counted as missing.
Examples:
    >>> mrr = evaluate.load("evaluate_metrics/mrr")
    >>> mrr.compute(predictions=[["b", "a"], ["c"]], references=["a", "x"], cutoff=50)
    {'mrr_at_50': 0.25, 'num_queries': 2, 'num_missing': 1}
"""

_CITATION = """\
@inproceedings{zhou-etal-2022-prix,
  title = {Prix-{LM}: Pretraining for Multilingual Knowledge Base Construction},
  author = {Zhou, Wenxuan and Liu, Fangyu and Vuli{\\'c}, Ivan and Collier, Nigel and Chen, Muhao},
  booktitle = {Proceedings of ACL},
  year = {2022}
}
"""


def _checked_cutoff(cutoff) -> int | None:
    """`cutoff` as an int (Python's or NumPy's integer, no bool) >= 1, or None."""
    if cutoff is None:
        return None
    if not isinstance(cutoff, numbers.Integral) or isinstance(cutoff, bool) or cutoff < 1:
        raise ValueError(f"cutoff={cutoff!r}: expected an integer K >= 1")
    return int(cutoff)


def _discard_cache(module: evaluate.Metric) -> None:
    """Remove the cache files that a `compute` which failed in `_compute` left (evaluate
    removes them after a result only): the files `_finalize` read, their locks released."""
    if module.data is None or module.cache_file_name is not None or module.buf_writer is not None:
        return  # failed before the files were read, or kept in memory: nothing on disk
    held = zip(module.filelocks or [], module.file_paths or [], strict=True)
    for lock, path in reversed(list(held)):
        module.data = module.writer = None
        if os.path.exists(path):
            os.remove(path)
        lock.release()


class Mrr(evaluate.Metric):
    """Filtered mean reciprocal rank over ranked prediction lists."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("string")),
                    "references": datasets.Value("string"),
                }
            ),
        )

    def compute(self, *, predictions=None, references=None, **kwargs):
        """Filtered MRR of the predictions (and of those added by `add_batch`). `cutoff` and
        `filter_objects` are checked first: a call they refuse writes nothing to the metric's
        cache; a call refused while computing (a missing gold without `cutoff`) removes the
        cache file it wrote.
        """
        _checked_cutoff(kwargs.get("cutoff"))
        if kwargs.get("filter_objects") is not None:  # each entry read once (an iterator)
            kwargs["filter_objects"] = check_filter_objects(kwargs["filter_objects"])
        try:
            return super().compute(predictions=predictions, references=references, **kwargs)
        except Exception:
            _discard_cache(self)
            raise

    def _compute(
        self,
        predictions,
        references,
        prediction_scores=None,
        filter_objects=None,
        cutoff=None,
        k=None,
    ):
        if k is not None and cutoff is None:  # `evaluate.combine` passes every keyword to both
            warnings.warn(
                "k is the hits_at_k metric's option, not this one's: this is the MRR of the "
                "whole lists; for MRR@K pass cutoff=K",
                UserWarning,
                stacklevel=2,
            )
        cutoff = _checked_cutoff(cutoff)
        ranks = ranks_for_lists(predictions, references, prediction_scores, filter_objects)
        # num_missing: golds absent from their lists, counted before any cutoff (as hits_at_k)
        missing = sum(rank is None for rank in ranks)
        if cutoff is not None:  # MRR@K: a gold ranked below K (a list longer than K) counts 0
            warn_short_lists(predictions, ranks, "cutoff", cutoff)  # a list cut below K
            ranks = [rank if rank is not None and rank <= cutoff else None for rank in ranks]
        if cutoff is None and missing:
            raise ValueError(
                f"{missing} gold objects are missing from their lists: the lists are "
                "truncated, pass cutoff=K to report MRR@K"
            )
        return {
            mrr_key(cutoff): mean_reciprocal_rank(ranks),
            "num_queries": len(ranks),
            "num_missing": missing,
        }
