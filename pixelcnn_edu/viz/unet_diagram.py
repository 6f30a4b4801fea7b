"""PixelCNN++'s U-Net as boxes and arrows, read from a real ``models.PixelCNNPlusPlus``.

The diagram follows ``PixelCNNPlusPlus.network``: the first layer starts the two streams (``u``
strictly above a pixel, ``ul`` above and to its left), a down pass of gated ResNet blocks at full,
half and quarter size with stride-2 shifted convolutions between them, and an up pass back to full
size with transposed convolutions, whose blocks also read the down pass's outputs at the same
size (the long skip connections). The head turns the last ``ul`` into the mixture's parameters.
Block counts, map counts and sizes are the model's own.

Every box is a text artist with a ``gid`` (``UNET_BOX_IDS`` lists them), so a test can find it.
"""

from __future__ import annotations

from typing import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._common import _arrow, _box, _figure_and_axes

UNET_BOX_IDS: dict[str, str] = {
    "input": "the image, with a channel of ones",
    "start": "the first layer: start_streams makes u and ul",
    **{f"down_{s}": f"down pass, stage {s} (0: full size)" for s in range(3)},
    **{f"shrink_{s}": f"stride-2 shifted convolutions after down stage {s}" for s in range(2)},
    **{f"up_{s}": f"up pass, stage {s} (0: quarter size)" for s in range(3)},
    **{f"grow_{s}": f"transposed convolutions after up stage {s}" for s in range(2)},
    **{f"skip_{s}": f"long skip connections into up stage {s}" for s in range(3)},
    "head": "ELU and a 1x1 convolution to the likelihood's parameters",
    "output": "the distribution parameters",
}

_DOWN, _UP, _PLAIN, _RESAMPLE = "#DCE8F5", "#FBE3D6", "#FFFFFF", "#E6E6E6"
_DOWN_X, _UP_X = 2.7, 10.3
_STAGE_Y = (6.1, 4.0, 1.9)  # full, half, quarter size


