"""Drawing images from an autoregressive model, one sub-pixel at a time.

The loop is the definition of the model: for every position in raster order
(rows, columns, then channels R, G, B), run the network on the partial image, read the
distribution of the next sub-pixel, draw a value and write it in. ``sample_steps`` is
that loop as a generator; ``sample`` runs it to the end and ``sampling_trace`` records
it for the widgets, so all three draw exactly the same images for the same generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from tqdm.auto import tqdm

from .checks import check_labels


@dataclass
class SamplingStep:
    """One step of the sampling loop.

    canvas: (n, C, H, W) the live partial image *after* this step's value was written
        (shared with the loop: clone it to keep it).
    position: (c, i, j) the sub-pixel drawn at this step.
    probs: (n, levels) the distribution it was drawn from.
    value: (n,) the drawn values, float in [0, 1].
    """

    canvas: torch.Tensor
    position: tuple[int, int, int]
    probs: torch.Tensor
    value: torch.Tensor


@dataclass
class SamplingTrace:
    """The recorded sampling of a batch, for step-by-step display.

    frames: (T + 1, n, C, H, W) partial images: frames[0] is blank, frames[t] after t steps.
    positions: list of T (c, i, j) positions in the order they were drawn.
    probs: (T, n, levels) the distribution of the sub-pixel drawn at each step.
    values: (T, n) the drawn values in [0, 1].
    labels: (n,) the class of each image for a conditional model, else None.
    """

    frames: torch.Tensor
    positions: list[tuple[int, int, int]]
    probs: torch.Tensor
    values: torch.Tensor
    levels: int
    labels: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.positions)


def _image_size(image_size: int | Sequence[int]) -> tuple[int, int]:
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(int(s) for s in image_size)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"image_size must be (H, W) with positive entries, got {image_size!r}")
    return size  # type: ignore[return-value]


@torch.no_grad()
def sample_steps(
    model: torch.nn.Module,
    n: int,
    image_size: int | Sequence[int] = (28, 28),
    *,
    y: torch.Tensor | None = None,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> Iterator[SamplingStep]:
    """Yield every step of drawing ``n`` images, in raster order (rows, columns, channels).

    The model is switched to eval mode while sampling and restored afterwards. ``generator``
    must live on the model's device (CPU generator for a CPU model).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    h, w = _image_size(image_size)
    device = next(model.parameters()).device
    check_labels(y, batch_size=n, n_classes=getattr(model, "n_classes", None))
    if y is not None:
        y = y.to(device)
    c_in, levels = model.in_channels, model.levels
    canvas = torch.zeros(n, c_in, h, w, device=device)
    was_training = model.training
    model.eval()
    try:
        bar = tqdm(total=c_in * h * w, desc="sampling", disable=not progress, leave=False)
        # A likelihood that couples channels comes with models that hide the whole current pixel,
        # so one forward pass gives the parameters of all its channels; otherwise G and B must see
        # the R (and G) just drawn, and the model runs again for every channel.
        per_pixel = getattr(model.likelihood, "couples_channels", False)
        for i in range(h):
            for j in range(w):
                for c in range(c_in):
                    if c == 0 or not per_pixel:
                        params = model(canvas, y)[:, :, i : i + 1, j : j + 1]  # (n, P, 1, 1)
                    pixel = canvas[:, :, i : i + 1, j : j + 1]  # earlier channels of this pixel are drawn
                    probs = model.likelihood.probs(params, temperature, x=pixel)[:, c, :, 0, 0]  # (n, levels)
                    index = torch.multinomial(probs, 1, generator=generator).squeeze(1)
                    value = index.to(canvas.dtype) / (levels - 1)
                    canvas[:, c, i, j] = value
                    bar.update()
                    yield SamplingStep(canvas, (c, i, j), probs, value)
        bar.close()
    finally:
        model.train(was_training)


def sample(
    model: torch.nn.Module,
    n: int,
    image_size: int | Sequence[int] = (28, 28),
    *,
    y: torch.Tensor | None = None,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Draw ``n`` images, (n, C, H, W) float in [0, 1] on the model's level grid.

    ``temperature`` < 1 sharpens every conditional, > 1 flattens it; 1 draws exactly from the
    distribution that ``model.log_prob`` defines.
    """
    canvas = None
    for step in sample_steps(
        model, n, image_size, y=y, temperature=temperature, generator=generator, progress=progress
    ):
        canvas = step.canvas
    assert canvas is not None
    return canvas.clone()


def sampling_trace(
    model: torch.nn.Module,
    n: int = 1,
    image_size: int | Sequence[int] = (28, 28),
    *,
    y: torch.Tensor | None = None,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> SamplingTrace:
    """Run the sampling loop and record every step (for ``widgets.SamplingStepper``).

    For a class-conditional model pass one label per image, e.g. ``y=torch.arange(10)`` to draw
    one image of each digit; the trace keeps them, and the stepper offers a class picker.
    """
    h, w = _image_size(image_size)
    frames = [torch.zeros(n, model.in_channels, h, w)]
    positions, probs, values = [], [], []
    for step in sample_steps(
        model, n, (h, w), y=y, temperature=temperature, generator=generator, progress=progress
    ):
        frames.append(step.canvas.detach().cpu().clone())
        positions.append(step.position)
        probs.append(step.probs.cpu())
        values.append(step.value.cpu())
    labels = None if y is None else y.detach().cpu().clone()
    return SamplingTrace(torch.stack(frames), positions, torch.stack(probs), torch.stack(values), model.levels, labels)


@torch.no_grad()
def scoring_trace(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> SamplingTrace:
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
    canvas = torch.zeros_like(x)
    frames, positions, step_probs, values = [canvas.cpu().clone()], [], [], []
    for i in range(h):
        for j in range(w):
            for c in range(c_in):
                canvas[:, c, i, j] = x[:, c, i, j]
                frames.append(canvas.cpu().clone())
                positions.append((c, i, j))
                step_probs.append(probs[:, c, :, i, j].cpu())
                values.append(x[:, c, i, j].cpu())
    labels = None if y is None else y.detach().cpu().clone()
    return SamplingTrace(torch.stack(frames), positions, torch.stack(step_probs), torch.stack(values), model.levels, labels)
