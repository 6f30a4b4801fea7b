"""Drawing images from an autoregressive model, one sub-pixel at a time.

The loop is the definition of the model: for every position in raster order (rows, columns, then
channels R, G, B), read the distribution of the next sub-pixel given the partial image, draw a value
and write it in. ``cache=False`` does this literally, one full pass of the network per sub-pixel (the
naive reference). ``cache=True`` (the default) gets the same distributions from per-layer caches
(:mod:`incremental`): each pass computes only the current pixel (and, once per row, two whole rows)
from the buffers of earlier activations. Every entry point below (``sample``, ``sample_steps``, ``sampling_trace``,
``complete``, the widgets and the CLI) runs the one generator ``_steps``, so they all draw the same
images for the same generator, cached or not.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from tqdm.auto import tqdm

from . import incremental
from .checks import check_image_size, check_images, check_labels, check_positive_int, check_temperature, device_and_dtype
from .models import AutoregressiveModel


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


def can_cache(model: AutoregressiveModel) -> bool:
    """Whether ``model`` can sample with a cache: the class that defines its ``params`` says
    ``can_cache = True``, and it holds no convolution that reads neighbours but keeps no cache."""
    for cls in type(model).__mro__:
        if "params" in cls.__dict__:
            return bool(cls.__dict__.get("can_cache", False)) and not incremental.uncached_spatial_layers(model)
    return False


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
) -> Iterator[SamplingStep]:
    """The sampling loop. ``canvas`` (n, C, H, W) on the model's device is written in place: at every
    sub-pixel where ``known`` (n, C, H, W) bool is True it keeps its value (a completion), elsewhere it
    gets a draw. The same number of random draws is made either way, so ``cache`` changes nothing.

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
        return model.params(2.0 * canvas[:, :, top:bottom, left:right] - 1.0, y)

    def pixel_params(i: int, j: int) -> torch.Tensor:  # (n, P, 1, 1)
        if not cached:
            return model(canvas, y)[:, :, i : i + 1, j : j + 1]
        # this pixel, and the one before it again: the input layers must see that one's last channel
        return network(i, i + 1, max(j - 1, 0), j + 1)[:, :, :, -1:]

    was_training, threads = model.training, torch.get_num_threads()
    model.eval()
    if cached and canvas.device.type == "cpu":
        # A cached pass is hundreds of tiny operations: a second thread gains nothing and, on cores
        # that are busy with anything else, OpenMP's waiting made it 10-20x slower here.
        torch.set_num_threads(1)
    try:
        with incremental.caching(model, (h, w)) if cached else nullcontext() as state:
            bar = tqdm(total=c_in * h * w, desc="sampling", disable=not progress, leave=False)
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
                        yield SamplingStep(canvas, (c, i, j), probs, value)
            bar.close()
    finally:
        model.train(was_training)
        torch.set_num_threads(threads)


def _check_model(model: AutoregressiveModel) -> None:
    """The loop reads ``likelihood``, ``levels``, ``hides_current_pixel`` ...: only the package's models have them all."""
    if not isinstance(model, AutoregressiveModel):
        raise TypeError(f"model must be a pixelcnn_edu model (models.AutoregressiveModel), got {type(model).__name__}")


def _start(model: AutoregressiveModel, n: int, image_size, y: torch.Tensor | None, temperature: float):
    """Validate the common arguments; return (device, dtype, (H, W), y on the device)."""
    _check_model(model)
    check_positive_int("n", n)
    check_temperature(temperature)
    h, w = check_image_size(image_size)
    model.check_image_size((h, w))
    device, dtype = device_and_dtype(model)  # a float64 model samples in float64
    check_labels(y, batch_size=n, n_classes=model.n_classes)
    return device, dtype, (h, w), None if y is None else y.to(device)


def sample_steps(
    model: AutoregressiveModel,
    n: int,
    image_size: int | Sequence[int] = (28, 28),
    *,
    y: torch.Tensor | None = None,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    progress: bool = False,
    cache: bool = True,
) -> Iterator[SamplingStep]:
    """Yield every step of drawing ``n`` images, in raster order (rows, columns, channels).

    The model is switched to eval mode while sampling and restored afterwards. ``generator``
    must live on the model's device (CPU generator for a CPU model). ``cache=False`` runs the
    naive reference loop (one full pass per sub-pixel).
    """
    device, dtype, (h, w), y = _start(model, n, image_size, y, temperature)
    canvas = torch.zeros(n, model.in_channels, h, w, device=device, dtype=dtype)
    return _steps(model, canvas, None, y, temperature, generator, progress, cache)


def sample(
    model: AutoregressiveModel,
    n: int,
    image_size: int | Sequence[int] = (28, 28),
    *,
    y: torch.Tensor | None = None,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    progress: bool = False,
    cache: bool = True,
) -> torch.Tensor:
    """Draw ``n`` images, (n, C, H, W) float in [0, 1] on the model's level grid.

    ``temperature`` < 1 sharpens every conditional, > 1 flattens it (p_T(k) proportional to
    p(k)^(1/T)); 1 draws exactly from the distribution that ``model.log_prob`` defines.
    ``cache=True`` computes only the activations each new sub-pixel can change; ``cache=False`` is
    the naive loop, kept as the reference: both give the same images for the same generator.
    """
    steps = sample_steps(
        model, n, image_size, y=y, temperature=temperature, generator=generator, progress=progress, cache=cache
    )
    return _run(steps)


