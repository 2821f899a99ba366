"""Text embeddings: the `TextEmbedder` interface and Prix-LM's implementation.

A `TextEmbedder` maps texts to one vector each, `(len(texts), dim)` float32 on the CPU. The
similarity tasks (cross-lingual entity linking, bilingual lexicon induction, probing) and
Mirror-BERT tuning use only this interface, so any encoder can stand in for Prix-LM.

`PrixLMEmbedder` runs `PrixLMForCausalKB.embed` (bidirectional attention over
`<s> text </s>`, first-token or mean pooling) in eval mode, in batches of texts of similar
length (padding never changes a result: batch-size invariant up to float rounding). Each
distinct text is run once, so identical texts get bit-identical vectors (exact ties stay ties)::

    embedder = PrixLMEmbedder.from_pretrained("outputs/demo/run/model")  # first-token pooling
    vectors = embedder.embed(["Germany", "Deutschland"])  # (2, hidden)

`EncoderEmbedder` does the same for any `transformers` encoder folder (`AutoModel`: the
plain-text masked-LM baseline, XLM-R); `load_embedder(folder)` picks the right one. Both keep
only one batch of activations alive: 100k+ texts cost `(n, hidden)` floats plus one batch.

Pooling: every entry point (these classes, `PrixLMForCausalKB.embed`, the xel, study and
mirror commands) defaults to `DEFAULT_POOLING`, `"first"` (the `<s>`/[CLS] state: the
Mirror-BERT and XL-BEL setup). A Mirror-tuned folder records the pooling it was tuned with
in its config (`POOLING_CONFIG_KEY`); `pooling=None` (the default) uses that one, else
`DEFAULT_POOLING`. A folder Mirror-tuned with mean pooling before the config recorded it
(no `prixlm_pooling` in its `config.json`) is therefore read with first-token pooling, not
the pooling it was tuned with: pass `pooling="mean"` (`--pooling mean` on the command line),
or add `"prixlm_pooling": "mean"` to its `config.json`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import torch

from modeling_prixlm.decoding_steps import eval_mode
from modeling_prixlm.modeling_prixlm import DEFAULT_POOLING, POOLING_CONFIG_KEY
from modeling_prixlm.modeling_prixlm import EMBEDDING_POOLING as POOLING_MODES

#: Texts tokenised at a time: all of 100k texts at once held ~340 MiB of tokenizer objects.
TOKENIZE_CHUNK = 4096


@runtime_checkable
class TextEmbedder(Protocol):
    """Anything that embeds texts."""

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """`(len(texts), dim)` float32 CPU tensor, one row per text, in order."""
        ...


class PrixLMEmbedder:
    """Embeddings of a Prix-LM (`PrixLMForCausalKB.embed`), batched.

    Args:
        model: a `PrixLMForCausalKB` (any device; its mode is restored after each call).
        tokenizer: its tokenizer; texts are encoded with special tokens (`<s> text </s>`)
            and truncated to `max_length` (default: the model's position budget).
        pooling: `"first"` (the `<s>` token's hidden state) or `"mean"` over the tokens;
            `None` (default): `model_pooling(model.config)`, the pooling a Mirror-tuned model
            was tuned with, else `DEFAULT_POOLING` (`"first"`).
        batch_size: texts per forward.
        progress: show a tqdm bar over the batches.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        pooling: str | None = None,
        batch_size: int = 64,
        max_length: int | None = None,
        progress: bool = False,
    ):
        if pooling is None:
            pooling = model_pooling(model.config)
        elif pooling not in POOLING_MODES:
            raise ValueError(f"pooling={pooling!r}: expected one of {POOLING_MODES}")
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be >= 1")
        config = model.config
        budget = config.max_position_embeddings - config.pad_token_id - 1  # XLM-R positions
        if max_length is not None and not 2 <= max_length <= budget:
            raise ValueError(f"max_length={max_length}: expected 2..{budget} (position budget)")
        self.model, self.tokenizer = model, tokenizer
        self.pooling, self.batch_size = pooling, batch_size
        self.max_length = max_length or budget
        self.progress = progress

    @classmethod
    def from_pretrained(
        cls, name_or_path: str, device: str | torch.device = "cpu", **kwargs: Any
    ) -> PrixLMEmbedder:
        """Load a saved Prix-LM folder (or Hub id); `kwargs` go to `PrixLMEmbedder`."""
        from prixlm.model_loading import load_prixlm

        model, tokenizer = load_prixlm(name_or_path, str(device))
        return cls(model, tokenizer, **kwargs)

    @property
    def dim(self) -> int:
        """The embedding size (the model's hidden size)."""
        return int(self.model.config.hidden_size)

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """`(len(texts), hidden)` float32 CPU embeddings, in the order of `texts`."""
        return _embed_batched(self, texts, self._forward)

    def _forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model.embed(input_ids, attention_mask, pooling=self.pooling)


class EncoderEmbedder(PrixLMEmbedder):
    """Embeddings of any `transformers` encoder (`AutoModel`, e.g. an XLM-R masked LM).

    Same arguments as `PrixLMEmbedder`; `model` is a base model or a model with a base model
    (`model.base_model`) whose output has `last_hidden_state` `(batch, length, hidden)`.
    """

    @classmethod
    def from_pretrained(
        cls, name_or_path: str, device: str | torch.device = "cpu", **kwargs: Any
    ) -> EncoderEmbedder:
        """Load an encoder folder (or Hub id) with `AutoModel`, transformers' classes only
        (no code of the folder is run); `kwargs` go to the class."""
        from transformers import AutoModel, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=False)
        model = AutoModel.from_pretrained(
            name_or_path, add_pooling_layer=False, trust_remote_code=False, use_kernels=False
        )  # no Hub kernels: nothing is fetched at run time
        return cls(model.to(device).eval(), tokenizer, **kwargs)

    def _forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return encoder_pooled(self.model, input_ids, attention_mask, self.pooling)


