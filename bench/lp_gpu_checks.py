"""The checks of `bench_lp_gpu.py`: two loops' rankings compared, full-ranking scores against
one cache-free forward, and the synchronising reads of one batch of the device loop."""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import torch
from lp_gpu_setting import PAD

from modeling_prixlm.beam_search import decode_batch_on_device
from modeling_prixlm.decoding_steps import model_device


def compare_rankings(reference: list[Any], other: list[Any]) -> dict[str, float]:
    """Fractions of queries whose ranking, top 1 and top-10 list equal `reference`'s
    (`RankedObjects` each), and the largest loss difference of an entity both rank."""
    pairs = list(zip(reference, other, strict=True))
    worst = 0.0
    for a, b in pairs:
        theirs = dict(zip(b.entities, b.losses, strict=True))
        common = [
            abs(loss - theirs[e])
            for e, loss in zip(a.entities, a.losses, strict=True)
            if e in theirs
        ]
        worst = max([worst, *common])
    return {
        "identical_rankings": sum(a.entities == b.entities for a, b in pairs) / len(pairs),
        "same_top1": sum(a.entities[:1] == b.entities[:1] for a, b in pairs) / len(pairs),
        "same_top10": sum(a.entities[:10] == b.entities[:10] for a, b in pairs) / len(pairs),
        "max_loss_difference": worst,
    }


def check_exact(model, prompts, trie, scores, pairs: int = 4) -> float:
    """Max |difference| between full-ranking scores `(queries, leaves)` (trie order) and the
    log-likelihood from one cache-free forward over prompt + entity, for a few pairs: a
    guard that the KV-cache path is right under the installed transformers."""
    from prixlm.link_prediction.candidate_scoring import _leaves_in_trie_order

    leaves = _leaves_in_trie_order(trie)
    entities = trie.entity_of(leaves)
    device, worst = model_device(model), 0.0
    for query in range(min(pairs, len(prompts))):
        for column in torch.linspace(0, leaves.numel() - 1, pairs).long().tolist():
            target = trie.token_ids(int(entities[column]))
            ids = torch.tensor([prompts[query] + target[:-1]], device=device)
            logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False)
            log_p = logits.logits[0, len(prompts[query]) - 1 :].float().log_softmax(-1)
            exact = float(log_p[torch.arange(len(target)), torch.tensor(target)].double().sum())
            worst = max(worst, abs(exact - float(scores[query, column])))
    return worst


def count_syncs(model, prompts, trie, num_beams: int) -> dict[str, int]:
    """Synchronising reads (`torch.cuda.set_sync_debug_mode`) and forwards of one batch of
    the device loop: the reads must not grow with the forwards (steps)."""
    tokenizer = SimpleNamespace(pad_token_id=PAD)
    decode_batch_on_device(model, tokenizer, prompts, trie, num_beams)  # warm: trie moved
    forwards = []
    hook = model.register_forward_hook(lambda *_: forwards.append(1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            decode_batch_on_device(model, tokenizer, prompts, trie, num_beams)
        finally:
            torch.cuda.set_sync_debug_mode("default")
            hook.remove()
    reads = sum("synchroniz" in str(w.message) for w in caught)
    return {"synchronising_reads": reads, "forwards": len(forwards)}


__all__ = ["check_exact", "compare_rankings", "count_syncs"]
