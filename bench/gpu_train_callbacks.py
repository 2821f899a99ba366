"""The Trainer-side pieces of `bench_gpu_train.py`: collators that drop or add batch keys,
the step timer (CUDA events, no host sync per step) and the collator's own speed."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from transformers import TrainerCallback

from prixlm.training.collator import PrixLMCollator


class WithoutKeys:
    """A collator whose batches lack some keys (the previous path; transformers' model)."""

    def __init__(self, collator: PrixLMCollator, drop: tuple[str, ...]) -> None:
        self.collator, self.drop = collator, drop

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        batch = self.collator(features)
        return {k: v for k, v in batch.items() if k not in self.drop}


class WithKeys:
    """A collator whose batches get extra keys (a model option of a variant)."""

    def __init__(self, collator: PrixLMCollator, extra: dict[str, Any]) -> None:
        self.collator, self.extra = collator, extra

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        return {**self.collator(features), **self.extra}


class StepTimer(TrainerCallback):
    """The end of every optimizer step: a CUDA event on the device (no host sync), the wall
    clock on the CPU; and the wall time of the steps after `warmup`, synchronised at both
    ends."""

    def __init__(self, device: torch.device, warmup: int) -> None:
        self.device, self.warmup, self.ends = device, warmup, []
        self.window_start = self.window_end = 0.0

    def _mark(self) -> Any:
        if self.device.type != "cuda":
            return time.perf_counter()
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def on_step_end(self, args, state, control, **kwargs):
        self.ends.append(self._mark())
        if state.global_step in (self.warmup, state.max_steps):
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            now = time.perf_counter()
            if state.global_step == self.warmup:
                self.window_start = now
            else:
                self.window_end = now

    def step_times(self) -> np.ndarray:
        """Seconds between consecutive step ends."""
        if self.device.type != "cuda":
            return np.diff(self.ends)
        torch.cuda.synchronize(self.device)
        pairs = zip(self.ends, self.ends[1:], strict=False)
        return np.array([start.elapsed_time(end) / 1000 for start, end in pairs])


def collator_speed(collator: Any, facts: list[dict], batch_size: int, repeats: int = 5) -> float:
    """Facts per second one CPU process collates (the Trainer's data path)."""
    batches = [facts[i : i + batch_size] for i in range(0, len(facts) - batch_size + 1, batch_size)]
    start = time.perf_counter()
    done = 0
    for _ in range(repeats):
        for batch in batches:
            collator(batch)
            done += len(batch)
    return done / (time.perf_counter() - start)
