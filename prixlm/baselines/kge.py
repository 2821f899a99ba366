"""PyKEEN TransE / RotatE on exactly our splits, scored over exactly our candidates.

- Training triples: the `train` split of one language config (`kind == "triple"`), or, for
  the union graph, every language's train triples plus the links as `sameAs` triples
  (entities are `(language, label)` pairs, so a link joins two language-specific entities).
- Entities: every label of the language's triples over all splits, plus the candidates the
  jobs pass as `extra_entities` (the dataset's own, which add the link ends, or a KG's
  entity list: the same set Prix-LM ranks), so an entity seen only in validation/test or
  only in a link keeps its (untrained) embedding and is still a candidate, as for Prix-LM.
- Training: PyKEEN's sLCWA loop with uniform negative sampling and the self-adversarial
  negative-sampling loss (`NSSALoss`: margin gamma, adversarial temperature alpha), Adam.
- Scoring: `KGEScorer.score(queries, candidates)` is a `(num_queries, num_candidates)` tensor,
  higher is better (PyKEEN's `score_t`: minus a distance), the `CandidateScorer` shape.
"""

from __future__ import annotations

import gc
import importlib.util
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import torch

from prixlm.cli import UsageError

SAME_AS = "sameAs"


def require_pykeen() -> None:
    """A `UsageError` saying how to install PyKEEN when it is absent (before any work: the
    baselines' modules import it only when they train)."""
    if importlib.util.find_spec("pykeen") is None:
        raise UsageError(
            'the KGE baselines need PyKEEN, which is not installed: pip install "prixlm[baselines]"'
            " (`make table1` and `make dbp5l` install it)"
        )


#: The entities' initializer per model, as PyKEEN's replication configs of each paper set it
#: (`pykeen/experiments/rotate/sun2019_rotate_*.json`: "uniform"). PyKEEN's RotatE class
#: default, xavier_uniform_, starts every distance near 1, far below the margin of 9, and the
#: model first spends epochs inflating its embeddings: on Table 1's en split, validation MRR
#: at 50 epochs 0.130 with it against 0.277 uniform (dim 128, lr 5e-3, 32 negatives).
ENTITY_INIT = {"TransE": "xavier_uniform", "RotatE": "uniform"}


@dataclass(frozen=True)
class KGEConfig:
    """One point of the search grid (epochs are searched along the run, see `train_kge`)."""

    model: str  # "TransE" | "RotatE"
    embedding_dim: int = 128
    learning_rate: float = 5e-3
    num_negatives: int = 32
    margin: float = 9.0
    adversarial_temperature: float = 1.0
    batch_size: int = 512
    # PyKEEN's name of the entities' initializer; None: the model's own (`ENTITY_INIT`)
    entity_initializer: str | None = None

    def __post_init__(self) -> None:
        if self.entity_initializer is None:
            object.__setattr__(self, "entity_initializer", ENTITY_INIT.get(self.model))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class KGEGraph:
    """Entity/relation vocabularies and the training triples of one graph.

    `entity_ids[(language, label)]` and `relation_ids[relation]` index PyKEEN's embeddings;
    `triples` is `(n, 3)` long (head, relation, tail).
    """

    entity_ids: dict[tuple[str, str], int]
    relation_ids: dict[str, int]
    triples: torch.Tensor

    def factory(self) -> Any:
        """A PyKEEN `CoreTriplesFactory` over the whole entity and relation vocabulary."""
        from pykeen.triples import CoreTriplesFactory

        return CoreTriplesFactory(
            mapped_triples=self.triples,
            num_entities=len(self.entity_ids),
            num_relations=len(self.relation_ids),
        )

    def entity_columns(self, language: str, labels: Sequence[str]) -> torch.Tensor:
        """Embedding rows `(len(labels),)` of `labels` in `language` (KeyError names the label)."""
        try:
            return torch.tensor([self.entity_ids[(language, label)] for label in labels])
        except KeyError as error:
            raise KeyError(f"entity {error.args[0]!r} is not in the KGE graph") from None


def _rows(split: Any) -> list[dict[str, Any]]:
    return split.to_list() if hasattr(split, "to_list") else list(split)


def build_graph(
    language_splits: Mapping[str, Mapping[str, Any]],
    links: Sequence[Mapping[str, Any]] = (),
    extra_entities: Mapping[str, Sequence[str]] | None = None,
) -> KGEGraph:
    """The graph of `language_splits` (`{language: {split: rows}}`) plus `links`.

    Entities: every subject and object label of each language over all its splits, plus
    `extra_entities[language]` (e.g. a KG's whole entity list, the candidates the DBP-5L
    papers rank; an entity no train triple names keeps its initial embedding);
    relations: every relation name over all splits (plus `sameAs` when links are given);
    triples: the train triples of every language and the links between given languages.
    """
    entity_ids: dict[tuple[str, str], int] = {}
    relations: set[str] = set()
    train: list[tuple[tuple[str, str], str, tuple[str, str]]] = []
    for language in sorted(language_splits):
        labels: set[str] = set()
        for split_name, split in language_splits[language].items():
            for row in _rows(split):
                if row["kind"] != "triple":
                    continue
                labels.update((row["subject"], row["object"]))
                relations.add(row["relation"])
                if split_name == "train":
                    head, tail = (language, row["subject"]), (language, row["object"])
                    train.append((head, row["relation"], tail))
        labels.update((extra_entities or {}).get(language, ()))
        for label in sorted(labels):
            entity_ids[(language, label)] = len(entity_ids)
    for row in links:
        head = (row["subject_language"], row["subject"])
        tail = (row["object_language"], row["object"])
        if head in entity_ids and tail in entity_ids:
            train.append((head, SAME_AS, tail))
            relations.add(SAME_AS)
    if not train:
        raise ValueError("no training triples: the train splits are empty")
    relation_ids = {name: i for i, name in enumerate(sorted(relations))}
    triples = torch.tensor(
        [[entity_ids[h], relation_ids[r], entity_ids[t]] for h, r, t in train], dtype=torch.long
    )
    return KGEGraph(entity_ids, relation_ids, triples)


