"""A prompt whose `[O]` is followed by `</s>` (the tokenizer's default `add_special_tokens=True`)
asks for an empty object: refused with a ValueError saying how to build the prompt, instead of
a silent `[O][EOS]`. Complete facts, labels and generate()'s later steps are not affected."""

from __future__ import annotations

import pytest
import torch
from fresh_process import run_fresh
from transformers import LogitsProcessor, LogitsProcessorList, pipeline

from modeling_prixlm.formatting import encode_triple, encode_triple_prompt

PROMPT_TEXT = "<s>[S] Germany</s></s>[P] currency</s></s>[O]"


def _with_closing_token(tokenizer) -> torch.Tensor:
    ids = tokenizer(PROMPT_TEXT)["input_ids"]  # add_special_tokens=True: ... [O] </s>
    assert ids[-2:] == [tokenizer.convert_tokens_to_ids("[O]"), tokenizer.sep_token_id]
    return torch.tensor([ids])


def test_forward_and_generate_refuse_a_prompt_tokenised_with_special_tokens(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    ids = _with_closing_token(tokenizer)
    with torch.no_grad(), pytest.raises(ValueError, match=r"empty object.*must end at \[O\]"):
        model(ids)
    with pytest.raises(ValueError, match="add_special_tokens=False"):
        model.generate(ids, max_new_tokens=3, do_sample=False)
    bos_after = ids.clone()
    bos_after[0, -1] = tokenizer.bos_token_id
    with torch.no_grad(), pytest.raises(ValueError, match="empty object"):
        model(bos_after)


def test_text_generation_pipeline_refuses_then_works_without_special_tokens(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    generator = pipeline("text-generation", model=model, tokenizer=tokenizer)
    with pytest.raises(ValueError, match="empty object"):
        generator(PROMPT_TEXT, do_sample=False, max_new_tokens=3)
    out = generator(PROMPT_TEXT, do_sample=False, max_new_tokens=3, add_special_tokens=False)
    assert out[0]["generated_text"].startswith(PROMPT_TEXT)


def test_batch_names_the_bad_row_and_masked_or_padded_followers_pass(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    good = encode_triple_prompt(tokenizer, "Germany", "currency")
    bad = _with_closing_token(tokenizer)[0].tolist()
    pad, sep = tokenizer.pad_token_id, tokenizer.sep_token_id
    width = max(len(good), len(bad))
    rows = [[pad] * (width - len(good)) + good, [pad] * (width - len(bad)) + bad]
    batch = torch.tensor(rows)
    with torch.no_grad(), pytest.raises(ValueError, match="row 1"):
        model(batch, attention_mask=(batch != pad).long())
    # right padding after [O], and a `</s>` after [O] that the mask hides: prompts ending at [O]
    right = torch.tensor([good + [pad], good + [sep]])
    mask = torch.ones_like(right)
    mask[:, -1] = 0
    with torch.no_grad():
        model(right, attention_mask=mask)


def test_complete_facts_labels_and_training_path_are_not_checked(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    fact = encode_triple(tokenizer, "Germany", "currency", "euro")
    with torch.no_grad():
        model(torch.tensor([fact.input_ids]))  # [O] euro [EOS] </s>: fine
        empty = torch.tensor([encode_triple_prompt(tokenizer, "Germany", "currency") + [2]])
        labels = torch.full_like(empty, -100)
        model(empty, labels=labels)  # with labels: not a prompt
        model(empty, check_inputs=False)  # the training collator's path: no host check


class _CloseAtOnce(LogitsProcessor):
    """Generates `</s>` right after the prompt's `[O]`, then anything."""

    def __init__(self, prompt_length: int, token_id: int) -> None:
        self.prompt_length, self.token_id = prompt_length, token_id

    def __call__(self, input_ids, scores):
        if input_ids.shape[1] == self.prompt_length:
            forced = torch.full_like(scores, float("-inf"))
            forced[:, self.token_id] = 0.0
            return forced
        return scores


@pytest.mark.parametrize("use_cache", [True, False])
def test_generated_closing_token_after_object_marker_does_not_raise(tiny_prixlm, use_cache):
    """Later steps hold generated tokens: without a KV cache they are re-encoded whole from
    step 2 on (past length 0), `[O] </s>` included; only the prompt is checked."""
    model, tokenizer = tiny_prixlm
    prompt = torch.tensor([encode_triple_prompt(tokenizer, "Germany", "currency")])
    processors = LogitsProcessorList([_CloseAtOnce(prompt.shape[1], tokenizer.sep_token_id)])
    out = model.generate(
        prompt,
        max_new_tokens=3,
        do_sample=False,
        eos_token_id=None,
        use_cache=use_cache,
        logits_processor=processors,
    )
    assert out[0, prompt.shape[1]].item() == tokenizer.sep_token_id
    assert out.shape[1] == prompt.shape[1] + 3


def test_model_card_generate_snippet_runs_on_a_saved_model(tiny_prixlm, tmp_path):
    """The card's `generate()` snippet, exactly as rendered, in a fresh offline process
    without the project's packages: it prints the completed object (no `[EOS]`)."""
    from prixlm.release.model_card import render_model_card

    model, tokenizer = tiny_prixlm
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    card = render_model_card(folder, repo_id=str(folder), widget=["Japan | currency | en"])
    blocks = [block.split("```")[0] for block in card.text.split("```python\n")[1:]]
    (snippet,) = [block for block in blocks if "generate(" in block]
    assert 'encode_triple_prompt(tokenizer, "Japan", "currency")' in snippet
    script = (
        "import sys\nfor name in ('modeling_prixlm', 'prixlm'):\n    sys.modules[name] = None\n"
    )
    done = run_fresh(script + snippet, cwd=tmp_path)
    printed = done.stdout.strip().splitlines()[-1]
    prompt = torch.tensor([encode_triple_prompt(tokenizer, "Japan", "currency")])
    with torch.no_grad():
        output = model.generate(prompt, do_sample=False, max_new_tokens=30)
    completion = output[0, prompt.shape[1] :]
    eos = model.config.end_of_object_token_id
    assert printed == tokenizer.decode(completion[completion != eos]).strip()


def test_generate_with_a_chunked_prefill_names_it(tiny_prixlm):
    """`generate(prefill_chunk_size=N)` reads the prompt in chunks, the first without `[O]`:
    refused, and the message names the option, not the prompt's formatting alone."""
    model, tokenizer = tiny_prixlm
    ids = torch.tensor([encode_triple_prompt(tokenizer, "Germany", "currency")])
    kwargs = {"max_new_tokens": 2, "do_sample": False, "pad_token_id": tokenizer.pad_token_id}
    assert model.generate(ids, **kwargs).shape[1] > ids.shape[1]  # in one forward: fine
    with pytest.raises(ValueError, match="prefill_chunk_size is not supported"):
        model.generate(ids, prefill_chunk_size=4, **kwargs)
