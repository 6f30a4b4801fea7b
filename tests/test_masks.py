"""masks: spatial masks A and B against matrices written out by hand."""

from __future__ import annotations

import pytest
import torch

from pixelcnn_edu import masks

HAND_MASKS = {
    (1, "A"): [[0]],
    (1, "B"): [[1]],
    (3, "A"): [
        [1, 1, 1],
        [1, 0, 0],
        [0, 0, 0],
    ],
    (3, "B"): [
        [1, 1, 1],
        [1, 1, 0],
        [0, 0, 0],
    ],
    (5, "A"): [
        [1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1],
        [1, 1, 0, 0, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
    ],
    (5, "B"): [
        [1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1],
        [1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
    ],
}


@pytest.mark.parametrize(("kernel_size", "mask_type"), list(HAND_MASKS))
def test_spatial_mask_matches_hand_written(kernel_size: int, mask_type: str) -> None:
    expected = torch.tensor(HAND_MASKS[kernel_size, mask_type], dtype=torch.float32)
    got = masks.spatial_mask(kernel_size, mask_type)
    assert got.dtype == torch.float32
    assert torch.equal(got, expected)


@pytest.mark.parametrize("kernel_size", [3, 5, 7, 9])
def test_mask_counts(kernel_size: int) -> None:
    # A keeps the k*k//2 taps strictly before the centre; B keeps the centre as well.
    a = masks.spatial_mask(kernel_size, "A")
    b = masks.spatial_mask(kernel_size, "B")
    assert a.sum().item() == kernel_size * kernel_size // 2
    assert b.sum().item() == kernel_size * kernel_size // 2 + 1
    centre = kernel_size // 2
    assert a[centre, centre] == 0 and b[centre, centre] == 1
    diff = b - a  # only the centre differs
    assert diff.sum().item() == 1 and diff[centre, centre] == 1


def test_seven_by_seven_counts() -> None:
    assert masks.spatial_mask(7, "A").sum().item() == 24
    assert masks.spatial_mask(7, "B").sum().item() == 25
    assert set(masks.spatial_mask(7, "A").unique().tolist()) == {0.0, 1.0}


def test_spatial_mask_returns_a_fresh_tensor() -> None:
    first = masks.spatial_mask(3, "A")
    first.fill_(7.0)
    assert torch.equal(masks.spatial_mask(3, "A"), torch.tensor(HAND_MASKS[3, "A"], dtype=torch.float32))


def test_mask_to_string_3x3() -> None:
    assert masks.mask_to_string(masks.spatial_mask(3, "A")) == "■ ■ ■\n■ □ □\n□ □ □"
    assert masks.mask_to_string(masks.spatial_mask(3, "B")) == "■ ■ ■\n■ ■ □\n□ □ □"
    assert masks.mask_to_string(masks.spatial_mask(3, "B"), on="x", off=".") == "x x x\nx x .\n. . ."


def test_mask_to_string_rejects_non_2d() -> None:
    with pytest.raises(ValueError, match=r"mask must be 2-D.*\(1, 3, 3\)"):
        masks.mask_to_string(torch.ones(1, 3, 3))


@pytest.mark.parametrize("kernel_size", [2, 4, 0, -1, -3])
def test_bad_kernel_size_value(kernel_size: int) -> None:
    with pytest.raises(ValueError, match=rf"kernel_size.*got {kernel_size}$"):
        masks.spatial_mask(kernel_size, "A")


@pytest.mark.parametrize("kernel_size", [3.0, True, "3", None])
def test_bad_kernel_size_type(kernel_size: object) -> None:
    with pytest.raises(TypeError, match=rf"kernel_size must be an int, got {type(kernel_size).__name__}"):
        masks.spatial_mask(kernel_size, "A")  # type: ignore[arg-type]


@pytest.mark.parametrize("mask_type", ["C", "a", "b", "", None, "AB"])
def test_bad_mask_type(mask_type: object) -> None:
    with pytest.raises(ValueError, match="mask_type must be 'A' or 'B'") as info:
        masks.spatial_mask(3, mask_type)  # type: ignore[arg-type]
    assert repr(mask_type) in str(info.value)


def test_check_helpers_return_valid_arguments() -> None:
    assert masks.check_kernel_size(5) == 5
    assert masks.check_mask_type("B") == "B"
