"""Configuration of Prix-LM: an XLM-R encoder trained as a causal LM over KB facts.

Hub custom code: this file imports only `transformers` and is copied next to the weights
by `save_pretrained`, so `AutoConfig.from_pretrained(folder, trust_remote_code=True)` works
without this package installed.
"""

from __future__ import annotations

import operator
import re
from typing import Any

import transformers
from transformers import XLMRobertaConfig

#: The oldest transformers this code is checked with. Older ones load a release wrongly
#: (5.0-5.2: the LM head's bias left at 0, other objects ranked first; 5.3: a meta-device
#: error) or not at all from a folder (below 5.10: this folder's modules imported only
#: through others are not copied into the modules cache).
MIN_TRANSFORMERS = (5, 10)


def _check_transformers_version(version: str) -> None:
    """ImportError naming `version` if it is older than `MIN_TRANSFORMERS`."""
    found = re.match(r"(\d+)\.(\d+)", version)
    if found is not None and tuple(map(int, found.groups())) < MIN_TRANSFORMERS:
        needed = ".".join(map(str, MIN_TRANSFORMERS))
        raise ImportError(
            f"Prix-LM's model code needs transformers >= {needed}; this environment has "
            f"{version} (pip install -U 'transformers>={needed}')"
        )


_check_transformers_version(transformers.__version__)

OBJECT_ATTENTION_MODES = ("prefix_bidirectional", "causal", "bidirectional")
#: The task name of the release folder's pipeline (`pipeline_prixlm.PrixLMLinkPrediction`).
PIPELINE_TASK = "prixlm-link-prediction"
#: `config.custom_pipelines` of a release folder: with it (and `pipeline_prixlm.py` beside the
#: weights) `pipeline(model=folder, trust_remote_code=True)` needs no task name. Written by
#: `prixlm.release.folder.complete_release_folder`, which also copies the pipeline file: a
#: config saved without that file must not declare it.
CUSTOM_PIPELINES = {
    PIPELINE_TASK: {
        "impl": "pipeline_prixlm.PrixLMLinkPrediction",
        "pt": ["AutoModelForCausalLM"],
        "tf": [],
        "type": "text",
    }
}
#: The modules of the model code (this flat folder, `__init__.py` aside) that a saved folder
#: carries: `save_pretrained` copies these names and no other file of the folder it came from.
HUB_CODE_FILES = tuple(
    f"{name}.py"
    for name in (
        "beam_cache beam_search candidate_checks configuration_prixlm constrained_decoding "
        "decoding_steps "
        "encoder_prixlm formatting handler input_guards label_encoding layers_prixlm "
        "linear_cross_entropy "
        "masking_prixlm modeling_prixlm pipeline_prixlm pipeline_queries position_checks "
        "stored_files tokenizer_checks trie_file trie_logits_processor"
    ).split()
)
#: The XLM-R config fields that define the architecture (what a Prix-LM takes from its base).
XLMR_ARCHITECTURE_FIELDS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_act",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "max_position_embeddings",
    "type_vocab_size",
    "initializer_range",
    "layer_norm_eps",
    "pad_token_id",
    "bos_token_id",
    "eos_token_id",
)


def xlmr_architecture(config: XLMRobertaConfig) -> dict:
    """The architecture fields of an XLM-R (or Prix-LM) config, as keyword arguments."""
    return {k: v for k, v in config.to_dict().items() if k in XLMR_ARCHITECTURE_FIELDS}


def _checked_mode(mode: Any) -> str:
    """`mode` if it is one of `OBJECT_ATTENTION_MODES`, else ValueError."""
    if mode not in OBJECT_ATTENTION_MODES:
        raise ValueError(f"object_attention={mode!r}: expected one of {OBJECT_ATTENTION_MODES}")
    return mode


def _checked_multiple(multiple: Any) -> int:
    """`multiple` as an int if it is a whole number >= 1 (`8`, `8.0`, `"8"`), else ValueError."""
    if isinstance(multiple, float) and multiple.is_integer():
        number = int(multiple)
    elif isinstance(multiple, str) and multiple.strip().isdigit():
        number = int(multiple)
    else:
        try:
            number = operator.index(multiple)  # int, numpy integers; not bool (below)
        except TypeError:
            number = 0
    if isinstance(multiple, bool) or number < 1:
        raise ValueError(f"vocab_padding_multiple={multiple!r}: expected an integer >= 1")
    return number


