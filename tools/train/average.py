"""Exponential moving average of a generator's weights (train.py --ema DECAY).

Every run so far has moved by ±0.004 LMD and ±0.05 swapped-audio r from one snapshot to the next (issue #10), so a
single snapshot is a noisy draw. The average over the last ~1/(1 - decay) steps is what validation scores, best.pt
keeps and export.py writes. Early on the decay is min(decay, (1 + n) / (10 + n)) (as TensorFlow's
ExponentialMovingAverage with num_updates), so the average is not dominated by the starting weights.
"""
from __future__ import annotations

import copy

import torch


class WeightAverage:
    def __init__(self, model: torch.nn.Module, decay: float):
        if not 0 < decay < 1:
            raise ValueError(f"--ema is a decay in (0, 1), e.g. 0.998, got {decay}")
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    def rate(self) -> float:
        """The decay used by the next update."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        d = self.rate()
        for avg, p in zip(self.model.parameters(), model.parameters()):
            avg.lerp_(p.detach(), 1 - d)
        for avg, b in zip(self.model.buffers(), model.buffers()):
            avg.copy_(b)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "updates": self.updates, "decay": self.decay}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])
