"""Checks for notebook 03, colour masks: the centre-tap connectivity, which colours a colour reads, the output order."""

from __future__ import annotations

import numbers
from typing import Any

import torch

from ..checks import check_levels
from ._common import _describe, _unanswered, _verdict


def _color_names(colors: torch.Tensor) -> str:
    """"R R G B ..." for an int tensor of colour groups (0 = R, 1 = G, 2 = B)."""
    from ..masks import COLOR_NAMES

    return " ".join(COLOR_NAMES[int(g)] for g in colors)


def _as_matrix(answer: Any) -> torch.Tensor | None:
    """``answer`` (tensor, NumPy array or nested list of numbers) as a float tensor, else None."""
    try:
        matrix = torch.as_tensor(answer)
    except Exception:  # ragged lists, strings, objects: not a matrix
        return None
    return None if matrix.is_complex() else matrix.float()


def check_color_mask(
    answer: Any, in_channels: int = 4, out_channels: int = 7, mask_type: str = "A", convention: str = "interleaved"
) -> bool:
    """Exercise 03.1: the (out_channels, in_channels) centre-tap connectivity of a colour mask.

    ``answer[o][i]`` is 1 if output map o may read input map i at the current pixel, else 0 (a
    tensor, NumPy array or nested list). The maps are coloured by ``masks.color_of(n, 3,
    convention)``; output o reads input i if colour(i) < colour(o) (mask "A") or colour(i) <=
    colour(o) (mask "B"). The expected matrix is ``masks.channel_mask``'s. A wrong answer is shown
    back with the maps' colours and the first entry that breaks the rule, never the expected matrix.
    """
    from ..masks import COLOR_NAMES, channel_mask, check_color_convention, check_mask_type, color_of, mask_to_string

    check_mask_type(mask_type)
    check_color_convention(convention)
    expected = channel_mask(in_channels, out_channels, mask_type, 3, convention)
    shape = (out_channels, in_channels)
    rows, cols = _color_names(color_of(out_channels, 3, convention)), _color_names(color_of(in_channels, 3, convention))
    if answer is None:
        return _unanswered(f"write the {out_channels} x {in_channels} matrix of 0s and 1s (rows = output maps, columns = input maps); "
                           f"colour the maps first with the {convention} convention.")
    got = _as_matrix(answer)
    if got is None:
        return _verdict(False, f"expected a {out_channels} x {in_channels} matrix of 0s and 1s, got {_describe(answer)}.")
    if tuple(got.shape) == shape[::-1] and shape[0] != shape[1]:
        return _verdict(False, f"your matrix has shape {tuple(got.shape)}, but rows are the {out_channels} output maps and "
                               f"columns the {in_channels} input maps: transpose it to {shape}.")
    if tuple(got.shape) != shape:
        return _verdict(False, f"expected shape {shape} (rows = output maps, columns = input maps), got {tuple(got.shape)}.")
    if not bool(((got == 0) | (got == 1)).all()):
        return _verdict(False, "every entry must be 0 (hidden) or 1 (connected).")
    if torch.equal(got, expected):
        return _verdict(True, f"output maps {rows} read input maps {cols} exactly as mask {mask_type} allows "
                              f"({int(expected.sum())} of {expected.numel()} connections open).")
    other_convention = "contiguous" if convention == "interleaved" else "interleaved"
    other_type = "B" if mask_type == "A" else "A"
    if torch.equal(got, channel_mask(in_channels, out_channels, mask_type, 3, other_convention)):
        rule = "map i has colour i % 3 (R G B R G B ...)" if convention == "interleaved" else "the maps form three consecutive blocks"
        hint = f"that is the {other_convention} convention; here {rule}."
    elif torch.equal(got, channel_mask(in_channels, out_channels, other_type, 3, convention)):
        hint = ("that is mask B; mask A also hides each colour's own maps (so R's rows are all 0)." if mask_type == "A"
                else "that is mask A; mask B also lets each colour read its own maps.")
    else:
        wrong = (got != expected).nonzero().tolist()
        o, i = wrong[0]
        c_out, c_in = COLOR_NAMES[int(color_of(out_channels, 3, convention)[o])], COLOR_NAMES[int(color_of(in_channels, 3, convention)[i])]
        rule = "colours before its own" if mask_type == "A" else "colours up to and including its own"
        hint = (f"{len(wrong)} {'entry differs' if len(wrong) == 1 else 'entries differ'} from the rule, the first at row {o} ({c_out}), column {i} ({c_in}), where you have "
                f"{int(got[o, i])}: under mask {mask_type} a {c_out} map reads the {rule}.")
    return _verdict(False, f"{hint}\nrow colours: {rows} · column colours: {cols}\nyours:\n{mask_to_string(got)}")


