"""Decoding constrained to a set of candidate entities (paper §2.3 and Algorithm 1).

`EntityTrie` is a prefix tree over the token sequences of the candidate entities, each
`tok(entity) + [EOS]` (see `formatting.encode_object`), stored as flat tensors:

- nodes are numbered breadth-first, the children of a node in token order, the root is 0;
- edge `e` leads from its parent to node `e + 1` and is stored as the single int64 key
  `parent * stride + token` in `edge_keys` `(num_nodes - 1,)`, which is therefore sorted:
  "children of a node" is a `searchsorted` range and "child by token" one `searchsorted`;
- `entity_nodes` `(num_entities,)` is the `[EOS]` node (a leaf) of each input entity;
  entities that tokenise identically share it, and an entity that is a prefix of another
  is the `[EOS]` child of an inner node;
- `depth_offsets` `(max_length + 2,)`: the nodes at depth `d` are
  `depth_offsets[d] <= node < depth_offsets[d + 1]`.

That is 8 bytes per node, 8 per entity and nothing per query; building is one sort per
depth (no recursion, no Python loop over entities); `save`/`load` write and read one
safetensors file (`trie_file`).

`trie_logits_processor.TrieConstrainedLogitsProcessor` plugs the trie into `generate()`.

Hub custom code: imports only torch and this folder (relative imports).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

import torch

from .formatting import check_no_control_tokens, control_token_ids, special_token_ids
from .label_encoding import encode_labels
from .trie_file import read_trie_file, write_trie_file


def _check_not_a_string(labels: Any) -> None:
    """TypeError for a string where entity names are expected (`"Russia"` for `["Russia"]`)."""
    if isinstance(labels, (str, bytes)):
        raise TypeError(
            f"labels is a string ({labels!r}): expected a list of entity names, e.g. [{labels!r}]"
        )


class EntityTrie:
    """Prefix tree over tokenised candidate entities, as flat tensors (see module docstring).

    Build it with `from_labels` (a tokenizer and entity names), `from_token_ids` (lists of
    ids, each ending in `[EOS]`) or `from_flat` (one id tensor and the lengths).
    """

    def __init__(
        self,
        edge_keys: torch.Tensor,
        entity_nodes: torch.Tensor,
        depth_offsets: torch.Tensor,
        stride: int,
        eos_token_id: int,
        labels: Sequence[str] | None = None,
    ) -> None:
        self.edge_keys = edge_keys.long().contiguous()
        self.entity_nodes = entity_nodes.long().contiguous()
        self.depth_offsets = depth_offsets.long().contiguous()
        self.stride = int(stride)
        self.eos_token_id = int(eos_token_id)
        _check_not_a_string(labels)
        self.labels = list(labels) if labels is not None else None
        if self.labels is not None and len(self.labels) != self.num_entities:
            raise ValueError(f"{len(self.labels)} labels for {self.num_entities} entities")
        self._representatives: tuple[torch.Tensor, torch.Tensor] | None = None
        self._max_children: list[int] | None = None
        self._open_grandchildren: torch.Tensor | None = None
        self._copies: dict[torch.device, EntityTrie] = {}

    # ----------------------------------------------------------------- building
    @classmethod
    def from_flat(
        cls,
        token_ids: torch.Tensor,
        lengths: torch.Tensor,
        eos_token_id: int,
        vocab_size: int | None = None,
        labels: Sequence[str] | None = None,
    ) -> EntityTrie:
        """Build from concatenated sequences.

        Args:
            token_ids: `(total,)` the ids of every entity, one after the other, each entity
                ending with `eos_token_id` (which may not occur elsewhere).
            lengths: `(num_entities,)` tokens per entity, `[EOS]` included.
            vocab_size: the key stride; default `max(token_ids) + 1`.
        """
        token_ids = torch.as_tensor(token_ids, dtype=torch.long)
        lengths = torch.as_tensor(lengths, dtype=torch.long)
        num_entities = lengths.numel()
        if num_entities == 0:
            raise ValueError("no candidate entities: the trie needs at least one")
        if int(lengths.sum()) != token_ids.numel():
            raise ValueError(f"lengths sum to {int(lengths.sum())}, got {token_ids.numel()} ids")
        ends = torch.cumsum(lengths, 0)
        short = (lengths < 2).nonzero()
        if short.numel():
            raise ValueError(f"entity {int(short[0])} has no token before [EOS]")
        if not bool((token_ids[ends - 1] == eos_token_id).all()):
            bad = int((token_ids[ends - 1] != eos_token_id).nonzero()[0])
            raise ValueError(f"entity {bad} does not end with [EOS] (id {eos_token_id})")
        if int((token_ids == eos_token_id).sum()) != num_entities:
            raise ValueError(f"[EOS] (id {eos_token_id}) occurs inside an entity")
        stride = int(token_ids.max()) + 1 if vocab_size is None else int(vocab_size)
        if int(token_ids.min()) < 0 or int(token_ids.max()) >= stride:
            raise ValueError(f"token ids must lie in [0, {stride})")
        order = torch.argsort(lengths, descending=True, stable=True)
        starts = (ends - lengths)[order]
        # active[d] = number of entities longer than d (a prefix of `order`)
        max_length = int(lengths.max())
        active = num_entities - torch.cumsum(torch.bincount(lengths, minlength=max_length + 1), 0)
        node = torch.zeros(num_entities, dtype=torch.long)
        chunks, depth_offsets = [], [0, 1]
        for depth in range(max_length):
            rows = int(active[depth])
            keys = node[:rows] * stride + token_ids[starts[:rows] + depth]
            unique, inverse = torch.unique(keys, sorted=True, return_inverse=True)
            node[:rows] = depth_offsets[-1] + inverse
            chunks.append(unique)
            depth_offsets.append(depth_offsets[-1] + unique.numel())
        entity_nodes = torch.empty_like(node)
        entity_nodes[order] = node
        return cls(
            torch.cat(chunks),
            entity_nodes,
            torch.tensor(depth_offsets),
            stride,
            eos_token_id,
            labels,
        )

    @classmethod
    def from_token_ids(
        cls,
        sequences: Iterable[Sequence[int]],
        eos_token_id: int,
        vocab_size: int | None = None,
        labels: Sequence[str] | None = None,
    ) -> EntityTrie:
        """Build from one id list per entity, each ending with `eos_token_id`."""
        sequences = list(sequences)
        lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
        flat = torch.tensor(list(chain.from_iterable(sequences)), dtype=torch.long)
        return cls.from_flat(flat, lengths, eos_token_id, vocab_size, labels)

    @classmethod
    def from_labels(
        cls, tokenizer: Any, labels: Sequence[str], encoded: Sequence[Sequence[int]] | None = None
    ) -> EntityTrie:
        """Tokenise entity names as `formatting.encode_object` does (unless `encoded` gives
        their ids, tokenised so) and build the trie; TypeError for a string `labels`."""
        _check_not_a_string(labels)
        labels = list(labels)
        if not labels:
            raise ValueError("no candidate entities: the trie needs at least one")
        eos = special_token_ids(tokenizer, ()).end_of_object
        for label in labels:
            if not isinstance(label, str):
                raise ValueError(f"candidate entity {label!r} tokenises to nothing")
        if encoded is None:
            encoded = encode_labels(tokenizer, labels)
        controls = control_token_ids(tokenizer)  # looked up once, not once a label
        for label, ids in zip(labels, encoded, strict=True):
            if not ids:
                raise ValueError(f"candidate entity {label!r} tokenises to nothing")
            if not controls.isdisjoint(ids):  # the error naming the label and its token
                check_no_control_tokens(tokenizer, label, ids, "candidate entity")
        return cls.from_token_ids(
            (list(ids) + [eos] for ids in encoded), eos, len(tokenizer), labels
        )

    # ----------------------------------------------------------------- properties
    @property
    def num_nodes(self) -> int:
        return self.edge_keys.numel() + 1

    @property
    def num_entities(self) -> int:
        return self.entity_nodes.numel()

    @property
    def max_length(self) -> int:
        """Tokens in the longest entity, `[EOS]` included."""
        return self.depth_offsets.numel() - 2

    @property
    def nbytes(self) -> int:
        """Bytes of the trie's tensors (labels excluded)."""
        return sum(
            t.numel() * t.element_size()
            for t in (self.edge_keys, self.entity_nodes, self.depth_offsets)
        )

    def entity_lengths(self) -> torch.Tensor:
        """`(num_entities,)` tokens per entity, `[EOS]` included."""
        return torch.searchsorted(self.depth_offsets, self.entity_nodes, right=True) - 1

    # ----------------------------------------------------------------- traversal
    def children(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Every allowed next token of a batch of states, as flat (ragged) tensors.

        Args:
            states: `(batch,)` node ids; -1 (a dead state) has no children.
        Returns:
            `(row, token, child)`, each `(total,)`: pair `i` says that state `states[row[i]]`
            may continue with `token[i]`, reaching node `child[i]`; grouped by row in
            increasing row order, tokens ascending within a row.
        """
        states = states.long()
        alive = states >= 0
        low = torch.searchsorted(self.edge_keys, states * self.stride)
        high = torch.searchsorted(self.edge_keys, (states + 1) * self.stride)
        counts = torch.where(alive, high - low, torch.zeros_like(low))
        rows = torch.repeat_interleave(torch.arange(states.numel(), device=states.device), counts)
        firsts = torch.cumsum(counts, 0) - counts
        edges = torch.repeat_interleave(low - firsts, counts) + torch.arange(
            rows.numel(), device=states.device
        )
        return rows, self.edge_keys[edges] % self.stride, edges + 1

    def child_ranges(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`(batch,)` states -> `(first edge, number of children)`, each `(batch,)`.

        The children of `states[i]` are the edges `first[i] <= e < first[i] + count[i]`
        (nodes `e + 1`), tokens ascending; a dead state (-1) has none. No host sync.
        """
        states = states.long()
        low = torch.searchsorted(self.edge_keys, states * self.stride)
        high = torch.searchsorted(self.edge_keys, (states + 1) * self.stride)
        return low, torch.where(states >= 0, high - low, torch.zeros_like(low))

    def children_padded(
        self, first: torch.Tensor, count: torch.Tensor, start: int, width: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Children `start .. start + width - 1` of each state, padded to a rectangle.

        Args:
            first, count: `child_ranges` of `(batch,)` states.
        Returns:
            `(token, child, valid)`, each `(batch, width)`: the `j`-th child's token and node
            where `valid` (tokens ascending along a row); padding repeats a real edge. Fixed
            shapes: no host sync, unlike `children`.
        """
        offsets = torch.arange(start, start + width, device=first.device)
        valid = offsets[None, :] < count[:, None]
        edges = (first[:, None] + offsets[None, :]).clamp(max=max(self.num_nodes - 2, 0))
        return self.edge_keys[edges] % self.stride, edges + 1, valid

    def max_children(self) -> list[int]:
        """The most children of any node at each depth `0 .. max_length - 1` (host ints)."""
        if self._max_children is None:
            parents = (self.edge_keys // self.stride).cpu()
            counts = torch.bincount(parents, minlength=self.num_nodes)
            offsets = self.depth_offsets.cpu().tolist()
            self._max_children = [
                int(counts[offsets[d] : offsets[d + 1]].max()) for d in range(self.max_length)
            ]
        return self._max_children

    def open_grandchildren(self) -> torch.Tensor:
        """`(num_nodes,)` the grandchildren of each node that are not `[EOS]` (entities go on).

        A bound the device-resident beam search reads two steps ahead: the beams two
        steps after a set of beams are among these.
        """
        if self._open_grandchildren is None:
            parents, tokens = self.parents_and_tokens()
            parents, tokens = parents[1:].cpu(), tokens[1:].cpu()
            open_children = torch.bincount(
                parents[tokens != self.eos_token_id], minlength=self.num_nodes
            )
            grandchildren = torch.zeros(self.num_nodes, dtype=torch.long)
            grandchildren.index_add_(0, parents, open_children[1:])
            self._open_grandchildren = grandchildren.to(self.edge_keys.device)
        return self._open_grandchildren

    def step(self, states: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """`(batch,)` states and tokens -> `(batch,)` child states, -1 where not allowed."""
        states, tokens = states.long(), tokens.long()
        keys = states * self.stride + tokens
        found = torch.searchsorted(self.edge_keys, keys).clamp(max=self.edge_keys.numel() - 1)
        allowed = (
            (states >= 0) & (tokens >= 0) & (tokens < self.stride) & (self.edge_keys[found] == keys)
        )
        return torch.where(allowed, found + 1, torch.full_like(found, -1))

    def walk(self, token_ids: torch.Tensor, states: torch.Tensor | None = None) -> torch.Tensor:
        """States after reading `token_ids` `(batch, length)` from `states` (default: root)."""
        if states is None:
            states = torch.zeros(token_ids.shape[0], dtype=torch.long, device=token_ids.device)
        for column in range(token_ids.shape[1]):
            states = self.step(states, token_ids[:, column])
        return states

    def allowed_tokens(self, prefix: Sequence[int]) -> list[int]:
        """Allowed next tokens after one (generated) prefix; `[]` if none."""
        state = self.walk(torch.as_tensor([list(prefix)], dtype=torch.long).view(1, -1))
        return self.children(state)[1].tolist()

    # ----------------------------------------------------------------- entities
    def _leaf_index(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Sorted distinct leaves and, for each, its first (representative) entity."""
        if self._representatives is None:
            leaves, order = torch.sort(self.entity_nodes, stable=True)
            distinct, counts = torch.unique_consecutive(leaves, return_counts=True)
            firsts = torch.cumsum(counts, 0) - counts
            self._representatives = (distinct, order[firsts])
        return self._representatives

    def entity_of(self, nodes: torch.Tensor) -> torch.Tensor:
        """`(n,)` nodes -> the first entity ending there, or -1 if no entity ends there.

        Entities that tokenise identically collapse into their first one (as `lp.py`).
        """
        distinct, representative = self._leaf_index()
        found = torch.searchsorted(distinct, nodes).clamp(max=distinct.numel() - 1)
        return torch.where(distinct[found] == nodes, representative[found], -1)

    def representatives(self) -> torch.Tensor:
        """`(num_distinct,)` the first entity of each distinct tokenisation, by node id."""
        return self._leaf_index()[1]

    def parents_and_tokens(self) -> tuple[torch.Tensor, torch.Tensor]:
        """`(num_nodes,)` parent and incoming token of every node (-1 for the root)."""
        minus_one = torch.full((1,), -1, dtype=torch.long)
        return (
            torch.cat([minus_one, self.edge_keys // self.stride]),
            torch.cat([minus_one, self.edge_keys % self.stride]),
        )

    def token_ids(self, entity: int) -> list[int]:
        """The ids of entity `entity`, `[EOS]` included."""
        node, ids = int(self.entity_nodes[entity]), []
        while node > 0:
            key = int(self.edge_keys[node - 1])
            ids.append(key % self.stride)
            node = key // self.stride
        return ids[::-1]

    def label(self, entity: int) -> str | None:
        return None if self.labels is None else self.labels[entity]

    def to(self, device: torch.device | str) -> EntityTrie:
        """The same trie with its tensors on `device` (e.g. the GPU that runs `generate`).

        The copy is kept: moving the same trie to the same device again returns it (one
        transfer per trie and device, however many batches are decoded).
        """
        device = torch.device(device)
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        if self.edge_keys.device == device:
            return self
        if device not in self._copies:
            copy = EntityTrie(
                self.edge_keys.to(device),
                self.entity_nodes.to(device),
                self.depth_offsets.to(device),
                self.stride,
                self.eos_token_id,
                self.labels,
            )
            copy._max_children = self.max_children()
            copy._open_grandchildren = self.open_grandchildren().to(device)
            copy._representatives = tuple(t.to(device) for t in self._leaf_index())
            self._copies[device] = copy
        return self._copies[device]

    # ----------------------------------------------------------------- files
    def save(self, path: str) -> None:
        """Write the trie (and its labels, if any) to a safetensors file (`trie_file`)."""
        write_trie_file(
            path,
            self.edge_keys,
            self.entity_nodes,
            self.depth_offsets,
            self.stride,
            self.eos_token_id,
            self.labels,
        )

    @classmethod
    def load(cls, path: str) -> EntityTrie:
        """Read a trie written by `save`."""
        return cls(**read_trie_file(path))

    def __repr__(self) -> str:
        return (
            f"EntityTrie(entities={self.num_entities}, nodes={self.num_nodes}, "
            f"max_length={self.max_length}, bytes={self.nbytes})"
        )


__all__ = ["EntityTrie", "encode_labels"]
