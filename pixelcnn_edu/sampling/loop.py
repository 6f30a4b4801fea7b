"""The sampling loop: one generator, ``_steps``, behind every way of drawing images.

For every position in raster order (rows, columns, then channels R, G, B) it reads the distribution
of the next sub-pixel given the partial image, draws a value and writes it in. ``cache=False`` does
this literally, one full pass of the network per sub-pixel (the naive reference); ``cache=True``
(the default) gets the same distributions from per-layer caches (:mod:`pixelcnn_edu.incremental`).
"""

from __future__ import annotations

import warnings
from contextlib import closing, nullcontext
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch

from .. import incremental
from ..checks import check_image_size, check_labels, check_positive_int, check_temperature, device_and_dtype
from ..models import AutoregressiveModel
from ..progress import progress_bar


@dataclass
class SamplingStep:
    """One step of the sampling loop.

    canvas: (n, C, H, W) the live partial image *after* this step's value was written
        (shared with the loop: clone it to keep it).
    position: (c, i, j) the sub-pixel drawn at this step.
    probs: (n, levels) the distribution it was drawn from.
    value: (n,) the drawn (or, in a completion, given) values, float in [0, 1].
    """

    canvas: torch.Tensor
    position: tuple[int, int, int]
    probs: torch.Tensor
    value: torch.Tensor


def can_cache(model: AutoregressiveModel) -> bool:
    """Whether ``model`` can sample with a cache: the class that defines its ``network`` says
    ``can_cache = True``, and it holds no convolution that reads neighbours but keeps no cache."""
    for cls in type(model).__mro__:
        if "network" in cls.__dict__:
            return bool(cls.__dict__.get("can_cache", False)) and not incremental.uncached_spatial_layers(model)
    return False


class _SamplingMode:
    """The state the loop runs in: the model in eval mode and, for a cached loop on the CPU, torch at
    one thread. A cached pass is hundreds of tiny operations: a second thread gains nothing and, on
    cores that are busy with anything else, OpenMP's waiting made it 10-20x slower here.

    ``enter()`` keeps the caller's state (every module's train/eval flag, the thread count) and
    switches; ``exit()`` puts back what ``enter()`` kept. ``sample()`` switches once for the whole
    run; ``sample_steps`` switches around every step, so that between steps the caller's process and
    model are as the caller left them (toggling the threads per step costs 15-40 % of ``sample()``'s
    time, a price only a step-by-step consumer should pay)."""

    def __init__(self, model: AutoregressiveModel, one_thread: bool) -> None:
        self.model, self.one_thread = model, one_thread
        self._kept: tuple[list[bool], int] | None = None

    def enter(self) -> None:
        if self._kept is None:
            self._kept = [m.training for m in self.model.modules()], torch.get_num_threads()
            self.model.eval()
            if self.one_thread:
                torch.set_num_threads(1)

    def exit(self) -> None:
        if self._kept is not None:
            modes, threads = self._kept
            self._kept = None
            for module, training in zip(self.model.modules(), modes):
                module.training = training
            if self.one_thread:
                torch.set_num_threads(threads)