def check_center_reads(answer: Any, color: str = "G", mask_type: str = "A") -> bool:
    """Exercise 03.2: which colours of the current pixel may the maps of ``color`` read?

    ``answer`` is a set (or list) of names from "R", "G", "B", or ``set()`` for none. Mask A: the
    colours before ``color`` in R -> G -> B; mask B: those and ``color`` itself.
    """
    from ..masks import COLOR_NAMES, check_mask_type

    check_mask_type(mask_type)
    if color not in COLOR_NAMES:
        raise ValueError(f"color must be one of {COLOR_NAMES}, got {color!r}")
    rank = COLOR_NAMES.index(color)
    expected = set(COLOR_NAMES[: rank + (mask_type == "B")])
    if answer is None:
        return _unanswered('answer with a set of colour names, e.g. {"R", "B"}, or set() for none.')
    if isinstance(answer, str) or not isinstance(answer, (set, frozenset, list, tuple)) or not all(isinstance(a, str) for a in answer):
        return _verdict(False, f'expected a set of colour names such as {{"R", "B"}}, got {_describe(answer)}.')
    got = {a.strip().upper() for a in answer}
    if got - set(COLOR_NAMES):
        return _verdict(False, f"unknown names {sorted(got - set(COLOR_NAMES))}; use R, G and B.")
    shown = ", ".join(c for c in COLOR_NAMES if c in expected) or "nothing"
    if got == expected:
        rule = "only the colours before it" if mask_type == "A" else "the colours before it and its own maps"
        return _verdict(True, f"under mask {mask_type}, {color} reads {rule} at the current pixel: {shown}.")
    later = [c for c in COLOR_NAMES[rank + 1 :] if c in got]
    if later:
        return _verdict(False, f"{' and '.join(later)} {'comes' if len(later) == 1 else 'come'} after {color} in the order "
                               "R → G → B: reading it would see the future.")
    if color in got:  # only possible under mask A here
        return _verdict(False, f"mask A hides {color}'s own maps: on the raw image the current {color} is the very value being predicted.")
    missing = [c for c in COLOR_NAMES if c in expected - got]
    if missing == [color]:
        return _verdict(False, f"mask B also lets {color}'s maps read the {color} maps of the layer below: those were computed "
                               f"without the current {color} value (mask A hid it), so reading them is safe.")
    return _verdict(False, f"{' and '.join(missing)} {'comes' if len(missing) == 1 else 'come'} before {color} in R → G → B, "
                           f"so {color} may read {'it' if len(missing) == 1 else 'them'}.")


