"""Bilingual lexicon induction (BLI): supervised orthogonal mapping, CSLS retrieval.

The paper's §3.4 protocol (after Glavaš et al., 2019): embed every word of a train and a test
dictionary with the model, learn an orthogonal map from the source to the target space on
the train pairs, retrieve each test source word's translation by CSLS (k = 10), report
accuracy (= hits@1) and MRR.

Preprocessing: VecMap's normalisation (Artetxe et al.; `unit,center,unit`): each space is
scaled to unit length, mean-centred, scaled to unit length again. Mapping: orthogonal
Procrustes (Glavaš et al.'s PROC)::

    W = U V^T,   U S V^T = SVD(X_train^T Z_train)        (X W ≈ Z, W orthogonal)

This is not VecMap's `--supervised` mode, which after the same normalisation also whitens
both spaces, re-weights them (0.5) and de-whitens; none of that is done here.

Candidates: the distinct target words of the test dictionary only, and CSLS's hubness term
of a target is its mean similarity to the test source words only. VecMap's evaluation
(`eval_translation.py`) searches the whole target vocabulary, with hubness over the whole
source vocabulary; retrieval here is among far fewer candidates, so the scores here are not
comparable to numbers from that setting.

A source word with several gold translations is correct when the best ranked of them is
first: its rank is the smallest rank among its golds.

Dictionaries are the usual `source<TAB>target` text files, one pair per line (MUSE,
Glavaš et al.); `read_dictionary` names the file and line of a malformed one.

Words are compared as `clean_word` writes them (composed, NFC, with every run of whitespace
one space), the form in which the embedder reads them: "Köln" composed and decomposed, or
"New  York" and "New York", are one word with one vector, so one candidate, not two that tie.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch

from prixlm.link_prediction.ranking import ranking_metrics
from prixlm.similarity.bli_dictionary import (
    Pair,
    clean_pairs,
    clean_word,
    read_dictionary,
    write_dictionary,
)
from prixlm.similarity.csls import CSLS, CSLS_K, unit_rows
from prixlm.similarity.embedder import TextEmbedder


def vecmap_normalize(vectors: torch.Tensor) -> torch.Tensor:
    """`(n, d)`: unit length, mean-centred, unit length again (VecMap `unit,center,unit`)."""
    centred = unit_rows(vectors)
    return unit_rows(centred - centred.mean(dim=0, keepdim=True))


def procrustes(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """`(d, d)` orthogonal `W` minimising `||source @ W - target||_F` (rows are pairs).

    Args:
        source, target: `(n_pairs, d)` embeddings of the train dictionary's two sides.
    """
    if source.shape != target.shape or source.dim() != 2:
        raise ValueError(f"source {tuple(source.shape)} and target {tuple(target.shape)} differ")
    u, _, vh = torch.linalg.svd(source.double().T @ target.double())
    return (u @ vh).float()


def bli_ranks(
    source_vectors: torch.Tensor,
    target_vectors: torch.Tensor,
    gold: Sequence[Sequence[int]],
    k: int = CSLS_K,
) -> torch.Tensor:
    """`(n_s,)` rank of each source word's best-ranked gold target under CSLS.

    Args:
        source_vectors: `(n_s, d)` mapped source embeddings; target_vectors: `(n_t, d)`.
        gold: per source row, the target rows of its translations (at least one).
    """
    gold = [sorted(set(golds)) for golds in gold]  # a gold listed twice would tie with itself
    rows = torch.tensor([row for row, golds in enumerate(gold) for _ in golds], dtype=torch.long)
    columns = torch.tensor([column for golds in gold for column in golds], dtype=torch.long)
    if len(set(rows.tolist())) != len(gold):
        raise ValueError("every source word needs at least one gold translation")
    # r_S of the targets over the source words, each once (a word with three translations
    # repeated three times would weigh three times in its targets' hubness)
    pair_ranks = CSLS(source_vectors, target_vectors, k).ranks(columns, rows=rows)
    best = torch.full((len(gold),), float("inf"), dtype=torch.float64)
    best = best.scatter_reduce(0, rows, pair_ranks, reduce="amin")
    # a source's other golds are no competitors (filtered, as XEL's): a gold tied with the
    # best one counted half a place against it (two golds tied at the top: rank 1.5, no
    # hit); tied golds are those of equal realistic rank (equal ranks mean equal scores)
    tied = torch.zeros_like(best).index_add_(0, rows, (pair_ranks == best[rows]).double())
    return best - 0.5 * (tied - 1)


def _normalized_space(embedder: TextEmbedder, words: list[str]) -> dict[str, torch.Tensor]:
    """Each word's `(d,)` embedding after `vecmap_normalize` over all `words` together."""
    return dict(zip(words, vecmap_normalize(embedder.embed(words)), strict=True))


def evaluate_bli(
    embedder: TextEmbedder, train: Sequence[Pair], test: Sequence[Pair], k: int = CSLS_K
) -> dict[str, float | int]:
    """Accuracy (hits@1), hits@10 and MRR of the test dictionary after Procrustes on `train`.

    The candidates are every distinct target word of `test` (not the whole target
    vocabulary, as in VecMap's evaluation), CSLS's hubness over the test source words; see
    the module doc. Each language's words (train and test together) are normalised as one
    space. Words are compared `clean_word`-ed: two spellings of one word are one candidate,
    and a test pair repeated (up to spelling) is one gold.
    """
    train, test = clean_pairs(train), clean_pairs(test)
    if not train or not test:
        raise ValueError(f"BLI needs train and test pairs (got {len(train)} and {len(test)})")
    source_words = sorted({s for s, _ in train} | {s for s, _ in test})
    target_words = sorted({t for _, t in train} | {t for _, t in test})
    source_space = _normalized_space(embedder, source_words)  # one centring per language
    target_space = _normalized_space(embedder, target_words)
    train_sources = torch.stack([source_space[s] for s, _ in train])
    train_targets = torch.stack([target_space[t] for _, t in train])
    mapping = procrustes(train_sources, train_targets)
    # below full rank the train pairs fix the map in only that many directions: the rest is
    # whatever the SVD returns (another SVD implementation moves MRR by a few tenths)
    rank = int(torch.linalg.matrix_rank(train_sources.double().T @ train_targets.double()))
    if rank < mapping.shape[0]:
        warnings.warn(
            f"BLI: {len(train)} train pairs fix the mapping in {rank} of {mapping.shape[0]} "
            "directions; the rest is arbitrary (more train pairs, or a smaller model)",
            stacklevel=2,
        )
    sources = sorted({s for s, _ in test})
    targets = sorted({t for _, t in test})
    target_row = {word: row for row, word in enumerate(targets)}
    golds: dict[str, list[int]] = {s: [] for s in sources}
    for source, target in dict.fromkeys(test):  # a repeated pair is one gold, not two
        golds[source].append(target_row[target])
    mapped = torch.stack([source_space[s] for s in sources]) @ mapping
    candidates = torch.stack([target_space[t] for t in targets])
    ranks = bli_ranks(mapped, candidates, list(golds.values()), k)
    metrics = ranking_metrics(ranks, ks=(1, 10))
    metrics["accuracy"] = metrics["hits_at_1"]
    metrics["num_train_pairs"], metrics["num_test_pairs"] = len(train), len(dict.fromkeys(test))
    metrics["num_candidates"], metrics["mapping_rank"] = len(targets), rank
    return metrics


__all__ = [
    "Pair",
    "bli_ranks",
    "clean_pairs",
    "clean_word",
    "evaluate_bli",
    "procrustes",
    "read_dictionary",
    "vecmap_normalize",
    "write_dictionary",
]
