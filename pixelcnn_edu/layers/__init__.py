"""Layers whose connectivity is restricted by a mask.

The mask is a non-persistent buffer applied in every forward pass
(``weight * mask``), so masked weights receive exactly zero gradient and a
checkpoint can never swap one mask for another.

The layers live in one module per topic; import them from here (``from pixelcnn_edu import layers;
layers.MaskedConv2d(...)``):

* ``masked``: ``MaskedConv2d``, ``MaskedLinear`` (MADE), ``ClassBias``, ``PointwiseConv2d``,
  ``ResidualBlock`` (the residual PixelCNN's block);
* ``norms``: ``ChannelLayerNorm`` and ``make_norm`` (``NormType``), normalisation that stays causal;
* ``gated``: the Gated PixelCNN's ``StackConv2d``, ``gate`` and ``GatedBlock``;
* ``shifted``: PixelCNN++'s shifts (``down_shift``, ``right_shift``, ``Shift``), ``ShiftedConv2d``,
  ``ShiftedConvTranspose2d``, ``concat_elu`` and ``GatedResNet`` (``ShiftType``).
"""

from .gated import GatedBlock, StackConv2d, gate
from .masked import ClassBias, MaskedConv2d, MaskedLinear, PointwiseConv2d, ResidualBlock
from .norms import ChannelLayerNorm, NormType, make_norm
from .shifted import (
    GatedResNet,
    Shift,
    ShiftedConv2d,
    ShiftedConvTranspose2d,
    ShiftType,
    concat_elu,
    down_shift,
    right_shift,
)

__all__ = [
    # masked
    "ClassBias", "MaskedConv2d", "MaskedLinear", "PointwiseConv2d", "ResidualBlock",
    # norms
    "ChannelLayerNorm", "NormType", "make_norm",
    # gated
    "GatedBlock", "StackConv2d", "gate",
    # shifted
    "GatedResNet", "Shift", "ShiftType", "ShiftedConv2d", "ShiftedConvTranspose2d", "concat_elu", "down_shift",
    "right_shift",
]
