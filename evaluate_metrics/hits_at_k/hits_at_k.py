"""Hits@k for link prediction: filtered, with PyKEEN's realistic tie handling.

Wraps `ranking_rules.py` beside it (the one implementation of the ranking rules, standard
library only; in the prixlm repository a link to `prixlm/link_prediction/ranking_rules.py`)
and `short_lists.py` (the warning for lists shorter than k; a link to
`evaluate_metrics/short_lists.py`), so it runs without the prixlm package. See README.md.
Loadable offline: `evaluate.load("<repo>/evaluate_metrics/hits_at_k")`.
"""

import numbers
import os

import datasets
import evaluate

from .ranking_rules import check_filter_objects, hits_at_k, hits_key, ranks_for_lists
from .short_lists import warn_short_lists

#: The cutoffs reported when `k` is not given.
DEFAULT_K = (1, 3, 10)

_DESCRIPTION = """\
hits@k: the fraction of queries whose gold object ranks at most k among the predictions,
after removing the query's other known true objects (filtered setting). With scores, ties
get the realistic rank (mean of optimistic and pessimistic rank, as PyKEEN). A gold
missing from its (truncated) prediction list is a miss. Labels are composed (Unicode NFC)
before they are compared.
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
    k (`int` or `list[int]`, optional, default `[1, 3, 10]`): integers >= 1 (NumPy integers
        too); anything else (a bool, a float, a string) raises ValueError. A list shorter
        than the largest k that lacks its gold warns (UserWarning): it may have been cut
        short (the Prix-LM pipeline's default top_k is 5: pass top_k=num_beams).
    cutoff: ignored (the mrr metric's option), so that `evaluate.combine` of both metrics
        can be called with `k` and `cutoff`.
Returns:
    `{"hits_at_1": float, ..., "num_queries": int, "num_missing": int}`; `num_missing`
    counts the golds absent from their lists (a gold in its list but ranked below k is no
    hit at k, yet not missing).
Examples:
    >>> hits = evaluate.load("evaluate_metrics/hits_at_k")
    >>> hits.compute(predictions=[["b", "a"], ["c"]], references=["a", "x"],
    ...              filter_objects=[["b"], []], k=[1, 3])
    {'hits_at_1': 0.5, 'hits_at_3': 0.5, 'num_queries': 2, 'num_missing': 1}
"""

_CITATION = """\
@inproceedings{zhou-etal-2022-prix,
  title = {Prix-{LM}: Pretraining for Multilingual Knowledge Base Construction},
  author = {Zhou, Wenxuan and Liu, Fangyu and Vuli{\\'c}, Ivan and Collier, Nigel and Chen, Muhao},
  booktitle = {Proceedings of ACL},
  year = {2022}
}
"""


def _is_integer(value) -> bool:
    """An integer, Python's or NumPy's (`numbers.Integral`), but not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _cutoffs(k) -> list[int]:
    """`k` as a list of integers >= 1: one integer (NumPy's too) or a non-empty list of them
    (no bools, floats or strings)."""
    error = ValueError(f"k={k!r}: expected an integer k >= 1 or a non-empty list of them")
    if isinstance(k, (str, bytes)):
        raise error
    try:
        ks = [k] if isinstance(k, numbers.Integral) else list(k)
    except TypeError:
        raise error from None
    if not ks or any(not _is_integer(v) or v < 1 for v in ks):
        raise error
    return [int(v) for v in ks]


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


class HitsAtK(evaluate.Metric):
    """Filtered hits@k over ranked prediction lists."""

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
        """Filtered hits@k of the predictions (and of those added by `add_batch`). `k` and
        `filter_objects` are checked first: a call they refuse writes nothing to the metric's
        cache; a call refused while computing removes the cache file it wrote.
        """
        _cutoffs(kwargs.get("k", DEFAULT_K))
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
        k=DEFAULT_K,
        cutoff=None,
    ):
        del cutoff  # the mrr metric's: `evaluate.combine` passes every keyword to both
        ks = _cutoffs(k)
        ranks = ranks_for_lists(predictions, references, prediction_scores, filter_objects)
        warn_short_lists(predictions, ranks, "k", max(ks))  # a list cut below k misses its gold
        result = {hits_key(value): hits_at_k(ranks, value) for value in ks}
        result["num_queries"] = len(ranks)
        result["num_missing"] = sum(rank is None for rank in ranks)
        return result
