"""Completion: keep the known sub-pixels of an image and draw the rest in raster order."""

from __future__ import annotations

import warnings

import torch

from ..checks import check_images, check_positive_int, device_and_dtype
from ..models import AutoregressiveModel
from .loop import _check_model, _run, _start, _steps
from .traces import SamplingTrace, _record


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
    y = _start(model, n * b, (h, w), y, temperature, generator)[-1]
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