def model_pooling(config: Any) -> str:
    """The pooling recorded in a model's config (`POOLING_CONFIG_KEY`, written by Mirror
    tuning), else `DEFAULT_POOLING`. `ValueError` naming the attribute for another value.

    A config without the key gives `DEFAULT_POOLING` even where the folder was Mirror-tuned
    with mean pooling before the key was written: such a folder needs `pooling="mean"`, or
    `"prixlm_pooling": "mean"` added to its `config.json`."""
    pooling = getattr(config, POOLING_CONFIG_KEY, None)
    if pooling is None:
        return DEFAULT_POOLING
    if pooling not in POOLING_MODES:
        folder = getattr(config, "_name_or_path", "")
        where = f"{folder}/config.json" if folder else "the model's config"
        raise ValueError(
            f"{where}: {POOLING_CONFIG_KEY}={pooling!r}: expected one of {POOLING_MODES}"
        )
    return str(pooling)


def encoder_pooled(
    model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, pooling: str
) -> torch.Tensor:
    """`(batch, hidden)` pooled last hidden states of an encoder (gradients flow).

    `input_ids`, `attention_mask`: `(batch, length)`, right-padded; `"first"` takes position 0.
    """
    if hasattr(model, "embed"):  # Prix-LM: bidirectional attention over the text
        return model.embed(input_ids, attention_mask, pooling=pooling)
    base = getattr(model, "base_model", model)
    hidden = base(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    if pooling == "first":
        return hidden[:, 0]
    weights = attention_mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def load_embedder(folder: str, **kwargs: Any) -> PrixLMEmbedder:
    """`PrixLMEmbedder` for a Prix-LM folder, `EncoderEmbedder` for any other model folder
    (whose own code, if its config names any, is not run: `prixlm.model_loading.is_prixlm`).

    `kwargs` go to the class; without `pooling`, the folder's recorded pooling (a
    Mirror-tuned folder's), else `DEFAULT_POOLING` (`"first"`)."""
    from prixlm.model_loading import is_prixlm

    if is_prixlm(folder):
        return PrixLMEmbedder.from_pretrained(folder, **kwargs)
    return EncoderEmbedder.from_pretrained(folder, **kwargs)


def _embed_batched(embedder: PrixLMEmbedder, texts: Sequence[str], forward: Any) -> torch.Tensor:
    """Run `forward(input_ids, attention_mask) -> (batch, hidden)` over `texts` in batches.

    Each distinct token sequence (a text as the model reads it: NFC-composed, truncated) is
    embedded once and its vector copied to every text that reads as it. Identical texts thus
    get bit-identical vectors whatever their batch neighbours, batch size or thread count (the
    exact ties of XEL's homonyms stay ties), and repeated texts cost nothing."""
    from prixlm.library_bars import progress_bar

    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not one string")
    texts = list(texts)  # a NumPy array, a pandas Series or a generator: read once
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{index}] is a {type(text).__name__}, not a string")
    if not texts:
        return torch.empty(0, embedder.dim, dtype=torch.float32)
    tokenizer, model = embedder.tokenizer, embedder.model
    distinct: dict[tuple[int, ...], int] = {}  # token ids -> row, in order of first occurrence
    rows: list[int] = []  # the distinct row of each text
    for start in range(0, len(texts), TOKENIZE_CHUNK):  # the tokenizer's objects per chunk only
        # composed (NFC) as `modeling_prixlm.formatting` encodes every fact in training: the
        # trained tokenizers have no normaliser, and a decomposed name read as other tokens
        chunk = [unicodedata.normalize("NFC", t) for t in texts[start : start + TOKENIZE_CHUNK]]
        encoded = tokenizer(
            chunk, truncation=True, max_length=embedder.max_length, return_attention_mask=False
        )["input_ids"]
        rows += [distinct.setdefault(tuple(sequence), len(distinct)) for sequence in encoded]
    ids = list(distinct)
    out = torch.empty(len(ids), embedder.dim, dtype=torch.float32)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # little padding per batch
    device = next(model.parameters()).device
    starts = range(0, len(order), embedder.batch_size)
    with torch.no_grad(), eval_mode(model):
        for start in progress_bar(starts, desc="embed", disable=not embedder.progress, leave=False):
            batch = order[start : start + embedder.batch_size]
            input_ids, attention_mask = _right_padded(
                [ids[i] for i in batch], tokenizer.pad_token_id
            )
            vectors = forward(input_ids.to(device), attention_mask.to(device))
            out[batch] = vectors.float().cpu()
    if len(ids) == len(texts):  # no repeats: the rows are already in the order of `texts`
        return out
    return out[rows]


def _right_padded(
    sequences: Sequence[Sequence[int]], pad: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """`(n, longest)` ids and attention mask, padded on the right."""
    width = max(map(len, sequences))
    input_ids = torch.full((len(sequences), width), pad, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        input_ids[row, : len(sequence)] = torch.tensor(sequence)
        attention_mask[row, : len(sequence)] = 1
    return input_ids, attention_mask


__all__ = [
    "DEFAULT_POOLING",
    "POOLING_CONFIG_KEY",
    "POOLING_MODES",
    "EncoderEmbedder",
    "PrixLMEmbedder",
    "TextEmbedder",
    "encoder_pooled",
    "load_embedder",
    "model_pooling",
]
