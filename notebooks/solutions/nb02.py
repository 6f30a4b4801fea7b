"""Worked solutions to notebook 02's exercises (masked convolutions), for teachers."""

from __future__ import annotations


def exercise_1() -> int:
    """How many kernel weights does ``MaskedConv2d(4, 8, kernel_size=5, mask_type="B")`` keep?

    A grey masked convolution holds one 5x5 kernel per (input map, output map) pair, 4 x 8 = 32
    kernels, and multiplies each of them by the same spatial mask. A 5x5 mask B keeps the 2 rows
    above the centre (2 x 5 = 10 taps), the 2 taps left of the centre and the centre itself: 13 of
    the 25 taps. So 32 x 13 = 416 weights are kept and can be trained; the other 32 x 12 = 384 are
    multiplied by 0 in every forward pass and get zero gradient.

    Typical slips: 384 (mask A, or the weights mask B zeroes), 13 (one kernel), 800 (every weight),
    424 (the 8 biases added).
    """
    kernels = 4 * 8  # one 5x5 kernel per (input, output) pair
    taps = 2 * 5 + 2 + 1  # two rows above the centre, two taps left of it, the centre (mask B)
    return kernels * taps


def exercise_2() -> int:
    """The blind spot of output (15, 12) of a 20x20 image: the earlier pixels that no depth of a
    stack of 3x3 masked convolutions reaches.

    Each layer carries information at most one row down and one column right (mask B reads the row
    above up to column j + 1), so in row 15 - r the field can reach column 12 + r and never further
    right, however many layers follow: everything right of that 45-degree edge is blind. Row 15 - r
    therefore holds the columns 12 + r + 1 to 19 (the image's right edge), 7 - r pixels, for
    r = 1 ... 6; from row 8 = 15 - 7 up the edge has left the image and the field reaches every
    column. So 6 + 5 + 4 + 3 + 2 + 1 = 21. The depth does not enter: a shallow stack has not yet
    reached many other earlier pixels (it will, with more layers), but these 21 it never reaches.

    Typical slips: 28 (one pixel too many per row, or the 7 later pixels of row 15 counted), 1, 3,
    6, 10 or 15 (only the part inside the bounding box of a 2- to 6-layer field, the wedge that
    seems to grow in a picture of one depth).
    """
    columns_to_the_edge = 19 - 12  # in row 15 - r the field reaches column 12 + r, the image ends at 19
    return sum(columns_to_the_edge - r for r in range(1, columns_to_the_edge))


def exercise_3() -> set[str]:
    """Which candidate layers, between the mask-A layer and a mask-B layer, keep a grey PixelCNN
    autoregressive in training mode?

    A layer keeps the model causal if its output at (i, j) depends only on its input at positions
    that are themselves allowed, i.e. at (i, j) itself (which after mask A describes only earlier
    pixels) or before it.

    * ``conv1x1``: reads only position (i, j): causal. This is why mask B may keep the centre.
    * ``dropout``: multiplies each value by a random factor that does not depend on the image, so
      no output reads another position: causal (the randomness changes the loss, not the order).
    * ``instance``: each channel is normalised by its mean and variance over all H x W positions
      of the image, future ones included: it leaks, in training and in eval mode.
    * ``group``: the same statistics over groups of channels and all positions: it leaks.
    * ``avgpool``: a 3x3 average at (i, j) reads the pixel to its right and the row below: it leaks.

    The gradient test of sections 1 and 3 confirms it: only ``dropout`` and ``conv1x1`` leave zero
    gradient from output (i, j) to every later pixel.
    """
    return {"conv1x1", "dropout"}