def _run(steps: Iterator[SamplingStep]) -> torch.Tensor:
    canvas = None
    for step in steps:
        canvas = step.canvas
    assert canvas is not None
    return canvas.clone()


def _record(steps: Iterator[SamplingStep], shape, levels: int, y: torch.Tensor | None) -> SamplingTrace:
    positions, probs, values = [], [], []
    for step in steps:
        positions.append(step.position)
        probs.append(step.probs.cpu())
        values.append(step.value.cpu())
    labels = None if y is None else y.detach().cpu().clone()
    return SamplingTrace(positions, torch.stack(probs), torch.stack(values), levels, tuple(shape), labels)


def sampling_trace(
    model: AutoregressiveModel,
    n: int = 1,
    image_size: int | Sequence[int] = (28, 28),
    *,
    y: torch.Tensor | None = None,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    progress: bool = False,
    cache: bool = True,
) -> SamplingTrace:
    """Run the sampling loop and record every step (for ``widgets.SamplingStepper``).

    For a class-conditional model pass one label per image, e.g. ``y=torch.arange(10)`` to draw
    one image of each digit; the trace keeps them, and the stepper offers a class picker.
    """
    steps = sample_steps(
        model, n, image_size, y=y, temperature=temperature, generator=generator, progress=progress, cache=cache
    )
    h, w = check_image_size(image_size)
    return _record(steps, (n, model.in_channels, h, w), model.levels, y)


