"""Worked solutions to notebook 03's exercises (colour masks), for teachers."""

from __future__ import annotations


def exercise_1() -> list[list[int]]:
    """The centre-tap matrix of a mask-B layer from 5 input maps to 6 output maps, contiguous thirds.

    Contiguous colours come in three consecutive blocks, as equal as possible with the extra maps
    going to the first colours: 5 input maps are R R G G B, 6 output maps R R G G B B. Under mask B a
    map of colour c reads, at the current pixel, the maps of colours up to and including c: R rows
    read the two R columns, G rows the R and G columns, B rows every column.

    Typical slips: mask A (each colour's own block closed), interleaved colours (R G B R G), or the
    matrix transposed (5 x 6).
    """
    colours_in, colours_out = [0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2]  # 0 = R, 1 = G, 2 = B
    return [[int(c_in <= c_out) for c_in in colours_in] for c_out in colours_out]


def exercise_2() -> set[int]:
    """Which input maps output map 7 of a mask-A layer (5 -> 8 maps, interleaved) reads at the centre.

    Interleaved colours repeat R G B: output map 7 has colour 7 % 3 = 1, green; input maps 0..4 are
    R G B R G. Mask A lets green read only the colours before it, red: input maps 0 and 3.

    Typical slips: {0, 1, 3, 4} (mask B: green's own maps too), or contiguous colours.
    """
    green = 7 % 3
    return {i for i in range(5) if i % 3 < green}


def exercise_3() -> list[int]:
    """The output order of a PixelCNN head with 5 levels and interleaved masks.

    The 15 head maps are coloured k % 3: R's maps are 0, 3, 6, 9, 12, G's 1, 4, ..., 13, B's 2, 5,
    ..., 14. The likelihood reads R's five logits first, then G's, then B's, so the order lists the
    maps of each colour in turn (the order inside a block is free).
    """
    return [k for colour in range(3) for k in range(colour, 15, 3)]
