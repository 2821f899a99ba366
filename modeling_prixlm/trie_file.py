"""The file of an `EntityTrie` (`constrained_decoding`): one safetensors file.

Tensors: `edge_keys` `(num_nodes - 1,)`, `entity_nodes` `(num_entities,)` and
`depth_offsets` `(max_length + 2,)` (int64, as the trie holds them); if the trie has labels,
also `label_bytes` `(total bytes,)` (uint8: the UTF-8 labels one after the other) and
`label_lengths` `(num_entities,)` (bytes per label). Metadata: `format`
(`"prixlm.EntityTrie"`), `version`, `stride` and `eos_token_id`.

Hub custom code: imports only torch and this folder (safetensors, a dependency of
transformers, is imported where files are read or written).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

TRIE_FORMAT = "prixlm.EntityTrie"
TRIE_VERSION = "1"


def write_trie_file(
    path: str,
    edge_keys: torch.Tensor,
    entity_nodes: torch.Tensor,
    depth_offsets: torch.Tensor,
    stride: int,
    eos_token_id: int,
    labels: Sequence[str] | None,
) -> None:
    """Write a trie's tensors (and its labels, if any) to the safetensors file `path`."""
    from safetensors.torch import save_file

    tensors = {
        "edge_keys": edge_keys.cpu(),
        "entity_nodes": entity_nodes.cpu(),
        "depth_offsets": depth_offsets.cpu(),
    }
    if labels is not None:
        encoded = [label.encode("utf-8") for label in labels]
        blob = bytearray(b"".join(encoded))
        tensors["label_bytes"] = (
            torch.frombuffer(blob, dtype=torch.uint8) if blob else torch.zeros(0, dtype=torch.uint8)
        )
        tensors["label_lengths"] = torch.tensor([len(b) for b in encoded], dtype=torch.long)
    metadata = {
        "format": TRIE_FORMAT,
        "version": TRIE_VERSION,
        "stride": str(stride),
        "eos_token_id": str(eos_token_id),
    }
    save_file(tensors, path, metadata=metadata)


def read_trie_file(path: str) -> dict[str, Any]:
    """Read a file written by `write_trie_file`.

    Returns:
        The `EntityTrie` constructor's arguments: `edge_keys`, `entity_nodes`,
        `depth_offsets`, `stride`, `eos_token_id` and `labels` (None if the file has none).
    Raises:
        ValueError: naming `path`, if it is not a trie file, has another version, or its
            edge keys are not strictly increasing (a corrupt file).
    """
    from safetensors import safe_open

    with safe_open(path, framework="pt") as handle:
        metadata = handle.metadata() or {}
        if metadata.get("format") != TRIE_FORMAT:
            raise ValueError(
                f"{path} is not an EntityTrie file (format {metadata.get('format')!r})"
            )
        if metadata.get("version") != TRIE_VERSION:
            raise ValueError(f"{path}: unsupported EntityTrie version {metadata.get('version')!r}")
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    labels = None
    if "label_lengths" in tensors:
        data = tensors["label_bytes"].numpy().tobytes()
        ends = torch.cumsum(tensors["label_lengths"], 0).tolist()
        starts = [0] + ends[:-1]
        labels = [data[s:e].decode("utf-8") for s, e in zip(starts, ends, strict=True)]
    edge_keys = tensors["edge_keys"]
    if edge_keys.numel() > 1 and not bool((edge_keys[1:] > edge_keys[:-1]).all()):
        raise ValueError(f"{path}: edge keys are not strictly increasing (corrupt file)")
    return {
        "edge_keys": edge_keys,
        "entity_nodes": tensors["entity_nodes"],
        "depth_offsets": tensors["depth_offsets"],
        "stride": int(metadata["stride"]),
        "eos_token_id": int(metadata["eos_token_id"]),
        "labels": labels,
    }


__all__ = ["TRIE_FORMAT", "TRIE_VERSION", "read_trie_file", "write_trie_file"]
