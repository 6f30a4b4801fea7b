"""A box-and-arrow diagram of one Gated PixelCNN layer, read from a real ``layers.GatedBlock``.

The diagram is drawn from the block's own modules (its cropped kernel shapes, whether it has a
class bias, a residual connection and a skip output), so it shows what ``GatedBlock.forward``
computes:

    v_pre = V * v + bias_v(y)              v' = tanh(v_pre_a) * sigmoid(v_pre_b)
    h_pre = H * h + link(v_pre) + bias_h(y)
    g     = tanh(h_pre_a) * sigmoid(h_pre_b)
    h'    = h + out(g)  (no residual in the first layer)       skip = skip(g)

Every box is a text artist with a ``gid`` (``BOX_IDS`` lists them), so a test can find it.
"""

from __future__ import annotations

from typing import Literal, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from ..layers import GatedBlock
from ._common import DIAGRAM_EDGE, _arrow, _box, _figure_and_axes

# gid -> what the box is; the boxes of a block without a class bias, residual or skip are left out.
BOX_IDS: dict[str, str] = {
    "v_in": "vertical stack input v",
    "h_in": "horizontal stack input h",
    "vertical_conv": "vertical stack convolution V (cropped to the rows above)",
    "horizontal_conv": "horizontal stack convolution H (cropped to the row up to the pixel)",
    "bias_v": "class bias of the vertical gate",
    "bias_h": "class bias of the horizontal gate",
    "v_add": "adds the class bias to V * v",
    "h_add": "adds link(v_pre) (and the class bias) to H * h",
    "link": "the v -> h link, a 1x1 convolution of the pre-gate vertical features",
    "vertical_gate": "gate tanh(a) * sigmoid(b) of the vertical stack",
    "horizontal_gate": "gate tanh(a) * sigmoid(b) of the horizontal stack",
    "out": "1x1 output convolution of the horizontal stack",
    "residual_add": "residual connection h + out(g)",
    "skip": "1x1 skip convolution of g",
    "v_out": "vertical stack output v'",
    "h_out": "horizontal stack output h'",
    "skip_out": "skip output, summed over layers into the head",
}

_VERTICAL, _HORIZONTAL, _POINTWISE, _CLASS, _PLAIN = "#DCE8F5", "#FBE3D6", "#E6E6E6", "#F4D6E4", "#FFFFFF"
_V_X, _H_X, _MID_X, _BIAS_V_X, _BIAS_H_X, _RES_X = 2.9, 8.7, 5.8, 0.95, 10.4, 11.8
_W, _H = 3.5, 1.05  # box width and height (data units)


