"""Recorded sampling (and scoring) for step-by-step display: the drawn values and distributions,
with frames rebuilt on demand."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch

from ..models import AutoregressiveModel
from .loop import SamplingStep, _default_image_size, _sample_steps


@dataclass
class SamplingTrace:
    """The recorded sampling of a batch, for step-by-step display.

    Only what each step adds is stored; ``frame(t)`` rebuilds the partial image after t steps on
    demand, so a trace of 64 colour images at 256 levels does not hold 2,352 canvases.

    positions: list of T (c, i, j) positions in the order they were drawn.
    probs: (T, n, levels) the distribution of the sub-pixel drawn at each step.
    values: (T, n) the drawn values in [0, 1].
    shape: (n, C, H, W) of the images (a completion's given sub-pixels are steps like the drawn ones).
    labels: (n,) the class of each image for a conditional model, else None.
    """

    positions: list[tuple[int, int, int]]
    probs: torch.Tensor
    values: torch.Tensor
    levels: int
    shape: tuple[int, int, int, int]
    labels: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.positions)

    def frame(self, t: int, index: int | None = None) -> torch.Tensor:
        """The partial images after ``t`` steps, (n, C, H, W) on the CPU, or image ``index`` alone
        (C, H, W); ``t = -1`` is the end (the finished images)."""
        steps = len(self)
        if t < 0:
            t += steps + 1
        if not 0 <= t <= steps:
            raise IndexError(f"t must be in [0, {steps}] (or -1 for the last frame), got {t}")
        n, c, h, w = self.shape
        values = self.values[:t] if index is None else self.values[:t, index : index + 1]  # (t, n) or (t, 1)
        flat = torch.zeros(values.shape[1], c * h * w, dtype=self.values.dtype)
        if t:
            flat[:, self._flat_positions[:t]] = values.T
        images = flat.view(-1, c, h, w)
        return images if index is None else images[0]

    @property
    def _flat_positions(self) -> torch.Tensor:
        """(T,) the index of each step's sub-pixel in a flattened (C, H, W) image."""
        if getattr(self, "_flat", None) is None or len(self._flat) != len(self):
            _, _, h, w = self.shape
            self._flat = torch.tensor([(c * h + i) * w + j for c, i, j in self.positions], dtype=torch.long)
        return self._flat


def _record(steps: Iterator[SamplingStep], shape, levels: int, y: torch.Tensor | None) -> SamplingTrace:
    positions, probs, values = [], [], []
    with closing(steps):  # closed (its caches freed, the model's mode restored) even if interrupted
        for step in steps:
            positions.append(step.position)
            probs.append(step.probs.cpu())
            values.append(step.value.cpu())
    labels = None if y is None else y.detach().cpu().clone()
    return SamplingTrace(positions, torch.stack(probs), torch.stack(values), levels, tuple(shape), labels)


def sampling_trace(
    model: AutoregressiveModel,
    n: int = 1,
    image_size: int | Sequence[int] | None = None,
    *,
    y: torch.Tensor | None = None,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    progress: bool = False,
    cache: bool = True,
) -> SamplingTrace:
    """Run the sampling loop and record every step (for ``widgets.SamplingStepper``).

    ``image_size`` None (the default) is the model's own ``image_size`` where it has one, else 28 x 28.
    For a class-conditional model pass one label per image, e.g. ``y=torch.arange(10)`` to draw
    one image of each digit; the trace keeps them, and the stepper offers a class picker.
    """
    steps = _sample_steps(model, n, image_size, y=y, temperature=temperature, generator=generator, progress=progress,
                          cache=cache, hold=True)
    h, w = _default_image_size(model, image_size)
    return _record(steps, (n, model.in_channels, h, w), model.levels, y)


@torch.no_grad()
def scoring_trace(model: AutoregressiveModel, x: torch.Tensor, y: torch.Tensor | None = None) -> SamplingTrace:
    """Replay a real image through the autoregressive factorisation, as a trace.

    Instead of drawing values, every step reveals the image's own next sub-pixel and records
    the conditional p(x_(c,i,j) | earlier sub-pixels) that the model assigns to it. One
    forward pass suffices (the model is causal), so this is cheap. ``x`` is (n, C, H, W).
    The trace's ``values`` are the true sub-pixel values; their log-probabilities summed
    give ``model.log_prob(x).sum()``.
    """
    was_training = model.training
    model.eval()
    try:
        probs = model.likelihood.probs(model(x, y), x=x)  # (n, C, levels, H, W)
    finally:
        model.train(was_training)
    n, c_in, h, w = x.shape
    positions = [(c, i, j) for i in range(h) for j in range(w) for c in range(c_in)]
    step_probs = probs.permute(3, 4, 1, 0, 2).reshape(h * w * c_in, n, -1).cpu()  # (T, n, levels) in raster order
    values = x.permute(2, 3, 1, 0).reshape(h * w * c_in, n).cpu()  # (T, n)
    labels = None if y is None else y.detach().cpu().clone()
    return SamplingTrace(positions, step_probs, values, model.levels, (n, c_in, h, w), labels)
