"""Checks of what `PrixLMForCausalKB` and `PrixLMModel` are given, kept out of their forward.

- `check_forward_inputs`: `PrixLMForCausalKB.forward`'s arguments; `check_labels`: labels
  a position could copy instead of predict (the causal-LM convention `labels=input_ids`
  under `prefix_bidirectional` attention; any labels under `bidirectional` attention).
- `check_generation_prompt`: `generate()`'s prompt, checked at its first step in
  `prepare_inputs_for_generation`, which runs eagerly when `forward` is compiled (the
  forward's own checks are off while compiling).
- `refuse_compileable_cache`: static (compileable) KV caches, whose fixed-size keys the
  attention mask does not cover.
- `uncached_generation_inputs`: `generate()`'s per-step inputs without a KV cache.

Host reads (device syncs) happen only where the forward's own checks run (`check_inputs`
on, not compiling): the training forward is unchanged.

Hub custom code: imports only torch, transformers and this folder.
"""

from __future__ import annotations

from typing import Any

import torch

from .formatting import IGNORE_INDEX
from .masking_prixlm import _check_prompt_rows, build_packed_attention_mask

#: The keyword arguments that carry a KV cache (`cache` since transformers 5.24).
CACHE_KEYS = ("cache", "past_key_values")
#: `generate()`'s per-step keyword arguments that a step without a KV cache does not forward
#: (`next_sequence_length` would cut the inputs to the new token).
_STEP_ONLY_KEYS = (*CACHE_KEYS, "use_cache", "next_sequence_length", "is_first_iteration",
                   "labels", "cache_position")  # fmt: skip


def inputs_checked(kwargs: dict[str, Any]) -> bool:
    """Whether a forward given `kwargs` validates its inputs on the host: `check_inputs`
    (default True) and not while `torch.compile` traces it."""
    return bool(kwargs.get("check_inputs", True)) and not torch.compiler.is_compiling()


def check_forward_inputs(
    config: Any,
    input_ids: torch.Tensor,
    labels: torch.Tensor | None,
    kwargs: dict[str, Any],
) -> None:
    """`PrixLMForCausalKB.forward`'s checks before encoding: refuse `output_attentions=True`
    (popped from `kwargs`; when not given, `config.output_attentions`, as a model loaded with
    `from_pretrained(..., output_attentions=True)` has it: attention weights are not kept,
    fused attention), then, with `labels` `(batch, query)`, `check_labels`. `input_ids`:
    `(batch, query)`."""
    asked = kwargs.pop("output_attentions", None)
    if asked is None and getattr(config, "output_attentions", False):
        raise ValueError(
            "config.output_attentions=True is not supported: attention weights are not kept "
            "(fused attention); load the model without output_attentions=True or set "
            "model.config.output_attentions = False"
        )
    if asked:
        raise ValueError(
            "output_attentions=True is not supported: attention weights are not kept "
            "(fused attention)"
        )
    if labels is not None:
        check_labels(config, input_ids, labels, kwargs)


def check_labels(
    config: Any, input_ids: torch.Tensor, labels: torch.Tensor, kwargs: dict[str, Any]
) -> None:
    """ValueError for labels that the position scored on them can see.

    A label at position `t` is scored on the logits of position `t - 1`. With
    `object_attention="prefix_bidirectional"` every position up to a row's first `[O]`
    attends to the whole prefix, `[O]` included: a label at positions `1 .. first [O]` is
    visible to the position predicting it (a loss of copying). With `"bidirectional"` every
    label is: labels are refused whatever they hold (no device read: checked always).
    `"causal"` attention sees no later token: nothing to check.

    Args:
        config: the model's `PrixLMConfig` (`object_attention`, `object_token_id`).
        input_ids: `(batch, query)`.
        labels: `(batch, query)` aligned with `input_ids`; -100 is ignored.
        kwargs: the forward's other keyword arguments: `object_attention` (this call's
            mode), `fact_ids` `(batch, query)` (packed rows: checked per fact, each with its
            own first `[O]`), `check_inputs`.
    The prefix check reads one flag on the host (a device sync), only when the forward
    checks its inputs (`inputs_checked`): not on the training collator's path.
    """
    mode = kwargs.get("object_attention") or config.object_attention
    if mode == "bidirectional":
        raise ValueError(
            "labels with object_attention='bidirectional': every position attends to every "
            "other, so each label is visible to the position scored on it and the loss "
            "measures copying, not prediction. Bidirectional attention is for inference "
            "only: compute a loss with object_attention='prefix_bidirectional' or 'causal' "
            "(in the config, or model(..., object_attention=...))"
        )
    object_token_id = config.object_token_id
    if mode != "prefix_bidirectional" or object_token_id is None or not inputs_checked(kwargs):
        return  # without the [O] id, the forward names what to set
    if labels.shape != input_ids.shape:
        raise ValueError(
            f"labels {tuple(labels.shape)} must have the shape of input_ids "
            f"{tuple(input_ids.shape)} (the shift to the next token is done in the model)"
        )
    fact_ids = kwargs.get("fact_ids")
    if fact_ids is not None:
        mask = build_packed_attention_mask(input_ids, fact_ids, object_token_id, mode)
        # position t - 1 attends to position t (padding, fact -1, is no fact's prefix)
        sees_next = mask[:, 0].diagonal(offset=1, dim1=-2, dim2=-1) & (fact_ids[:, 1:] >= 0)
    else:
        is_marker = input_ids == object_token_id
        first_marker = torch.where(is_marker.any(dim=1), is_marker.long().argmax(dim=1), -1)
        targets = torch.arange(1, input_ids.shape[1], device=input_ids.device)
        sees_next = targets[None, :] <= first_marker[:, None]
    leaking = sees_next & (labels[:, 1:] != IGNORE_INDEX)
    if not bool(leaking.any()):
        return
    row, position = (int(i) for i in leaking.nonzero()[0])
    raise ValueError(
        f"row {row}: a label at position {position + 1}, in the prefix of its fact (up to "
        f"and including the first [O], id {object_token_id}): with object_attention="
        "'prefix_bidirectional' every prefix position attends to the whole prefix, so the "
        "position scored on this label sees it and the loss measures copying. The loss is "
        "over the object tokens and [EOS]: give "
        "-100 at every other position (modeling_prixlm.formatting's encode_triple and "
        "encode_link return such labels; the causal-LM convention labels=input_ids, as "
        "DataCollatorForLanguageModeling(mlm=False) builds it, does not fit this model), "
        "or use object_attention='causal' to score every position"
    )