@torch.inference_mode()
def _steps(
    model: AutoregressiveModel,
    canvas: torch.Tensor,
    known: torch.Tensor | None,
    y: torch.Tensor | None,
    temperature: float,
    generator: torch.Generator | None,
    progress: bool,
    cache: bool,
    *,
    hold: bool = True,
) -> Iterator[SamplingStep]:
    """The sampling loop. ``canvas`` (n, C, H, W) on the model's device is written in place: at every
    sub-pixel where ``known`` (n, C, H, W) bool is True it keeps its value (a completion), elsewhere it
    gets a draw. The same number of random draws is made either way, so ``cache`` changes nothing.

    ``hold=True`` switches to the sampling mode (:class:`_SamplingMode`) once, until the loop ends or
    is closed: for the package's own consumers, which run the loop without handing control to the
    caller between steps. ``hold=False`` gives the caller back its state at every yield and switches
    again on resume (``sample_steps``).

    Every argument is checked before the loop starts (``_start``): per sub-pixel the loop runs only
    the network and the likelihood, and reads nothing back from the device, so on a GPU it never
    waits for a synchronisation."""
    _, c_in, h, w = canvas.shape
    levels = model.levels
    cached = cache and can_cache(model)
    if cache and not cached:
        warnings.warn(f"{type(model).__name__} cannot sample with a cache; using the naive loop (one full pass per sub-pixel)", stacklevel=3)
    # A model that hides the whole current pixel gives the parameters of all its channels in one pass;
    # otherwise G and B must see the R (and G) just drawn, and the model runs again for every channel.
    per_pixel = model.hides_current_pixel

    def network(top: int, bottom: int, left: int, right: int) -> torch.Tensor:
        """Parameters for the region rows [top, bottom), columns [left, right) from the caches."""
        state.set_region((top, bottom), (left, right))
        return model.network(2.0 * canvas[:, :, top:bottom, left:right] - 1.0, y)

    def pixel_params(i: int, j: int) -> torch.Tensor:  # (n, P, 1, 1)
        if not cached:
            return model(canvas, y)[:, :, i : i + 1, j : j + 1]
        # this pixel, and the one before it again: the input layers must see that one's last channel
        return network(i, i + 1, max(j - 1, 0), j + 1)[:, :, :, -1:]

    mode = _SamplingMode(model, one_thread=cached and canvas.device.type == "cpu")
    mode.enter()
    try:
        with incremental.caching(model, (h, w)) if cached else nullcontext() as state:
            bar = progress_bar(total=c_in * h * w, desc="sampling", enabled=progress)
            for i in range(h):
                if cached:  # finish the row above (its last pixel) and fill the vertical stacks of row i
                    network(max(i - 1, 0), i + 1, 0, w)
                for j in range(w):
                    for c in range(c_in):
                        if c == 0 or not per_pixel:
                            params = pixel_params(i, j)
                        pixel = canvas[:, :, i : i + 1, j : j + 1]  # earlier channels of this pixel are written
                        probs = model.likelihood.probs(params, temperature, x=pixel)[:, c, :, 0, 0]  # (n, levels)
                        index = torch.multinomial(probs, 1, generator=generator).squeeze(1)
                        value = index.to(canvas.dtype) / (levels - 1)
                        if known is not None:
                            value = torch.where(known[:, c, i, j], canvas[:, c, i, j], value)
                        canvas[:, c, i, j] = value
                        bar.update()
                        if not hold:
                            mode.exit()  # between steps the caller's threads and modes
                        yield SamplingStep(canvas, (c, i, j), probs, value)
                        mode.enter()
            bar.close()
    finally:
        mode.exit()


def _check_model(model: AutoregressiveModel) -> None:
    """The loop reads ``likelihood``, ``levels``, ``hides_current_pixel`` ...: only the package's models have them all."""
    if not isinstance(model, AutoregressiveModel):
        raise TypeError(f"model must be a pixelcnn_edu model (models.AutoregressiveModel), got {type(model).__name__}")


def _default_image_size(model: AutoregressiveModel, image_size: int | Sequence[int] | None = None) -> tuple[int, int]:
    """``image_size`` as (H, W); None means the model's own ``image_size`` (the one MADE and
    IndependentPixels are built for, the largest the transformer's tables cover), else 28 x 28."""
    if image_size is None:
        image_size = getattr(model, "image_size", None) or (28, 28)
    return check_image_size(image_size)


