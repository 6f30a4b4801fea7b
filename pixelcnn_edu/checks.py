"""Input checks shared by models, layers, likelihoods, data, sampling and the probes.

Each raises a TypeError or ValueError that names the argument, what was expected
and what was received, so a student sees at once what went wrong.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch


def check_int(name: str, value: int, minimum: int) -> int:
    """Return ``value`` if it is an int >= ``minimum`` (bools rejected); ``name`` names it in the error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_levels(levels: int) -> int:
    """Return ``levels`` if it is an int >= 2 (a pixel needs at least two values)."""
    return check_int("levels", levels, 2)


def check_positive_int(name: str, value: int) -> int:
    """Return ``value`` if it is an int >= 1 (sizes, counts, layers); ``name`` names it in the error."""
    return check_int(name, value, 1)


def check_bool(name: str, value: bool) -> bool:
    """Return ``value`` if it is True or False (a string such as "no" would silently count as True)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool (True or False), got {type(value).__name__} {value!r}")
    return value


def check_positive_number(name: str, value: float, hint: str = "") -> float:
    """Return ``value`` if it is a finite int or float > 0 (bools, strings and tensors rejected, so
    ``lr=True`` or ``clip_grad="1"`` cannot slip through); ``hint`` ends the ValueError's message."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}{hint}")
    return value


def check_temperature(temperature: float) -> float:
    """Return ``temperature`` if it is a finite number > 0 (p_T(k) is proportional to p(k)^(1/T))."""
    return check_positive_number("temperature", temperature)


def check_image_size(image_size: int | Sequence[int], name: str = "image_size") -> tuple[int, int]:
    """(H, W) from an int n (a square n x n) or a pair of ints, each >= 1."""
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        return check_positive_int(name, image_size), image_size
    if not isinstance(image_size, (tuple, list, torch.Size)):
        raise TypeError(f"{name} must be an int or a pair (H, W) of ints, got {type(image_size).__name__} {image_size!r}")
    if len(image_size) != 2:
        raise ValueError(f"{name} must be an int or a pair (H, W), got {tuple(image_size)}")
    h, w = (check_positive_int(name, s) for s in image_size)
    return h, w


def check_images(x: torch.Tensor, *, in_channels: int, levels: int, name: str = "x") -> None:
    """Check that ``x`` is a float batch (B, in_channels, H, W) with values on the level grid.

    The level grid is {0, 1/(levels-1), ..., 1}: a quantised image divided by (levels - 1).
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a float tensor with values in [0, 1], got dtype {x.dtype}; "
            f"divide integer levels by (levels - 1) = {levels - 1} first"
        )
    if x.dim() != 4:
        raise ValueError(f"{name} must have shape (B, C, H, W), got shape {tuple(x.shape)}")
    if x.shape[1] != in_channels:
        raise ValueError(f"{name} must have {in_channels} channel(s), got {x.shape[1]} (shape {tuple(x.shape)})")
    if x.numel() == 0:
        return
    v = x.detach()
    scaled = v * (levels - 1)
    # One host synchronisation for all four checks (on a GPU each .item() waits for the device).
    has_nan, lo, hi, off_grid = torch.stack(
        [v.isnan().any().to(v.dtype), v.amin(), v.amax(), (scaled - scaled.round()).abs().amax()]
    ).tolist()
    if has_nan:
        raise ValueError(f"{name} contains NaN values")
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"{name} values must lie in [0, 1], got min {lo:.4g} and max {hi:.4g}")
    if off_grid > 1e-3:
        raise ValueError(
            f"{name} values must lie on the grid of {levels} levels (k / {levels - 1}); "
            f"found a value {off_grid:.3g} level-steps away from it. Quantise with data.quantise(x, {levels})"
        )


def check_labels(y: torch.Tensor | None, *, batch_size: int, n_classes: int | None, name: str = "y") -> None:
    """Check class labels: None for unconditional models, else an int tensor (B,) in [0, n_classes)."""
    if n_classes is None:
        if y is not None:
            raise ValueError(f"{name} was given but the model is unconditional (n_classes=None)")
        return
    if y is None:
        raise ValueError(f"the model is class-conditional (n_classes={n_classes}): pass labels {name} of shape (B,)")
    if not isinstance(y, torch.Tensor) or y.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise TypeError(f"{name} must be an integer tensor of class labels, got {getattr(y, 'dtype', type(y).__name__)}")
    if y.shape != (batch_size,):
        raise ValueError(f"{name} must have shape ({batch_size},), got {tuple(y.shape)}")
    if y.numel() and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name} must lie in [0, {n_classes - 1}], got min {y.min().item()} and max {y.max().item()}")


def check_follows_model(x: torch.Tensor, model: torch.nn.Module, name: str = "x") -> None:
    """Check that ``x`` has the dtype and device of ``model``'s parameters.

    A float64 batch into a float32 model (or the reverse) would fail deep inside a convolution;
    converting silently would hide that the model and the data disagree, so say how to align them.
    """
    device, dtype = device_and_dtype(model)
    if x.dtype != dtype:
        methods = {torch.float32: "float()", torch.float64: "double()"}
        raise TypeError(
            f"{name} has dtype {x.dtype} but the model's parameters are {dtype}: convert the images "
            f"({name}.{methods.get(dtype, f'to({dtype})')}) or the model (model.{methods.get(x.dtype, f'to({x.dtype})')})"
        )
    if x.device != device:
        raise ValueError(f"{name} is on {x.device} but the model is on {device}: move the images with x.to({str(device)!r})")


def device_and_dtype(model: torch.nn.Module) -> tuple[torch.device, torch.dtype]:
    """The device and floating dtype of ``model``'s parameters: where, and in what precision, the
    sampler, ``train.fit`` and the probes build their inputs (a float64 model gets float64 images)."""
    params = list(model.parameters())
    if not params:
        raise ValueError(f"{type(model).__name__} has no parameters, so it has no device or dtype to follow")
    floats = [p for p in params if p.is_floating_point()]
    return params[0].device, floats[0].dtype if floats else torch.get_default_dtype()