def check_generation_prompt(model: Any, input_ids: torch.Tensor, kwargs: dict[str, Any]) -> None:
    """At `generate()`'s first step (`is_first_iteration`, no cached tokens), refuse a prompt
    `(batch, length)` as the forward does (`build_attention_mask`'s `check_markers` and
    `empty_object_ids`): a row without `[O]`, or whose first `[O]` is followed by `</s>` or
    `<s>` (an empty object: a prompt tokenised with `add_special_tokens=True`).

    `prepare_inputs_for_generation` runs eagerly even when `model.forward` is compiled, so
    the check holds there too. Only with `prefix_bidirectional` attention and
    `check_inputs` not False; one host read (a device sync) per `generate()` call.

    Args:
        model: the `PrixLMForCausalKB`.
        input_ids: `(batch, length)` the prompt.
        kwargs: `generate()`'s model keyword arguments for this step (`attention_mask`
            `(batch, length)`, the cache, `is_first_iteration`, `check_inputs`,
            `check_empty_object`, `object_attention`).
    """
    mode = kwargs.get("object_attention") or model.config.object_attention
    object_token_id = model.config.object_token_id
    if (
        mode != "prefix_bidirectional"
        or object_token_id is None  # the forward names what to set
        or not kwargs.get("is_first_iteration")
        or input_ids.shape[1] == 0
        or not kwargs.get("check_inputs", True)
    ):
        return
    cache = next((kwargs[key] for key in CACHE_KEYS if kwargs.get(key) is not None), None)
    if cache is not None and cache.get_seq_length() > 0:
        return  # continues a cached prefix, as the forward does not check either
    attention_mask = kwargs.get("attention_mask")
    if attention_mask is None:
        attention_mask = (input_ids != model.config.pad_token_id).long()
    is_marker = input_ids == object_token_id
    closing = model.roberta._closing_token_ids() if kwargs.get("check_empty_object", True) else ()
    _check_prompt_rows(
        input_ids, attention_mask, is_marker.any(dim=1), is_marker.long().argmax(dim=1),
        object_token_id, closing,
    )  # fmt: skip


def refuse_compileable_cache(cache: Any) -> None:
    """ValueError for a static (compileable) KV cache, e.g. from `generate(...,
    cache_implementation="static")`: its keys have a fixed length that the attention mask,
    built over the tokens seen so far, does not cover. No device read."""
    if getattr(cache, "is_compileable", False):
        raise ValueError(
            f"{type(cache).__name__}: static (compileable) KV caches are not supported; use "
            "the default dynamic cache (generate() without cache_implementation, or a "
            "transformers DynamicCache)"
        )


def uncached_generation_inputs(input_ids: torch.Tensor, kwargs: dict[str, Any]) -> dict[str, Any]:
    """`generate()`'s inputs for a step without a KV cache: the whole sequence `input_ids`
    `(batch, length)`, `use_cache=False`, and every other keyword argument (the attention
    mask, `output_hidden_states`, `logits_to_keep`, ...) except the cache's."""
    inputs = {key: value for key, value in kwargs.items() if key not in _STEP_ONLY_KEYS}
    inputs.update(input_ids=input_ids, use_cache=False)
    return inputs


__all__ = [
    "check_forward_inputs",
    "check_generation_prompt",
    "check_labels",
    "inputs_checked",
    "refuse_compileable_cache",
    "uncached_generation_inputs",
]