def plot_gated_block(
    block: GatedBlock | None = None,
    *,
    kernel_size: int | None = None,
    mask_type: Literal["A", "B"] | None = None,
    conditional: bool | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Diagram of one gated layer: the two stacks, the v -> h link, the gates, out, residual and skip.

    Args:
        block: a ``layers.GatedBlock`` to draw (e.g. ``model.layers[1]``); its kernel shapes,
            dilation, class bias, residual and skip are read from it. Without it, a block is built
            as ``GatedPixelCNN`` builds its layers: the first layer for mask "A" (no residual), a
            later one for mask "B".
        kernel_size: the k x k window both stacks are cut from (odd; >= 3 for mask A; default 3).
            Only without ``block``.
        mask_type: "A" (first layer, reads the image) or "B" (later layers; default). Only without
            ``block``.
        conditional: draw the class-conditioning biases (default False). Only without ``block``.
        title: the figure's title (default: says which layer and window).
        ax: draw into this axes instead of a new figure.

    Returns the Figure. Vertical-stack boxes are blue, horizontal-stack boxes orange, 1x1
    convolutions grey and class biases pink. Without ``block`` the map counts are symbols (p maps
    per stack, each stack convolution makes 2p, the skip makes s); with one they are its numbers.
    """
    symbolic = block is None  # a block built here has one map per stack: write p, not numbers
    if block is None:
        block = _default_block(kernel_size, mask_type, conditional)
    elif not isinstance(block, GatedBlock):
        raise TypeError(f"block must be a layers.GatedBlock (e.g. model.layers[1]), got {type(block).__name__}")
    elif (kernel_size, mask_type, conditional) != (None, None, None):
        raise TypeError("pass either block or kernel_size / mask_type / conditional, not both: a block already has them")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")

    vertical, horizontal = block.vertical, block.horizontal
    k, kind = vertical.full_kernel_size, vertical.mask_type
    conditional = block.bias_v.embedding is not None
    dilation = vertical.dilation[0]
    p = block.out.in_channels
    p1, p2 = ("p", "2p") if symbolic else (f"p = {p}", f"2p = {2 * p}")
    short1, short2 = ("p", "2p") if symbolic else (str(p), str(2 * p))  # for the narrow 1x1 boxes
    s_maps = "s" if symbolic or block.skip is None else str(block.skip.out_channels)
    fig, ax = _figure_and_axes(ax, 9.6, 9.4)
    ax.set_xlim(-0.3, 12.5)
    ax.set_ylim(0.0, 13.0)
    ax.set_axis_off()

    def box(gid: str, x: float, y: float, text: str, colour: str, width: float = _W, height: float = _H) -> None:
        _box(ax, gid, x, y, text, colour, width, height)

    def node(gid: str, x: float, y: float) -> None:
        ax.add_patch(FancyBboxPatch((x - 0.22, y - 0.22), 0.44, 0.44, boxstyle="circle,pad=0",
                                    facecolor=_PLAIN, edgecolor=DIAGRAM_EDGE, linewidth=1.0))
        ax.text(x, y, "+", ha="center", va="center", fontsize=11, gid=gid)

    def arrow(points: Sequence[tuple[float, float]]) -> None:
        _arrow(ax, points)

    dil = "" if dilation == 1 else f", dilation {dilation}"
    v_rows, v_cols = vertical.weight.shape[2:]
    h_rows, h_cols = horizontal.weight.shape[2:]
    v_reads = "rows strictly above: the shift" if kind == "A" else "rows above + v's own row"
    h_reads = "pixels left of the current one" if h_cols < k // 2 + 1 else "row up to the current pixel"
    if not horizontal.keeps_every_weight:
        h_reads += ", R→G→B"  # colour: the centre tap carries the channel mask
    ins = "the image" if kind == "A" else f"{p1} maps"

    # inputs
    box("v_in", _V_X, 12.2, f"v: vertical stack in ({ins})", _PLAIN, height=0.7)
    box("h_in", _H_X, 12.2, f"h: horizontal stack in ({ins})", _PLAIN, height=0.7)
    # stack convolutions
    box("vertical_conv", _V_X, 10.6, f"vertical conv V ({v_rows}×{v_cols} taps)\n{v_reads}\n→ {p2} maps{dil}", _VERTICAL, height=1.25)
    box("horizontal_conv", _H_X, 10.6, f"horizontal conv H ({h_rows}×{h_cols} taps)\n{h_reads}\n→ {p2} maps{dil}",
        _HORIZONTAL, height=1.25)
    arrow([(_V_X, 11.85), (_V_X, 11.23)])
    arrow([(_H_X, 11.85), (_H_X, 11.23)])

    # the vertical stack's pre-gate features v_pre, and the class bias
    v_pre_y = 8.9
    if conditional:
        node("v_add", _V_X, v_pre_y)
        box("bias_v", _BIAS_V_X, v_pre_y, "class bias\n$e^{v}_{y}$ (per label y)", _CLASS, width=1.7, height=0.9)
        arrow([(_BIAS_V_X + 0.85, v_pre_y), (_V_X - 0.22, v_pre_y)])
        arrow([(_V_X, 9.97), (_V_X, v_pre_y + 0.22)])
        v_pre_from = v_pre_y - 0.22
    else:
        v_pre_from = 9.97
    # the link: from v_pre (before the gate) into the horizontal stack
    h_add_y, link_y = 7.6, 7.6
    branch_y = 8.25
    box("link", _MID_X, link_y, f"link L: 1×1 conv\n{short2} → {short2} maps", _POINTWISE, width=2.0, height=0.9)
    ax.plot([_V_X, _V_X], [v_pre_from, branch_y], color=DIAGRAM_EDGE, linewidth=1.0)
    ax.plot([_V_X], [branch_y], marker="o", markersize=4, color=DIAGRAM_EDGE)
    arrow([(_V_X, branch_y), (_MID_X, branch_y), (_MID_X, link_y + 0.45)])
    ax.text(_V_X + 0.15, branch_y + 0.22, "$v^{pre}$ (before the gate)", ha="left", va="bottom", fontsize=8, style="italic")
    node("h_add", _H_X, h_add_y)
    arrow([(_MID_X + 1.0, link_y), (_H_X - 0.22, h_add_y)])
    arrow([(_H_X, 9.97), (_H_X, h_add_y + 0.22)])
    if conditional:
        box("bias_h", _BIAS_H_X, h_add_y + 1.05, "class bias\n$e^{h}_{y}$", _CLASS, width=1.5, height=0.8)
        arrow([(_BIAS_H_X, h_add_y + 0.65), (_BIAS_H_X, h_add_y), (_H_X + 0.22, h_add_y)])
    ax.text(_H_X + 0.15, h_add_y - 0.45, "$h^{pre}$", ha="left", va="center", fontsize=8, style="italic")

    # gates
    gate_y = 5.9
    gate_text = f"gate $\\tanh(a) \\odot \\sigma(b)$\nsplit {p2} maps into halves a, b\n→ {p1} maps"
    box("vertical_gate", _V_X, gate_y, gate_text, _VERTICAL, height=1.25)
    box("horizontal_gate", _H_X, gate_y, gate_text, _HORIZONTAL, height=1.25)
    arrow([(_V_X, branch_y), (_V_X, gate_y + 0.63)])
    arrow([(_H_X, h_add_y - 0.22), (_H_X, gate_y + 0.63)])

    # vertical output
    box("v_out", _V_X, 1.0, f"v': vertical stack out\n({p1} maps), to the next layer", _PLAIN, width=3.0, height=0.85)
    arrow([(_V_X, gate_y - 0.63), (_V_X, 1.43)])

    # horizontal: g -> out (1x1) -> (+ h) -> h';  g -> skip
    g_y, out_y, res_y = 4.75, 3.8, 2.55
    ax.text(_H_X + 0.15, g_y - 0.05, "g", ha="left", va="center", fontsize=8, style="italic")
    box("out", _H_X, out_y, f"out: 1×1 conv, {short1} → {short1} maps", _POINTWISE, height=0.6)
    arrow([(_H_X, gate_y - 0.63), (_H_X, out_y + 0.3)])
    if block.skip is not None:
        box("skip", _MID_X, 3.3, f"skip: 1×1 conv\n{short1} → {s_maps} maps", _POINTWISE, width=2.0, height=0.85)
        ax.plot([_H_X], [g_y], marker="o", markersize=4, color=DIAGRAM_EDGE)
        arrow([(_H_X, g_y), (_MID_X, g_y), (_MID_X, 3.3 + 0.43)])
        box("skip_out", _MID_X, 1.0, "skip: summed over all\nlayers into the head", _PLAIN, width=2.2, height=0.85)
        arrow([(_MID_X, 3.3 - 0.43), (_MID_X, 1.43)])
    if block.residual:
        node("residual_add", _H_X, res_y)
        arrow([(_H_X, out_y - 0.3), (_H_X, res_y + 0.22)])
        ax.plot([_H_X], [11.55], marker="o", markersize=4, color=DIAGRAM_EDGE)
        arrow([(_H_X, 11.55), (_RES_X, 11.55), (_RES_X, res_y), (_H_X + 0.22, res_y)])
        ax.text(_RES_X - 0.1, 6.6, "residual: h", ha="right", va="center", fontsize=8, style="italic", rotation=90)
        arrow([(_H_X, res_y - 0.22), (_H_X, 1.43)])
    else:
        arrow([(_H_X, out_y - 0.3), (_H_X, 1.43)])
    h_text = "h + out(g)" if block.residual else "out(g) (no residual" + (": first layer)" if kind == "A" else ")")
    box("h_out", _H_X, 1.0, f"h': horizontal stack out ({p1} maps)\n= {h_text}", _PLAIN, width=3.4, height=0.85)

    if title is None:
        which = "the first gated layer (mask A)" if kind == "A" else "a later gated layer (mask B)"
        title = f"One layers.GatedBlock: {which}, {k}×{k} window" + (", class-conditional" if conditional else "")
    ax.set_title(title, fontsize=11)
    return fig


def _default_block(kernel_size: int | None, mask_type: str | None, conditional: bool | None) -> GatedBlock:
    """A one-map block configured as ``GatedPixelCNN`` configures its layers, to read shapes from."""
    kind = "B" if mask_type is None else mask_type
    if kind not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' (first layer) or 'B' (later layers), got {kind!r}")
    k = 3 if kernel_size is None else kernel_size
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"kernel_size must be an int, got {type(k).__name__} {k!r}")
    if k % 2 == 0 or k < 1:
        raise ValueError(f"kernel_size must be a positive odd number (1, 3, 5, ...), got {k}")
    if kind == "A" and k < 3:
        raise ValueError(f"a mask-A layer needs kernel_size >= 3 (with {k} its stacks read nothing), got {k}")
    conditional = False if conditional is None else conditional
    if not isinstance(conditional, bool):
        raise TypeError(f"conditional must be True or False, got {conditional!r}")
    return GatedBlock(1, 1, k, kind, residual=kind == "B", n_classes=10 if conditional else None)