class PrixLMConfig(XLMRobertaConfig):
    r"""XLM-R configuration plus the ids of the fact tokens and the attention pattern.

    Args:
        subject_token_id (`int`): id of `[S]`.
        predicate_token_id (`int`): id of `[P]`.
        object_token_id (`int`): id of `[O]`; its position marks where the object starts.
        end_of_object_token_id (`int`): id of `[EOS]`, the token that ends an object.
        language_token_ids (`dict[str, int]`): language code (`"en"`) -> id of its token (`[en]`).
        vocab_padding_multiple (`int`): the embedding and output projection have
            `padded_vocab_size` rows, `vocab_size` rounded up to this multiple (64: shapes the
            GPU's matrix units like). The extra rows are never produced by the tokenizer and
            their logits are masked out before the softmax, so no probability changes;
            `logits` have `vocab_size` columns. 1 (the default, and any config saved without
            the field): no padding.
        vocabulary_fingerprint (`str`, optional): sha256 of the token -> id map of the
            tokenizer the model was trained with (`tokenizer_checks.vocabulary_fingerprint`),
            compared when a folder's model and tokenizer are loaded together: a tokenizer of
            another build is refused. None (any config saved without it): not compared.
        vocabulary_fingerprint_tokens (`int`, optional): the fingerprint is of the tokens
            whose ids are below this number: the vocabulary the model was trained with, before
            `resize_token_embeddings` added tokens to it (a user's `tokenizer.add_tokens`).
            None: of every token.
        object_attention (`str`):
            - `"prefix_bidirectional"` (the paper, §2.2): every position up to and including
              `[O]` attends to the whole prefix `<s> ... [O]`; object positions attend causally.
            - `"causal"`: every position attends only to itself and earlier positions.
            - `"bidirectional"`: full attention (how the official `decode.py` ran the released
              checkpoint, whose config lacked `is_decoder`); no KV cache in this mode.
        All other arguments are those of `XLMRobertaConfig`.
    """

    model_type = "prixlm"

    def __init__(
        self,
        subject_token_id: int | None = None,
        predicate_token_id: int | None = None,
        object_token_id: int | None = None,
        end_of_object_token_id: int | None = None,
        language_token_ids: dict[str, int] | None = None,
        object_attention: str = "prefix_bidirectional",
        vocab_padding_multiple: int = 1,
        vocabulary_fingerprint: str | None = None,
        vocabulary_fingerprint_tokens: int | None = None,
        **kwargs,
    ) -> None:
        _checked_mode(object_attention)  # before the base class's work
        kwargs.setdefault("is_decoder", True)
        super().__init__(**kwargs)
        self.subject_token_id = subject_token_id
        self.predicate_token_id = predicate_token_id
        self.object_token_id = object_token_id
        self.end_of_object_token_id = end_of_object_token_id
        self.language_token_ids = language_token_ids
        self.object_attention = object_attention
        self.vocab_padding_multiple = vocab_padding_multiple
        self.vocabulary_fingerprint = vocabulary_fingerprint
        self.vocabulary_fingerprint_tokens = vocabulary_fingerprint_tokens

    def __setattr__(self, key: str, value: Any) -> None:
        """Check `object_attention` and `vocab_padding_multiple` whenever they are set: in
        `__init__`, by `AutoConfig.from_pretrained(folder, object_attention=...)` (transformers
        sets such overrides after `__init__`) and by an edit of `model.config`. A mode
        spelled wrongly failed only at the first forward, a multiple below 1 made fewer rows
        than tokens. `language_token_ids=None` is `{}`."""
        if key == "object_attention":
            value = _checked_mode(value)
        elif key == "vocab_padding_multiple":
            value = _checked_multiple(value)
        elif key == "language_token_ids":
            value = dict(value or {})
        super().__setattr__(key, value)

    @property
    def padded_vocab_size(self) -> int:
        """Rows of the embedding and output projection: `vocab_size` rounded up to
        `vocab_padding_multiple`."""
        multiple = getattr(self, "vocab_padding_multiple", 1) or 1
        return -(-self.vocab_size // multiple) * multiple

    @property
    def languages(self) -> list[str]:
        """Language codes that have a token, sorted."""
        return sorted(self.language_token_ids)


__all__ = [
    "CUSTOM_PIPELINES",
    "HUB_CODE_FILES",
    "MIN_TRANSFORMERS",
    "OBJECT_ATTENTION_MODES",
    "PIPELINE_TASK",
    "XLMR_ARCHITECTURE_FIELDS",
    "PrixLMConfig",
    "xlmr_architecture",
]