def check_known(x: torch.Tensor, known: torch.Tensor, *, allow_ignored_future: bool = False) -> torch.Tensor:
    """Check a completion mask and return it as (B, C, H, W) bool.

    ``known`` is a bool tensor of the shape of ``x`` (B, C, H, W), of one image (C, H, W) or of
    one channel (H, W), True where the sub-pixel is given. A raster-order model draws sub-pixel k
    from p(x_k | x_<k), so it can use a given value only if every sub-pixel before it is given too:
    a known sub-pixel after an unknown one raises a ValueError, unless ``allow_ignored_future``,
    which drops such sub-pixels (they are drawn instead) with a warning.
    """
    if not isinstance(known, torch.Tensor) or known.dtype != torch.bool:
        raise TypeError(f"known must be a bool tensor (True where the sub-pixel is given), got {getattr(known, 'dtype', type(known).__name__)}")
    if tuple(known.shape) not in (tuple(x.shape), tuple(x.shape[1:]), tuple(x.shape[2:])):
        raise ValueError(
            f"known must have the shape of x {tuple(x.shape)}, of one image {tuple(x.shape[1:])} or of one "
            f"channel {tuple(x.shape[2:])}, got {tuple(known.shape)}"
        )
    known = known.to(x.device).expand(x.shape)
    order = known.permute(0, 2, 3, 1).flatten(1)  # (B, D) in raster order: rows, columns, channels
    after_unknown = torch.cummax((~order).int(), dim=1).values.bool()  # an unknown sub-pixel at or before k
    ignored = order & after_unknown
    if ignored.any():
        count = int(ignored.sum())
        first = int(ignored.int().argmax(1)[ignored.any(1)][0])
        _, c, h, w = x.shape
        where = (first // c % w, first % c)
        message = (
            f"{count} known sub-pixel(s) come after an unknown one in raster order (the first at row "
            f"{first // c // w}, column {where[0]}, channel {where[1]}); a raster-order model conditions "
            f"only on earlier sub-pixels, so it cannot use them"
        )
        if not allow_ignored_future:
            raise ValueError(message + "; give a raster-order prefix (e.g. the top rows) or pass allow_ignored_future=True")
        warnings.warn(message + "; they are ignored and drawn like the rest", stacklevel=3)
        order = order & ~after_unknown
        b, _, h, w = x.shape
        known = order.view(b, h, w, c).permute(0, 3, 1, 2)
    return known.contiguous()


def _completion_steps(model, x, known, n, y, temperature, generator, progress, cache, allow_ignored_future):
    """Validate a completion and start its loop; return (steps, labels per row, shape of the result)."""
    _check_model(model)
    check_images(x, in_channels=model.in_channels, levels=model.levels)
    b, c, h, w = x.shape
    check_positive_int("n", n)
    known = check_known(x, known, allow_ignored_future=allow_ignored_future)
    device, dtype = device_and_dtype(model)

    def repeat(t: torch.Tensor) -> torch.Tensor:  # image k's completions become rows k*n .. k*n + n - 1
        return t.to(device).repeat_interleave(n, dim=0)

    y = None if y is None else repeat(_one_label_per_image(y, b))
    y = _start(model, n * b, (h, w), y, temperature)[-1]
    known = repeat(known)
    canvas = torch.where(known, repeat(x), torch.zeros((), device=device)).to(dtype)
    steps = _steps(model, canvas, known, y, temperature, generator, progress, cache)
    return steps, y, (b * n, c, h, w)


def _one_label_per_image(y: torch.Tensor, b: int) -> torch.Tensor:
    if not isinstance(y, torch.Tensor) or y.shape != (b,):
        raise ValueError(f"y must have shape ({b},), one label per image of x, got {tuple(getattr(y, 'shape', ()))}")
    return y


def complete(
    model: AutoregressiveModel,
    x: torch.Tensor,
    known: torch.Tensor,
    n: int = 1,
    *,
    y: torch.Tensor | None = None,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    progress: bool = False,
    cache: bool = True,
    allow_ignored_future: bool = False,
) -> torch.Tensor:
    """Keep the known sub-pixels of ``x`` and draw the rest in raster order, ``n`` times per image.

    x: (B, C, H, W) float on the model's level grid.  known: bool, see :func:`check_known` (e.g.
    the top half of every image: ``known = torch.zeros(28, 28, dtype=torch.bool); known[:14] = True``).
    y: (B,) labels for a conditional model (each completion keeps its image's label).
    Returns (B, n, C, H, W): ``[k, m]`` is completion m of image k.
    """
    steps, _, (_, c, h, w) = _completion_steps(
        model, x, known, n, y, temperature, generator, progress, cache, allow_ignored_future
    )
    return _run(steps).view(x.shape[0], n, c, h, w)


def completion_trace(
    model: AutoregressiveModel,
    x: torch.Tensor,
    known: torch.Tensor,
    n: int = 1,
    *,
    y: torch.Tensor | None = None,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    progress: bool = False,
    cache: bool = True,
    allow_ignored_future: bool = False,
) -> SamplingTrace:
    """:func:`complete`, recorded step by step for the stepper: image k's completions are trace
    images k*n .. k*n + n - 1. The given sub-pixels are steps too, with the model's distribution for
    them, so the stepper shows how likely the model found the part it was given."""
    steps, y_rep, shape = _completion_steps(
        model, x, known, n, y, temperature, generator, progress, cache, allow_ignored_future
    )
    return _record(steps, shape, model.levels, y_rep)


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


@dataclass
class Agreement:
    """How closely the cached loop matches the naive one, step by step, for the same generator seed.

    max_prob_diff: the largest |p_cached - p_naive| over every drawn distribution and level.
    same_values: whether every drawn value (so every image) is identical.
    steps: the number of sub-pixels compared.
    """

    max_prob_diff: float
    same_values: bool
    steps: int


def agreement(
    model: AutoregressiveModel,
    n: int,
    image_size: int | Sequence[int],
    *,
    y: torch.Tensor | None = None,
    temperature: float = 1.0,
    seed: int = 0,
) -> Agreement:
    """Run the naive and then the cached loop from generators seeded with ``seed`` and compare them
    step by step (one after the other: a model runs one sampling loop at a time)."""
    device, _ = device_and_dtype(model)

    def run(cache: bool) -> list[tuple[torch.Tensor, torch.Tensor]]:  # (probs, value) of every step
        generator = torch.Generator(device=device).manual_seed(seed)
        steps = sample_steps(model, n, image_size, y=y, temperature=temperature, cache=cache, generator=generator)
        return [(step.probs.clone(), step.value.clone()) for step in steps]

    naive, cached = run(False), run(True)
    worst = max((p - q).abs().max().item() for (p, _), (q, _) in zip(naive, cached))
    same = all(torch.equal(a, b) for (_, a), (_, b) in zip(naive, cached))
    return Agreement(worst, same, len(naive))


def positions_per_step(
    model: AutoregressiveModel, image_size: int | Sequence[int], *, cache: bool, layer: torch.nn.Module | None = None
) -> torch.Tensor:
    """(T,) how many output positions ``layer`` computed for each sub-pixel drawn (one image, in
    drawing order; the passes over whole rows count towards the step that follows them).

    ``layer`` defaults to the model's first cached layer (its input convolution). The naive loop
    computes all H*W positions at every step; the cached one a few, plus a row at each new row.
    """
    if layer is None:
        layer = next(m for m in model.modules() if isinstance(m, incremental.CachedLayer))
    counted = [0]

    def count(module: torch.nn.Module, args: tuple, out: torch.Tensor | tuple[torch.Tensor, ...]) -> None:
        first = out[0] if isinstance(out, tuple) else out  # a gated block returns (v, h, skip) of one region
        counted[0] += first.shape[-2] * first.shape[-1]

    handle = layer.register_forward_hook(count)
    work = []
    try:
        generator = torch.Generator(device=device_and_dtype(model)[0]).manual_seed(0)
        for _ in sample_steps(model, 1, image_size, cache=cache, generator=generator):
            work.append(counted[0])
            counted[0] = 0
    finally:
        handle.remove()
    return torch.tensor(work)
