"""receptive_field.never_reached: the earlier pixels no depth of a masked stack reaches (the blind spot
proper), against the bounding-box blind spot of one depth, which grows with the depth."""

import pytest
import torch

from pixelcnn_edu import receptive_field as rf


def triangle(image_size: tuple[int, int], position: tuple[int, int]) -> torch.Tensor:
    """The 3x3 stack's blind spot from the masks' geometry: row i - r reaches at most column j + r."""
    h, w = image_size
    i, j = position
    out = torch.zeros(h, w, dtype=torch.bool)
    for r in range(1, i + 1):
        out[i - r, j + r + 1 :] = True
    return out


@pytest.mark.parametrize("image_size, position", [((12, 12), (8, 6)), ((20, 20), (15, 12)), ((7, 11), (6, 0)),
                                                  ((5, 5), (0, 3)), ((9, 6), (4, 5)), ((1, 1), (0, 0))])
def test_never_reached_is_the_triangle_up_right(image_size, position):
    assert rf.never_reached(image_size, position).equal(triangle(image_size, position))


def test_counts_of_the_notebook_and_the_exercise():
    assert int(rf.never_reached((12, 12), (8, 6)).sum()) == 10
    assert int(rf.never_reached((20, 20), (15, 12)).sum()) == 21


@pytest.mark.parametrize("kernel_size", [3, 5, 7])
def test_a_deeper_stack_reaches_nothing_more(kernel_size):
    size, position = (11, 13), (7, 5)
    never = rf.never_reached(size, position, kernel_size)
    deep = rf.layerwise_receptive_fields(rf.masked_conv_stack(16, kernel_size).double(), size, position)[-1]
    past = rf.raster_order_mask((1, *size), (0, *position))[0]
    assert never.equal(past & (deep == 0))
    assert never.any() and not (never & ~past).any()  # earlier pixels only, and some of them


def test_the_bounding_box_blind_spot_grows_but_the_never_reached_set_does_not():
    size, position = (12, 12), (8, 6)
    never = rf.never_reached(size, position)
    fields = rf.layerwise_receptive_fields(rf.masked_conv_stack(6), size, position)
    boxed = [int(rf.blind_spot(field, position).sum()) for field in fields]
    assert boxed == [0, 1, 3, 6, 10, 10]  # the wedge of the figure, depth by depth
    for field in fields:
        assert not (rf.blind_spot(field, position) & ~never).any()  # each depth's wedge lies inside the set
        assert not ((field != 0) & never).any()  # and no depth reaches any of it


@pytest.mark.parametrize("args, match", [(((4, 4), (4, 0)), "position"), (((4, 4), (0, -1)), "position"),
                                         (((4, 4), (1, 1), 4), "kernel_size"), (((4, 4), (1, 1), 1), "kernel_size"),
                                         (((2000, 2000), (1, 1)), "overflow")])
def test_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        rf.never_reached(*args)