def plot_unet(model=None, image_size: Sequence[int] = (28, 28), *, title: str | None = None, ax: Axes | None = None) -> Figure:
    """Diagram of a PixelCNN++: its two streams through the U-Net, with the model's own numbers.

    Args:
        model: a ``models.PixelCNNPlusPlus`` (default: one built with its default arguments).
        image_size: (H, W) of the images, for the sizes of the three stages (divisible by 4).
        title: the figure's title (default: names the model's maps and blocks).
        ax: draw into this axes instead of a new figure.

    Returns the Figure. Down-pass boxes are blue, up-pass boxes orange, the resampling
    convolutions grey; dashed arrows are the long skip connections.
    """
    from ..models import PixelCNNPlusPlus

    if model is None:
        model = PixelCNNPlusPlus()
    elif not isinstance(model, PixelCNNPlusPlus):
        raise TypeError(f"model must be a models.PixelCNNPlusPlus, got {type(model).__name__}")
    try:
        height, width = (int(s) for s in image_size)
    except (TypeError, ValueError):
        raise TypeError(f"image_size must be a pair of ints (H, W), got {image_size!r}") from None
    model.check_image_size((height, width))
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")

    config = model.config()
    h, n_down = config["hidden"], config["n_layers"]
    sizes = [f"{height // f}×{width // f}" for f in (1, 2, 4)]
    n_up = [len(stage) for stage in model.up_u]  # smallest size first
    conditional = config["n_classes"] is not None
    fig, ax = _figure_and_axes(ax, 11.0, 7.4)
    ax.set_xlim(0.0, 13.0)
    ax.set_ylim(0.7, 9.6)
    ax.set_axis_off()

    def blocks(n: int) -> str:
        return f"{n} gated ResNet block{'s' if n != 1 else ''} per stream"

    c = config["in_channels"]
    _box(ax, "input", _DOWN_X, 9.05, f"image x: {c} channel{'s' if c > 1 else ''} + a channel of ones", _PLAIN, 4.6, 0.6)
    _box(ax, "start", _DOWN_X, 7.85, "first layer (start_streams)\nu: down-shifted 2×3 conv   ul: down 1×3 + right 2×1\n"
         f"→ {h} maps each", _DOWN, 4.9, 1.0)
    _arrow(ax, [(_DOWN_X, 8.75), (_DOWN_X, 8.35)])
    _arrow(ax, [(_DOWN_X, 7.35), (_DOWN_X, _STAGE_Y[0] + 0.45)])
    bias = "\n+ class bias in every block" if conditional else ""
    for stage, y in enumerate(_STAGE_Y):
        _box(ax, f"down_{stage}", _DOWN_X, y, f"down pass, {sizes[stage]}\n{blocks(n_down)}, {h} maps{bias}", _DOWN, 4.4, 0.9)
        up_stage = 2 - stage  # the up pass runs from the quarter size back to full size
        _box(ax, f"up_{up_stage}", _UP_X, y, f"up pass, {sizes[stage]}\n{blocks(n_up[up_stage])}, {h} maps{bias}", _UP, 4.4, 0.9)
        # the down pass's outputs at this size: read by the up blocks at the same size, one per block
        _arrow(ax, [(_DOWN_X + 2.2, y + 0.12), (_UP_X - 2.2, y + 0.12)], linestyle="--")
        ax.text((_DOWN_X + _UP_X) / 2, y + 0.2, f"{n_up[up_stage]} u and {n_up[up_stage]} ul outputs", ha="center",
                va="bottom", fontsize=8, gid=f"skip_{up_stage}")
    for stage in range(2):
        top, bottom = _STAGE_Y[stage], _STAGE_Y[stage + 1]
        mid = (top + bottom) / 2
        _arrow(ax, [(_DOWN_X, top - 0.45), (_DOWN_X, bottom + 0.45)])
        ax.text(_DOWN_X + 0.15, mid, "stride-2 shifted convs (u: 2×3, ul: 2×2)", ha="left", va="center", fontsize=8,
                gid=f"shrink_{stage}", bbox=dict(boxstyle="round", facecolor=_RESAMPLE, edgecolor="none"))
        _arrow(ax, [(_UP_X, bottom + 0.45), (_UP_X, top - 0.45)])
        ax.text(_UP_X + 0.15, mid, "transposed convs, ×2 size", ha="left", va="center", fontsize=8,
                gid=f"grow_{1 - stage}", bbox=dict(boxstyle="round", facecolor=_RESAMPLE, edgecolor="none"))
    # the bottom of the U: the down pass's last outputs start the up pass
    _arrow(ax, [(_DOWN_X, _STAGE_Y[2] - 0.45), (_DOWN_X, 1.0), (_UP_X, 1.0), (_UP_X, _STAGE_Y[2] - 0.45)])
    ax.text((_DOWN_X + _UP_X) / 2, 1.05, "last u and ul", ha="center", va="bottom", fontsize=8)
    params = model.likelihood.param_channels(c)
    _box(ax, "head", _UP_X, 7.85, f"head: ELU, then a 1×1 conv of ul\n{h} → {params} maps", _UP, 4.4, 0.8)
    _arrow(ax, [(_UP_X, _STAGE_Y[0] + 0.45), (_UP_X, 7.45)])
    _box(ax, "output", _UP_X, 9.05, f"parameters (B, {params}, H, W) of the likelihood", _PLAIN, 4.6, 0.6)
    _arrow(ax, [(_UP_X, 8.25), (_UP_X, 8.75)])

    if title is None:
        title = (f"PixelCNN++ as a U-Net: {h} maps, {n_down} block{'s' if n_down != 1 else ''} per down stage"
                 + (", class-conditional" if conditional else ""))
    ax.set_title(title, fontsize=11)
    return fig
