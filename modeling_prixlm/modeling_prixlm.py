"""Prix-LM: XLM-R trained as a causal LM over KB facts (paper §2.2).

`PrixLMForCausalKB` is the encoder (`PrixLMModel`, `encoder_prixlm.py`: the XLM-R encoder
with the partial-causal attention of the paper) with XLM-R's LM head, the object-only loss,
`generate()` and entity embeddings (`embed`). Parameter names are XLM-R's (`roberta.*`,
`lm_head.*`), so any XLM-R checkpoint loads into them.

Hub custom code: imports only torch, transformers and this folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import GenerationMixin
from transformers.cache_utils import Cache
from transformers.modeling_outputs import CausalLMOutputWithCrossAttentions

from .beam_cache import BeamCache
from .configuration_prixlm import HUB_CODE_FILES, PrixLMConfig, xlmr_architecture
from .encoder_prixlm import PrixLMModel, PrixLMPreTrainedModel
from .formatting import IGNORE_INDEX
from .input_guards import check_forward_inputs, check_generation_prompt, uncached_generation_inputs
from .layers_prixlm import PrixLMLayerNorm, PrixLMLMHead
from .linear_cross_entropy import logits_loss, per_item_loss
from .stored_files import (
    CANDIDATES_FILE,
    RELATIONS_FILE,
    StoredFiles,
    carry_hub_code,
    carry_stored_files,
)
from .tokenizer_checks import fingerprint_after_resize, vocabulary_fingerprint
from .trie_logits_processor import check_new_tokens

#: The KV-cache field of transformers' model outputs (`cache` since 5.24, `past_key_values`
#: before: training runs on older images too).
_CACHE_FIELD = (
    "cache"
    if "cache" in CausalLMOutputWithCrossAttentions.__dataclass_fields__
    else "past_key_values"
)
#: Pooling modes of `PrixLMForCausalKB.embed`.
EMBEDDING_POOLING = ("mean", "first")
#: The pooling of every embedding entry point (the Mirror-BERT/XL-BEL setup): the first token.
DEFAULT_POOLING = "first"
#: The config attribute in which Mirror tuning records its pooling (saved in config.json);
#: `embed(pooling=None)` and the embedders use it, else `DEFAULT_POOLING`.
POOLING_CONFIG_KEY = "prixlm_pooling"
AUTO_MAP = {
    "AutoConfig": "configuration_prixlm.PrixLMConfig",
    "AutoModel": "modeling_prixlm.PrixLMForCausalKB",
    "AutoModelForCausalLM": "modeling_prixlm.PrixLMForCausalKB",
}


def output_cache(output: Any) -> Any:
    """The KV cache of a causal-LM output, whatever transformers calls its field."""
    return getattr(output, _CACHE_FIELD)


class PrixLMForCausalKB(PrixLMPreTrainedModel, GenerationMixin):
    """Prix-LM with XLM-R's LM head: completes `<s>[S] s </s></s>[P] p </s></s>[O]` with an object."""

    _tied_weights_keys = {
        "lm_head.decoder.weight": "roberta.embeddings.word_embeddings.weight",
        "lm_head.decoder.bias": "lm_head.bias",
    }

    def __init__(self, config: PrixLMConfig) -> None:
        super().__init__(config)
        self.roberta = PrixLMModel(config)
        self.lm_head = PrixLMLMHead(config)
        # One saved folder serves AutoConfig, AutoModel and AutoModelForCausalLM.
        config.auto_map = {**(getattr(config, "auto_map", None) or {}), **AUTO_MAP}
        self.post_init()

    def save_pretrained(self, save_directory: str | os.PathLike, *args: Any, **kwargs: Any) -> Any:
        """`PreTrainedModel.save_pretrained`; a model loaded from a release folder (its config
        declares the pipeline) also carries the folder's code (`pipeline_prixlm.py` and the
        modules it uses) and the release's `candidates.json` and `relations.json`, else the
        saved config does not declare the pipeline: a folder declaring a pipeline it lacks
        failed later, at `pipeline(...)` or on an endpoint."""
        declared = self.config.__dict__.get("custom_pipelines")
        if not declared or not kwargs.get("is_main_process", True):
            return super().save_pretrained(save_directory, *args, **kwargs)
        # where the model was loaded from, fixed before anything is written: a folder named
        # as its Hub repo id (`save_pretrained(model.name_or_path)`) is no release
        stored = StoredFiles.of(
            os.fspath(getattr(self, "name_or_path", "") or ""),
            getattr(self, "loaded_revision", None),
        )
        carried = carry_hub_code(Path(save_directory), stored, HUB_CODE_FILES)
        if carried:  # and the files the pipeline reads: its candidates and relations
            carry_stored_files(Path(save_directory), stored)
            self._carried_files = (*HUB_CODE_FILES, CANDIDATES_FILE, RELATIONS_FILE)
        else:
            del self.config.custom_pipelines
        try:  # the files are in place before a `push_to_hub=True` uploads the folder
            return super().save_pretrained(save_directory, *args, **kwargs)
        finally:
            self.config.custom_pipelines = declared
            self._carried_files = ()

    def _get_files_timestamps(self, working_dir: str | os.PathLike) -> dict[str, float]:
        """The files of `working_dir` with their times, as `save_pretrained(push_to_hub=True)`
        takes them before it writes: a file written since is uploaded. The files carried
        into it (the model code, candidates, relations) were written before, and are left
        out so that they go up too: the pushed repo declared a pipeline it lacked."""
        timestamps = super()._get_files_timestamps(working_dir)
        for name in self.__dict__.get("_carried_files", ()):
            timestamps.pop(name, None)
        return timestamps

    def get_input_embeddings(self) -> nn.Embedding:
        return self.roberta.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.roberta.embeddings.word_embeddings = value

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head.decoder

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.lm_head.decoder = value

    def set_autocast_residual(self, enabled: bool) -> None:
        """Under `torch.autocast`, keep the hidden states between layers in the autocast dtype
        (bf16) instead of fp32 (`PrixLMLayerNorm.autocast_output`): less memory traffic in
        training, not exact. No effect without autocast; not saved with the model."""
        for module in self.modules():
            if isinstance(module, PrixLMLayerNorm):
                module.autocast_output = enabled

    def resize_token_embeddings(
        self,
        new_num_tokens: int | None = None,
        pad_to_multiple_of: int | None = None,
        mean_resizing: bool = True,
    ) -> nn.Embedding:
        """Resize to `new_num_tokens` real tokens, in `padded_vocab_size` rows.

        Rows are padded to `pad_to_multiple_of` (default `config.vocab_padding_multiple`);
        unlike transformers' default, `config.vocab_size` stays the real vocabulary (the
        padding rows are masked out of every softmax) and the multiple is kept in the config.
        New tokens get the rows transformers gives new tokens of a model without padding
        rows (`mean_resizing`: drawn around the mean of the real rows, with their
        covariance; else `_init_weights`), never the old padding rows, and an LM-head bias
        of the real tokens' mean (`mean_resizing`) or 0.
        """
        old_vocab = self.config.vocab_size
        vocab = old_vocab if new_num_tokens is None else new_num_tokens
        multiple = pad_to_multiple_of or self.config.vocab_padding_multiple
        bias_mean = self.lm_head.bias.detach()[:old_vocab].float().mean()
        if vocab > old_vocab:  # transformers then sees (and averages) the real rows only
            self._drop_padding_rows()
        embeddings = super().resize_token_embeddings(
            vocab, multiple if multiple > 1 else None, mean_resizing
        )
        rows = embeddings.weight.shape[0]
        self.config.vocab_size = vocab
        self.config.vocab_padding_multiple = multiple
        self.lm_head.vocab_size = vocab
        if self.lm_head.bias.shape[0] != rows:  # keep the tied bias the decoder's size
            bias = self.lm_head.bias.data
            new_bias = bias.new_zeros(rows)
            new_bias[: min(rows, bias.shape[0])] = bias[:rows]
            self.lm_head.bias = nn.Parameter(new_bias)
            self.lm_head.decoder.bias = self.lm_head.bias
        if vocab > old_vocab:  # what transformers gives new rows (its tied bias leaves 0 here)
            with torch.no_grad():
                self.lm_head.bias[old_vocab:vocab] = bias_mean if mean_resizing else 0.0
        fingerprint_after_resize(self.config, old_vocab, vocab)  # of the trained tokens
        return embeddings

    def _drop_padding_rows(self) -> None:
        """Cut the (tied) embedding and decoder weights and the bias to `config.vocab_size`
        rows, as views (no copy): the state of a model without padding rows."""
        vocab = self.config.vocab_size
        embeddings, decoder = self.get_input_embeddings(), self.get_output_embeddings()
        if embeddings.weight.shape[0] <= vocab:
            return
        with torch.no_grad():
            for tensor in {id(t): t for t in (embeddings.weight, decoder.weight)}.values():
                tensor.data = tensor.data[:vocab]
            for tensor in {id(t): t for t in (self.lm_head.bias, decoder.bias)}.values():
                if tensor is not None:
                    tensor.data = tensor.data[:vocab]
        embeddings.num_embeddings = decoder.out_features = vocab

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        """`GenerationMixin.generate`, refusing a call constrained to a trie whose new-token
        limit would cut its longest entity (`trie_logits_processor.check_new_tokens`)."""
        check_new_tokens(self.generation_config, args, kwargs)
        return super().generate(*args, **kwargs)

    def prepare_inputs_for_generation(self, input_ids: torch.LongTensor, **kwargs) -> dict:
        """`generate()`'s inputs at each step; the prompt is checked at the first step, here
        (eager when `forward` is compiled). `bidirectional` attention has no KV cache (a
        new token changes every earlier state): every step encodes the whole sequence
        `(batch, length)`, whatever `generation_config.use_cache` says (a release saved in
        another mode and loaded with `object_attention="bidirectional"` keeps `True`)."""
        if self.config.object_attention == "bidirectional":
            return uncached_generation_inputs(input_ids, kwargs)
        check_generation_prompt(self, input_ids, kwargs)
        inputs = super().prepare_inputs_for_generation(input_ids, **kwargs)
        if not kwargs.get("is_first_iteration"):
            # Later steps hold generated tokens (re-encoded whole without a KV cache): the
            # empty-object check is for the prompt, at the first step.
            inputs["check_empty_object"] = False
        return inputs

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        cache: Cache | BeamCache | None = None,
        use_cache: bool | None = None,
        labels: torch.LongTensor | None = None,
        object_logits_only: bool = False,
        logits_to_keep: int = 0,
        num_items_in_batch: int | torch.Tensor | None = None,
        label_positions: torch.LongTensor | None = None,
        label_targets: torch.LongTensor | None = None,
        fused_cross_entropy: bool = True,
        padded_logits: bool = False,
        **kwargs,
    ) -> CausalLMOutputWithCrossAttentions:
        """Next-token logits and, with `labels`, the loss over the object tokens and `[EOS]`.

        Args:
            input_ids: `(batch, query)`.
            attention_mask: `(batch, past + query)` 2D padding mask.
            labels: `(batch, query)` aligned with `input_ids` (shifted here); -100 is ignored.
                ValueError where the scoring position sees its label (`input_guards.check_labels`:
                `labels=input_ids` under `prefix_bidirectional`; any labels under `bidirectional`).
            object_logits_only: with `labels`, run the LM head only where a label exists and
                return `logits` of shape `(n_labels, vocab)` in row-major order of the
                shifted labels (training: most positions are prefix, the vocabulary is 250k).
            logits_to_keep: if > 0, logits for the last `logits_to_keep` positions only.
            num_items_in_batch: divide the summed loss by this instead of the label count
                (gradient accumulation and data parallelism, as the Trainer passes it).
            label_positions, label_targets: `(n,)` each, with `object_logits_only` (the
                training collator's static-shape form of `labels`): the LM head runs on
                `last_hidden_state.reshape(-1, hidden)[label_positions]` against
                `label_targets` (-100: padding of `n` to a multiple of 64). No boolean
                indexing, so no host sync and no data-dependent shape (`torch.compile`).
            fused_cross_entropy: with `label_positions`, compute the loss without keeping
                the `(n, vocab)` logits (`linear_cross_entropy`: the same loss and gradients,
                fewer passes over the 250k-wide logits); `logits` is then None. False: the
                logits are made, returned, and the loss taken from them.
            padded_logits: without `labels`, logits over the vocabulary rounded up to 64
                columns, -inf on the extra ones (`PrixLMLMHead.decoding_logits`: a faster
                projection on GPUs, the same log-softmax): for decoders.
            output_hidden_states: return `hidden_states` (default
                `config.output_hidden_states`).
            Other keyword arguments go to `PrixLMModel.forward` (`position_ids`,
            `fact_ids` for packed rows, `check_inputs`); `return_dict=False` gives the
            output as a tuple; `output_attentions` is refused.
        Without labels and cache (a prompt, or `generate()`'s first step), a row whose
        first `[O]` is followed by `</s>` or `<s>` (an empty object: the prompt was
        tokenised with the default `add_special_tokens=True`) raises ValueError.
        Returns:
            `CausalLMOutputWithCrossAttentions` with `loss`, `logits` `(batch, query, vocab)`
            (see `object_logits_only`), `cache` and, with `output_hidden_states`,
            `hidden_states`: `num_hidden_layers + 1` tensors `(batch, query, hidden)`, the
            embedding output then each layer's output, as XLM-R's (else None).
        """
        check_forward_inputs(self.config, input_ids, labels, kwargs)  # pops output_attentions
        if labels is not None:
            use_cache = False
            kwargs["check_empty_object"] = False  # complete facts, not prompts
        return_dict = kwargs.pop("return_dict", None)
        outputs = self.roberta(
            input_ids, attention_mask=attention_mask, cache=cache, use_cache=use_cache, **kwargs
        )
        hidden = outputs.last_hidden_state
        loss = None
        if labels is not None:
            targets = labels[:, 1:]
            if object_logits_only and label_positions is not None:
                if label_targets is None:
                    raise ValueError("label_positions needs label_targets")
                selected = hidden.reshape(-1, hidden.shape[-1]).index_select(0, label_positions)
                if fused_cross_entropy:
                    summed = self.lm_head.summed_cross_entropy(selected, label_targets)
                    loss = per_item_loss(summed, label_targets, num_items_in_batch)
                    logits = None
                else:
                    logits = self.lm_head.padded_logits(selected)
                    loss = logits_loss(logits, label_targets, num_items_in_batch)
            elif object_logits_only:
                selected = targets != IGNORE_INDEX
                logits = self.lm_head.padded_logits(hidden[:, :-1][selected])
                loss = logits_loss(logits, targets[selected], num_items_in_batch)
            else:
                logits = self.lm_head.padded_logits(hidden)
                # Shift the labels, not the logits: `logits[:, :-1]` would copy the
                # (batch, length, vocab) logits forward and scatter them back in backward.
                shifted = F.pad(targets, (0, 1), value=IGNORE_INDEX)
                loss = logits_loss(
                    logits.reshape(-1, logits.shape[-1]), shifted.reshape(-1), num_items_in_batch
                )
            if logits is not None:
                logits = logits[..., : self.config.vocab_size]
        else:
            kept = hidden[:, -logits_to_keep:] if logits_to_keep else hidden
            logits = self.lm_head.decoding_logits(kept) if padded_logits else self.lm_head(kept)
        output = CausalLMOutputWithCrossAttentions(
            loss=loss,
            logits=logits,
            **{_CACHE_FIELD: outputs.cache},
            hidden_states=outputs.hidden_states,
        )
        return output.to_tuple() if return_dict is False else output

    @classmethod
    def from_pretrained(cls, *args: Any, **kwargs: Any) -> Any:
        """transformers' `from_pretrained`; the model keeps the `revision` it was loaded at
        (`loaded_revision`), so that the folder's pipeline reads its stored files
        (`candidates.json`, `relations.json`) at the revision of the weights, not main."""
        loaded = super().from_pretrained(*args, **kwargs)
        model = loaded[0] if isinstance(loaded, tuple) else loaded  # output_loading_info
        model.loaded_revision = kwargs.get("revision")
        return loaded

    @classmethod
    def from_xlm_roberta(
        cls,
        name_or_path: str,
        languages: list[str],
        object_attention: str = "prefix_bidirectional",
        vocab_padding_multiple: int = 64,
        dropout: float | None = None,
        new_token_init: str = "random",
        **kwargs,
    ) -> tuple[PrixLMForCausalKB, object]:
        """Start Prix-LM from an XLM-R checkpoint (`xlm-roberta-base` or a local folder).

        Loads the encoder and LM head of `XLMRobertaForMaskedLM`, adds `[S] [P] [O] [EOS]`
        and one token per language to its tokenizer (released ids on the real one) and
        resizes the embeddings (to rows padded to `vocab_padding_multiple`; no probability
        changes). `dropout`: the hidden and attention dropout of the new model (None: the
        checkpoint's). `new_token_init`: the new tokens' rows start at random, LM-head bias 0
        (`random`, the paper's), or around the mean of XLM-R's rows (`mean`, transformers'
        default for new tokens). Returns `(model, tokenizer)`.
        """
        if new_token_init not in ("random", "mean"):
            raise ValueError(f"new_token_init {new_token_init!r}: expected random or mean")
        from transformers import AutoConfig, AutoTokenizer, XLMRobertaForMaskedLM

        from .formatting import add_prixlm_tokens

        tokenizer = AutoTokenizer.from_pretrained(name_or_path, **kwargs)
        base_config = AutoConfig.from_pretrained(name_or_path, **kwargs)
        if base_config.model_type != "xlm-roberta":  # its weights would not load: all random
            raise ValueError(
                f"{name_or_path}: model type {base_config.model_type!r}, not an XLM-R "
                "checkpoint (xlm-roberta)"
            )
        if len(tokenizer) != base_config.vocab_size:  # the new tokens' ids would be wrong
            raise ValueError(
                f"{name_or_path}: its tokenizer has {len(tokenizer)} tokens but the model "
                f"{base_config.vocab_size} rows (vocab_size): not the checkpoint's tokenizer"
            )
        architecture = xlmr_architecture(base_config)
        if dropout is not None:  # in the config before the modules are built from it
            architecture.update(hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
        model = cls(PrixLMConfig(object_attention=object_attention, **architecture))
        source, loading = XLMRobertaForMaskedLM.from_pretrained(  # no Hub kernels fetched
            name_or_path, output_loading_info=True, use_kernels=False, **kwargs
        )
        absent = [key for key in loading["missing_keys"] if not key.startswith("lm_head.decoder")]
        if absent:  # from_pretrained filled them with random values
            raise ValueError(
                f"{name_or_path}: not an XLM-R masked-LM checkpoint: no weights for {absent[:5]}"
                + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
            )
        missing, unexpected = model.load_state_dict(source.state_dict(), strict=False)
        if missing or unexpected:
            raise ValueError(
                f"{name_or_path}: not an XLM-R checkpoint (missing {missing}, unexpected {unexpected})"
            )
        model.config.vocab_padding_multiple = vocab_padding_multiple
        add_prixlm_tokens(tokenizer, languages, model, mean_resizing=new_token_init == "mean")
        model.config.vocabulary_fingerprint = vocabulary_fingerprint(tokenizer)  # loading checks
        model.generation_config.eos_token_id = model.config.end_of_object_token_id
        model.generation_config.pad_token_id = model.config.pad_token_id
        model.generation_config.use_cache = object_attention != "bidirectional"
        return model, tokenizer

    def embed(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        pooling: str | None = None,
    ) -> torch.Tensor:
        """Embeddings `(batch, hidden)` of `(batch, length)` inputs (entity names, texts).

        The encoder runs with full (bidirectional) attention; `attention_mask` `(batch,
        length)` marks padding (left or right; default `input_ids != pad_token_id`).

        Args:
            pooling: `"first"`: the last hidden state of the first non-padding token (`<s>`
                when the input starts with it); `"mean"`: the mean of the last hidden states
                over the non-padding tokens; `None` (default): the pooling the config records
                (`POOLING_CONFIG_KEY`, a Mirror-tuned model's), else `DEFAULT_POOLING`.
        Gradients flow (for tuning, e.g. Mirror-BERT); wrap in `torch.no_grad()` to infer.
        """
        if pooling is None:
            pooling = getattr(self.config, POOLING_CONFIG_KEY, None) or DEFAULT_POOLING
        if pooling not in EMBEDDING_POOLING:
            raise ValueError(f"pooling={pooling!r}: expected one of {EMBEDDING_POOLING}")
        if attention_mask is None:
            attention_mask = (input_ids != self.config.pad_token_id).long()
        outputs = self.roberta(
            input_ids,
            attention_mask=attention_mask,
            use_cache=False,
            object_attention="bidirectional",
        )
        if pooling == "mean":
            return outputs.pooler_output
        first_token = attention_mask.long().argmax(dim=1)  # the first 1 of each row
        rows = torch.arange(input_ids.shape[0], device=input_ids.device)
        return outputs.last_hidden_state[rows, first_token]


PrixLMConfig.register_for_auto_class()
PrixLMForCausalKB.register_for_auto_class("AutoModelForCausalLM")

__all__ = ["DEFAULT_POOLING", "EMBEDDING_POOLING", "POOLING_CONFIG_KEY", "PrixLMForCausalKB"]