def check_center_inputs(
    answer: Any, out_index: int = 7, in_channels: int = 5, out_channels: int = 8, mask_type: str = "A",
    convention: str = "interleaved",
) -> bool:
    """Exercise 03.2: which input maps output map ``out_index`` of a colour-masked layer reads at the
    centre tap. ``answer`` is a set (or list) of input map indices, ``set()`` for none; the expected
    set is the open entries of row ``out_index`` of ``masks.channel_mask``."""
    from ..masks import channel_mask, check_color_convention, check_mask_type, color_of

    check_mask_type(mask_type)
    check_color_convention(convention)
    if not 0 <= out_index < out_channels:
        raise ValueError(f"out_index must be in [0, {out_channels - 1}], got {out_index}")

    def reads(kind: str, how: str) -> set[int]:
        return set(channel_mask(in_channels, out_channels, kind, 3, how)[out_index].nonzero().flatten().tolist())

    expected = reads(mask_type, convention)
    in_colors, own = color_of(in_channels, 3, convention), int(color_of(out_channels, 3, convention)[out_index])
    names = _color_names(in_colors)
    if answer is None:
        return _unanswered(f"answer with a set of input map indices (0..{in_channels - 1}), e.g. {{0, 2}}, or set() for none; "
                           f"colour output map {out_index} and the input maps first.")
    if isinstance(answer, str) or not isinstance(answer, (set, frozenset, list, tuple)):
        return _verdict(False, f"expected a set of input map indices such as {{0, 2}}, got {_describe(answer)}.")
    got = _index_list(list(answer))
    if got is None or any(not 0 <= i < in_channels for i in got):
        return _verdict(False, f"the input maps are numbered 0..{in_channels - 1}; got {_describe(answer)}.")
    got_set = set(got)
    own_name = _color_names(torch.tensor([own]))
    if got_set == expected:
        return _verdict(True, f"output map {out_index} is {own_name}; under mask {mask_type} it reads input maps "
                              f"{sorted(expected) or 'none'} of the input colours {names}.")
    other_convention = "contiguous" if convention == "interleaved" else "interleaved"
    if got_set == reads(mask_type, other_convention):
        return _verdict(False, f"that is the answer with {other_convention} colours; here the {convention} convention "
                               f"colours the input maps {names}.")
    other_type = "B" if mask_type == "A" else "A"
    if got_set == reads(other_type, convention):
        return _verdict(False, f"that is mask {other_type}: mask {mask_type} "
                               + ("hides the maps of the map's own colour." if mask_type == "A" else "also opens the maps of its own colour."))
    later = sorted(i for i in got_set if int(in_colors[i]) > own)
    if later:
        return _verdict(False, f"input maps {later} are coloured after {own_name} (input colours {names}): reading them would see the future.")
    same = sorted(i for i in got_set if int(in_colors[i]) == own)
    if same and mask_type == "A":
        return _verdict(False, f"input maps {same} have the map's own colour {own_name} (input colours {names}): mask A hides them.")
    wrong = len(got_set ^ expected)
    return _verdict(False, f"output map {out_index} is {own_name}, and the input maps are coloured {names}; "
                           f"{wrong} of your indices {'is' if wrong == 1 else 'are'} off.")


def _index_list(answer: Any) -> list[int] | None:
    """``answer`` (list, tuple, tensor or array of whole numbers) as a list of ints, else None."""
    values = answer.tolist() if hasattr(answer, "tolist") else answer
    if not isinstance(values, (list, tuple)):
        return None
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        return None
    return [int(v) for v in values]


def check_output_order(answer: Any, levels: int = 4, convention: str = "interleaved") -> bool:
    """Exercise 03.3: the ``output_order`` a PixelCNN head needs for its masks' colour convention.

    An RGB model with ``levels`` levels has P = 3 * levels head maps, coloured by
    ``masks.color_of(P, 3, convention)``. The likelihood reads R's ``levels`` logits from the first
    block of ``out[:, output_order]``, then G's, then B's. ``answer`` lists the P map indices in
    that order. It is right if every block holds only maps of its own colour (in any order): a
    map of a later colour may have read the current value of the channel, which would then see itself.
    """
    from ..masks import COLOR_NAMES, check_color_convention, color_of, color_permutation

    levels = check_levels(levels)
    check_color_convention(convention)
    n = 3 * levels
    colors = color_of(n, 3, convention)
    if answer is None:
        return _unanswered(f"list the head maps 0..{n - 1} so that R's {levels} come first, then G's, then B's; "
                           f"the {convention} maps are coloured {_color_names(colors)}.")
    order = _index_list(answer)
    if order is None:
        return _verdict(False, f"expected a list of {n} map indices, got {_describe(answer)}.")
    if sorted(order) != list(range(n)):
        return _verdict(False, f"use each of the maps 0..{n - 1} exactly once, got {order}.")
    problems = []
    for c, name in enumerate(COLOR_NAMES):
        block = torch.tensor(order[c * levels : (c + 1) * levels])
        where = f"{name}'s logits come from maps {block.tolist()}, coloured {_color_names(colors[block])}"
        if bool((colors[block] > c).any()):
            problems.append(f"{where}: a map coloured after {name} has read the current {name}, so {name} would see itself")
        elif bool((colors[block] < c).any()):
            problems.append(f"{where}: it takes maps of an earlier colour, leaving another channel a map of a later one")
    if not problems:
        return _verdict(True, "each channel reads only maps of its own colour (the package's order is "
                              f"{color_permutation(n, 3, convention).tolist()}; the order inside a block is free).")
    return _verdict(False, "; ".join(problems) + ". Give each channel the maps of its own colour.")