def make_model(graph: KGEGraph, config: KGEConfig, seed: int, device: str) -> Any:
    """A fresh PyKEEN model (`TransE` with the L1 distance, or `RotatE`) with the NSSA loss."""
    from pykeen.losses import NSSALoss
    from pykeen.models import RotatE, TransE

    classes = {"TransE": TransE, "RotatE": RotatE}
    if config.model not in classes:
        raise ValueError(f"model={config.model!r}: expected one of {sorted(classes)}")
    loss = NSSALoss(margin=config.margin, adversarial_temperature=config.adversarial_temperature)
    return classes[config.model](
        triples_factory=graph.factory(),
        embedding_dim=config.embedding_dim,
        loss=loss,
        entity_initializer=config.entity_initializer,
        random_seed=seed,
    ).to(device)


@contextmanager
def heap_frozen() -> Iterator[None]:
    """Every object alive on entry in the collector's permanent generation (`gc.freeze`)
    until exit. PyKEEN's training loop runs a full `gc.collect()` after each epoch, which
    scans the whole heap: in a job process that has imported torch, transformers and PyKEEN
    (~480k objects) that is ~0.25 s an epoch on one CPU core, most of a small KGE search's
    time. What the training makes is still collected. The garbage of before (a finished
    job's Trainer and model, kept by their reference cycles) is collected first, once: frozen,
    it stayed in memory for the whole training. Where the caller froze the heap already
    (`gc.get_freeze_count()`), theirs is left as it is."""
    if gc.get_freeze_count():
        yield
        return
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


#: torch's warning (twice per job on the CPU) for PyKEEN's default `pin_memory=True`
_NO_ACCELERATOR = r"'pin_memory' argument is set as true but no accelerator is found"


def train_kge(
    graph: KGEGraph,
    config: KGEConfig,
    epoch_points: Sequence[int],
    on_point: Callable[[int, Any], bool | None],
    seed: int = 0,
    device: str = "cpu",
) -> Any:
    """Train one model, calling `on_point(epochs, model)` at each of `epoch_points` (ascending).

    One run serves the whole epoch axis of the search: training continues from one point to
    the next with the same optimizer state. `on_point` returning True stops the run there
    (early stopping: `prixlm.experiments.jobs.kge_job`). Returns the model at the last point
    reached. The heap alive before the call is frozen meanwhile (`heap_frozen`).
    """
    from pykeen.training import SLCWATrainingLoop

    if list(epoch_points) != sorted(set(epoch_points)) or epoch_points[0] < 1:
        raise ValueError(f"epoch_points={list(epoch_points)}: expected ascending positive ints")
    with heap_frozen():
        model = make_model(graph, config, seed, device)
        optimizer = torch.optim.Adam(model.get_grad_params(), lr=config.learning_rate)
        factory = graph.factory()
        loop = SLCWATrainingLoop(
            model=model,
            triples_factory=factory,
            optimizer=optimizer,
            negative_sampler="basic",
            negative_sampler_kwargs={"num_negs_per_pos": config.num_negatives},
        )
        on_cpu = torch.device(device).type == "cpu"
        done = 0
        for point in epoch_points:
            with warnings.catch_warnings():
                if on_cpu:  # PyKEEN's first call probes the batch size with its default
                    warnings.filterwarnings("ignore", _NO_ACCELERATOR, UserWarning)
                loop.train(
                    triples_factory=factory,
                    num_epochs=point,
                    batch_size=min(config.batch_size, len(graph.triples)),
                    continue_training=done > 0,
                    use_tqdm=False,
                    use_tqdm_batch=False,
                    pin_memory=not on_cpu,  # pinned memory serves copies to an accelerator
                )
            done = point
            model.eval()
            stop = on_point(point, model)
            model.train()
            if stop:
                break
        return model


class KGEScorer:
    """`score(queries, candidates)`: PyKEEN tail scores `(num_queries, num_candidates)`.

    Queries are dataset rows (`subject`, `relation`, `subject_language`, `object_language`);
    candidates are labels in the queries' object language.
    """

    def __init__(self, model: Any, graph: KGEGraph, batch_size: int = 256):
        self.model, self.graph, self.batch_size = model, graph, batch_size

    @torch.no_grad()
    def score(
        self, queries: Sequence[Mapping[str, Any]], candidates: Sequence[str]
    ) -> torch.Tensor:
        languages = {row["object_language"] for row in queries}
        if len(languages) != 1:
            raise ValueError(f"queries mix object languages {sorted(languages)}: score one")
        columns = self.graph.entity_columns(languages.pop(), candidates)
        heads = [self.graph.entity_ids[(r["subject_language"], r["subject"])] for r in queries]
        relations = [self.graph.relation_ids[r["relation"]] for r in queries]
        device = next(self.model.parameters()).device
        batch = torch.tensor([heads, relations], dtype=torch.long).T
        scores = []
        for start in range(0, len(batch), self.batch_size):
            part = batch[start : start + self.batch_size].to(device)
            scores.append(self.model.score_t(part)[:, columns.to(device)].double().cpu())
        return torch.cat(scores)


__all__ = [
    "SAME_AS",
    "KGEConfig",
    "KGEGraph",
    "KGEScorer",
    "build_graph",
    "make_model",
    "train_kge",
]
