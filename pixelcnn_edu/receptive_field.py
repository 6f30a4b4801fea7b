"""Which input sub-pixels can reach an output, measured by autograd.

The receptive field of output position (i, j) is the set of inputs whose gradient is not
zero: backpropagate from that output and look at ``x.grad``. The same tool proves
causality (no later sub-pixel may appear) and exposes the blind spot (earlier pixels that
a stack of masked convolutions never reaches). For a pixel transformer, :func:`attention_field`
draws a layer's attention weights the same way, to set beside the field autograd measures.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import torch
from torch import nn

from .checks import device_and_dtype
from .layers import MaskedConv2d

Position = tuple[int, int]


def raster_order_mask(shape: Sequence[int], target: tuple[int, int, int]) -> torch.Tensor:
    """(C, H, W) bool: True at sub-pixels strictly before ``target`` = (c, i, j).

    The order is rows, then columns, then channels: sub-pixel (c', i', j') comes first if
    (i', j', c') < (i, j, c) lexicographically.
    """
    c_n, h, w = shape
    c, i, j = target
    ii = torch.arange(h).view(1, h, 1)
    jj = torch.arange(w).view(1, 1, w)
    cc = torch.arange(c_n).view(c_n, 1, 1)
    key = (ii * w + jj) * c_n + cc  # rank of each sub-pixel in the order
    return (key < (i * w + j) * c_n + c).expand(c_n, h, w).clone()


def input_gradient(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, select: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """|d select(fn(x)) / d x| for each input, summed over the batch: (C, H, W)."""
    x = x.detach().clone().requires_grad_(True)
    out = select(fn(x))
    (grad,) = torch.autograd.grad(out.sum(), x, allow_unused=True)
    if grad is None:
        return torch.zeros(x.shape[1:])
    return grad.abs().sum(0).detach()


def model_inputs(model: nn.Module, n: int, image_size: Sequence[int], generator: torch.Generator | None = None) -> torch.Tensor:
    """Random images on a model's level grid, (n, C, H, W), for probing gradients."""
    h, w = image_size
    levels = model.levels
    device, dtype = device_and_dtype(model)
    x = torch.randint(levels, (n, model.in_channels, h, w), generator=generator) / (levels - 1)
    return x.to(device=device, dtype=dtype)


def model_receptive_field(
    model: nn.Module,
    image_size: Sequence[int],
    position: Position,
    *,
    n_probes: int = 4,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """(C, H, W): how strongly each input sub-pixel reaches the parameters at ``position``.

    Gradients of all output parameters at (i, j) are summed over ``n_probes`` random images on
    the level grid (several probes so that a ReLU that happens to be off does not hide a path).
    """
    i, j = position
    x = model_inputs(model, n_probes, image_size, generator)
    return input_gradient(model, x, lambda out: out[:, :, i, j])


def channel_receptive_field(
    model: nn.Module,
    image_size: Sequence[int],
    position: Position,
    *,
    n_probes: int = 4,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """(C_out, C_in, H, W): which inputs reach the parameters of each channel at ``position``.

    Row c is the receptive field of channel c's parameters (the model's output is grouped in one
    block per channel: R's parameters, then G's, then B's). For an R -> G -> B model, G's row
    reaches the current pixel's R but not its G or B.
    """
    i, j = position
    x = model_inputs(model, n_probes, image_size, generator)
    c_n = model.in_channels
    rows = []
    for c in range(c_n):
        def select(out: torch.Tensor, c: int = c) -> torch.Tensor:
            per_channel = out.shape[1] // c_n
            return out[:, c * per_channel : (c + 1) * per_channel, i, j]

        rows.append(input_gradient(model, x, select).cpu())
    return torch.stack(rows)


def compare_receptive_fields(
    models: Mapping[str, nn.Module],
    image_size: Sequence[int],
    position: Position,
    *,
    n_probes: int = 4,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """The receptive field (C, H, W) of the same output pixel in several models, by name.

    Every model is probed with the same random images (same ``seed``), so the fields differ
    only because the architectures do (e.g. a PixelCNN's blind spot against a Gated PixelCNN).
    """
    return {
        name: model_receptive_field(model, image_size, position, n_probes=n_probes, generator=torch.Generator().manual_seed(seed))
        for name, model in models.items()
    }


def stack_receptive_fields(
    model: nn.Module,
    image_size: Sequence[int],
    position: Position,
    *,
    y: torch.Tensor | None = None,
    n_probes: int = 2,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """(L, 2, H, W): what the vertical (index 0) and horizontal (1) stack of a Gated PixelCNN hold
    at ``position`` after each of its L layers, measured by autograd.

    The vertical stack grows as a block of rows strictly above the pixel; the horizontal stack
    adds the row to its left, and through the v -> h link everything the vertical stack holds.
    ``model`` needs the ``layers`` of :class:`models.GatedPixelCNN`.
    """
    i, j = position
    x = model_inputs(model, n_probes, image_size, generator).requires_grad_(True)
    v = h = 2.0 * x - 1.0
    fields = []
    for layer in model.layers:
        v, h, _ = layer(v, h, y)
        per_stack = []
        for stack in (v, h):
            (grad,) = torch.autograd.grad(stack[:, :, i, j].sum(), x, retain_graph=True, allow_unused=True)
            per_stack.append(torch.zeros(x.shape[2:]) if grad is None else grad.abs().sum((0, 1)).detach().cpu())
        fields.append(torch.stack(per_stack))
    return torch.stack(fields)


def stream_windows(
    model: nn.Module, image_size: Sequence[int], position: Position, *, n_probes: int = 2, generator: torch.Generator | None = None
) -> torch.Tensor:
    """(2, H, W): the inputs that PixelCNN++'s first layer puts into its ``u`` stream (index 0: a
    down-shifted window, rows strictly above the pixel) and its ``ul`` stream (1: down-right-shifted,
    above and to the left) at ``position``, measured by autograd through the model's own layers.

    ``model`` needs the ``start_streams`` of :class:`models.PixelCNNPlusPlus`.
    """
    i, j = position
    x = model_inputs(model, n_probes, image_size, generator)
    return torch.stack([
        input_gradient(lambda inp: model.start_streams(inp)[stream], x, lambda out: out[:, :, i, j]).sum(0)
        for stream in (0, 1)
    ]).cpu()


def attention_field(
    model: nn.Module, x: torch.Tensor, position: Position, *, channel: int = 0, layer: int = -1, y: torch.Tensor | None = None
) -> torch.Tensor:
    """(T, H, W): the attention that the token at ``position`` (i, j) (its ``channel``-th token) pays
    in ``layer`` to every token, averaged over the heads and the images ``x`` (B, C, H, W) in [0, 1]:
    attention as a receptive field, to set beside the autograd one (:func:`model_receptive_field`).

    T is the model's tokens per pixel (C, or 1 when a token is a whole pixel). Slot s holds token
    s-1 (the shift), so its weight is drawn at token s-1; the start token's share is left out, so the
    field sums to at most 1. Zero at and after the query token. ``model`` needs the
    ``attention_weights`` of :class:`models.PixelTransformer`.
    """
    per_pixel, (h, w), (i, j) = model.tokens_per_pixel, x.shape[-2:], position
    if not (0 <= i < h and 0 <= j < w and 0 <= channel < per_pixel):
        raise ValueError(f"position {position}, channel {channel} is not a token of a {h}x{w} image with {per_pixel} token(s) per pixel")
    with torch.no_grad():
        weights = model.attention_weights(x, y)[layer].mean((0, 1))  # (L, L), row = query slot
    query = (i * w + j) * per_pixel + channel
    field = torch.cat([weights[query, 1:], weights.new_zeros(1)])  # slot s + 1 -> token s; no slot reads the last token
    return field.view(h, w, per_pixel).permute(2, 0, 1).cpu()


def log_prob_dependencies(model: nn.Module, x: torch.Tensor, target: tuple[int, int, int], y: torch.Tensor | None = None) -> torch.Tensor:
    """(C, H, W): |d log_prob[:, c, i, j] / d x| summed over the batch, for target (c, i, j).

    For an autoregressive model this must be exactly zero at every sub-pixel after the target.
    """
    c, i, j = target
    return input_gradient(lambda inp: model.log_prob(inp, y), x, lambda out: out[:, c, i, j])


def masked_conv_stack(n_layers: int, kernel_size: int = 3) -> nn.Sequential:
    """A stack of one-channel masked convolutions (mask A, then mask B) with all weights 1.

    Linear and with positive weights, so no path can cancel: its receptive field is exactly
    what the masks allow. Used to draw how the field grows and where the blind spot is.
    """
    layers = [MaskedConv2d(1, 1, kernel_size, "A" if k == 0 else "B", bias=False) for k in range(n_layers)]
    for layer in layers:
        nn.init.ones_(layer.weight)
    return nn.Sequential(*layers)


def layerwise_receptive_fields(stack: nn.Sequential, image_size: Sequence[int], position: Position) -> torch.Tensor:
    """(L, H, W): the receptive field of ``position`` after each of the L layers of ``stack``."""
    h, w = image_size
    i, j = position
    device, dtype = device_and_dtype(stack)
    x = torch.ones(1, 1, h, w, device=device, dtype=dtype)
    fields = []
    for depth in range(1, len(stack) + 1):
        sub = stack[:depth]
        fields.append(input_gradient(sub, x, lambda out: out[:, :, i, j])[0].cpu())
    return torch.stack(fields)


def layerwise_dependents(stack: nn.Sequential, image_size: Sequence[int], position: Position) -> torch.Tensor:
    """(L, H, W) bool: after each of the L layers of ``stack``, the activations that change when the
    input at ``position`` changes (the forward cone of one written sub-pixel).

    Computed by forward-mode autograd: a Jacobian-vector product with a one-hot tangent at
    ``position`` gives d(layer output) / d x[position] at every output at once; nonzero = depends.
    Use a stack without cancellation (``masked_conv_stack``: positive weights, no nonlinearity).
    """
    h, w = image_size
    i, j = position
    device, dtype = device_and_dtype(stack)
    x = torch.ones(1, 1, h, w, device=device, dtype=dtype)
    tangent = torch.zeros_like(x)
    tangent[0, 0, i, j] = 1.0
    cones = []
    with torch.autograd.forward_ad.dual_level(), warnings.catch_warnings():
        # torch's first forward-mode call scripts some helpers and warns that torch.jit.script is deprecated
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
        out = torch.autograd.forward_ad.make_dual(x, tangent)
        for layer in stack:
            out = layer(out)
            cones.append(torch.autograd.forward_ad.unpack_dual(out).tangent[0].abs().sum(0) != 0)
    return torch.stack(cones).cpu()


def blind_spot(field: torch.Tensor, position: Position) -> torch.Tensor:
    """(H, W) bool: the pixels before ``position`` that the field should reach but does not.

    "Should reach" means lying inside the bounding box of the pixels it does reach: the past
    pixels in that box which get no gradient are the blind spot (for stacked masked
    convolutions, a wedge above and to the right). Past pixels outside the box are merely
    out of range, which more layers would fix. ``field`` is (H, W) or (C, H, W).
    """
    if field.dim() == 3:
        field = field.abs().sum(0)
    h, w = field.shape
    reached = field != 0
    past = raster_order_mask((1, h, w), (0, *position))[0]
    if not reached.any():
        return torch.zeros(h, w, dtype=torch.bool)
    rows = reached.any(1).nonzero().flatten()
    cols = reached.any(0).nonzero().flatten()
    box = torch.zeros(h, w, dtype=torch.bool)
    box[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = True
    return past & box & ~reached


def never_reached(image_size: Sequence[int], position: Position, kernel_size: int = 3) -> torch.Tensor:
    """(H, W) bool: the pixels before ``position`` that no depth of ``masked_conv_stack(n, kernel_size)``
    reaches, however large n: the blind spot proper, fixed by the masks, not by the depth.

    Each layer moves the field at most ``kernel_size // 2`` rows up and columns left or right, so a stack
    of ``ceil(max(H, W) / (kernel_size // 2))`` layers reaches every pixel that any depth reaches; its
    field is measured by autograd in float64 (all weights 1, so the gradients count paths, at most
    ``taps ** depth``, which must stay finite: images up to a few hundred pixels across).
    :func:`blind_spot` of a shallower field is the part of this set inside that field's bounding box.
    """
    h, w = (int(s) for s in image_size)
    i, j = (int(p) for p in position)
    if not (0 <= i < h and 0 <= j < w):
        raise ValueError(f"position must lie in the {h}x{w} image, got {position}")
    if kernel_size < 3 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd and at least 3, got {kernel_size}")
    depth = -(-max(h, w) // (kernel_size // 2))
    taps = kernel_size * kernel_size // 2 + 1  # of mask B
    if depth * torch.log10(torch.tensor(float(taps))) > 300:
        raise ValueError(f"a {h}x{w} image needs {depth} layers, whose path counts overflow float64")
    stack = masked_conv_stack(depth, kernel_size).double()
    x = torch.ones(1, 1, h, w, dtype=torch.float64)
    field = input_gradient(stack, x, lambda out: out[:, :, i, j])[0]
    past = raster_order_mask((1, h, w), (0, i, j))[0]
    return past & (field == 0)


def future_leak(field: torch.Tensor, position: Position) -> torch.Tensor:
    """(H, W) bool: pixels at or after ``position`` that the field reaches (should be none).

    ``field`` is (H, W) or (C, H, W), e.g. the field of all parameters at ``position``. Pixels
    after ``position`` may never be reached. At ``position`` itself, the parameters of later
    channels may read earlier channels (G reads the current R), but no parameter may read the
    last channel, so for the target pixel only ``field[-1]`` counts as a leak.
    """
    if field.dim() == 2:
        field = field[None]
    _, h, w = field.shape
    past = raster_order_mask((1, h, w), (0, *position))[0]
    leak = ~past & (field.abs().sum(0) != 0)
    i, j = position
    leak[i, j] = bool(field[-1, i, j] != 0)
    return leak


@dataclass
class CausalityReport:
    """Result of :func:`check_causality` over every sub-pixel of an image.

    leaks: number of non-zero gradients at or after their target (0 for an autoregressive model).
    targets_using_past: targets whose log-probability depends on at least one earlier sub-pixel.
    targets_with_past: targets that have an earlier sub-pixel at all (all but the first).
    missed_past: (target, earlier sub-pixel) pairs with zero gradient: earlier sub-pixels the
        target never sees. A masked-convolution PixelCNN misses its blind spot here however deep
        it is; a Gated PixelCNN deep enough for the image misses none.
    """

    leaks: int
    targets_using_past: int
    targets_with_past: int
    missed_past: int = 0

    @property
    def causal(self) -> bool:
        return self.leaks == 0

    @property
    def sees_all_past(self) -> bool:
        """True if every target depends on every sub-pixel before it (no blind spot, no range limit)."""
        return self.missed_past == 0


def check_causality(
    model: nn.Module,
    image_size: Sequence[int] = (8, 8),
    *,
    n_probes: int = 2,
    y: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> CausalityReport:
    """Test the autoregressive property of ``model`` by autograd, for every target sub-pixel.

    For each (c, i, j), the gradient of ``log_prob[:, c, i, j]`` with respect to every sub-pixel
    at or after (c, i, j) must be exactly zero. The model's train/eval mode is left as it is, so
    both can be tested.
    """
    x = model_inputs(model, n_probes, image_size, generator)
    leaks = used = with_past = missed = 0
    c_n = model.in_channels
    for i in range(image_size[0]):
        for j in range(image_size[1]):
            for c in range(c_n):
                dep = log_prob_dependencies(model, x, (c, i, j), y)
                past = raster_order_mask(dep.shape, (c, i, j))
                leaks += int((dep[~past] != 0).sum())
                if past.any():
                    with_past += 1
                    used += int((dep[past] != 0).any())
                    missed += int((dep[past] == 0).sum())
    return CausalityReport(leaks, used, with_past, missed)