def _start(model: AutoregressiveModel, n: int, image_size, y: torch.Tensor | None, temperature: float,
           generator: torch.Generator | None):
    """Validate the common arguments; return (device, dtype, (H, W), y on the device)."""
    _check_model(model)
    check_positive_int("n", n)
    check_temperature(temperature)
    h, w = _default_image_size(model, image_size)
    model.check_image_size((h, w))
    device, dtype = device_and_dtype(model)  # a float64 model samples in float64
    if dtype not in (torch.float32, torch.float64):  # level k / (levels - 1) is not exact in 16 bits
        raise ValueError(f"sampling needs a float32 or float64 model, got {dtype} (its values would fall off the "
                         f"level grid); sample from model.float() and keep mixed precision for training")
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__} {generator!r}")
        if generator.device.type != device.type:
            raise ValueError(f"generator is on {generator.device} but the model is on {device}: "
                             f"use torch.Generator(device={str(device)!r}).manual_seed(...)")
    check_labels(y, batch_size=n, n_classes=model.n_classes)
    return device, dtype, (h, w), None if y is None else y.to(device)


def sample_steps(
    model: AutoregressiveModel,
    n: int,
    image_size: int | Sequence[int] | None = None,
    *,
    y: torch.Tensor | None = None,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    progress: bool = False,
    cache: bool = True,
) -> Iterator[SamplingStep]:
    """Yield every step of drawing ``n`` images, in raster order (rows, columns, channels).

    ``image_size``: (H, W) or an int n for n x n; None (the default) is the model's own
    ``image_size`` where it has one (MADE, IndependentPixels, PixelTransformer), else 28 x 28.
    Each step runs with the model in eval mode (and, for a cached loop on the CPU, torch at one
    thread); between steps, while the generator waits, the model's train/eval modes and the thread
    count are the caller's again, so a half-drawn sampler left in a widget changes nothing else.
    ``generator`` must live on the model's device (CPU generator for a CPU model). ``cache=False``
    runs the naive reference loop (one full pass per sub-pixel). The draws are those of
    :func:`sample` for the same generator.
    """
    return _sample_steps(model, n, image_size, y=y, temperature=temperature, generator=generator, progress=progress,
                         cache=cache, hold=False)


def _sample_steps(model: AutoregressiveModel, n: int, image_size: int | Sequence[int] | None = None, *,
                  y: torch.Tensor | None = None, temperature: float = 1.0, generator: torch.Generator | None = None,
                  progress: bool = False, cache: bool = True, hold: bool) -> Iterator[SamplingStep]:
    """:func:`sample_steps`; ``hold=True`` keeps the sampling mode from the first step to the last, for
    a consumer that runs the loop through without handing control to anyone (``sample``, traces, timers)."""
    device, dtype, (h, w), y = _start(model, n, image_size, y, temperature, generator)
    canvas = torch.zeros(n, model.in_channels, h, w, device=device, dtype=dtype)
    return _steps(model, canvas, None, y, temperature, generator, progress, cache, hold=hold)


def sample(
    model: AutoregressiveModel,
    n: int,
    image_size: int | Sequence[int] | None = None,
    *,
    y: torch.Tensor | None = None,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    progress: bool = False,
    cache: bool = True,
) -> torch.Tensor:
    """Draw ``n`` images, (n, C, H, W) float in [0, 1] on the model's level grid.

    ``image_size``: (H, W) or an int n for n x n; None (the default) is the model's own
    ``image_size`` where it has one (MADE, IndependentPixels, PixelTransformer), else 28 x 28.
    ``temperature`` < 1 sharpens every conditional, > 1 flattens it (p_T(k) proportional to
    p(k)^(1/T)); 1 draws exactly from the distribution that ``model.log_prob`` defines, and a
    temperature near 0 takes the most likely level.
    ``cache=True`` computes only the activations each new sub-pixel can change; ``cache=False`` is
    the naive loop, kept as the reference: both give the same images for the same generator.
    The model runs in eval mode and is restored afterwards.
    """
    steps = _sample_steps(model, n, image_size, y=y, temperature=temperature, generator=generator, progress=progress,
                          cache=cache, hold=True)
    return _run(steps)


def _run(steps: Iterator[SamplingStep]) -> torch.Tensor:
    """Run a loop to its end; the finished canvas. The loop is closed even if this is interrupted."""
    canvas = None
    with closing(steps):
        for step in steps:
            canvas = step.canvas
    assert canvas is not None
    return canvas.clone()
