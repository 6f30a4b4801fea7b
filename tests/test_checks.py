"""checks: every bad input raises an error that names the argument and the received value."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pixelcnn_edu import checks


def _check(x: object, in_channels: int = 1, levels: int = 2, name: str = "x") -> None:
    checks.check_images(x, in_channels=in_channels, levels=levels, name=name)  # type: ignore[arg-type]


def test_check_images_accepts_grid_values() -> None:
    _check(torch.tensor([0.0, 1.0]).view(1, 1, 1, 2))
    _check(torch.arange(256.0).view(1, 1, 16, 16) / 255, levels=256)
    _check(torch.tensor([0.0, 1 / 3, 2 / 3, 1.0]).view(1, 2, 2, 1), in_channels=2, levels=4)
    _check(torch.zeros(0, 3, 4, 4), in_channels=3)  # an empty batch is fine
    _check(torch.ones(1, 1, 2, 2, dtype=torch.float64))


@pytest.mark.parametrize("bad", [[[0.0, 1.0]], np.zeros((1, 1, 2, 2), dtype=np.float32), 0.5, None])
def test_check_images_rejects_non_tensor(bad: object) -> None:
    with pytest.raises(TypeError, match=rf"x must be a torch.Tensor, got {type(bad).__name__}"):
        _check(bad)


@pytest.mark.parametrize("dtype", [torch.int64, torch.uint8, torch.bool])
def test_check_images_rejects_non_float(dtype: torch.dtype) -> None:
    with pytest.raises(TypeError, match=rf"x must be a float tensor.*got dtype {dtype}") as info:
        _check(torch.zeros(1, 1, 2, 2, dtype=dtype), levels=256)
    assert "255" in str(info.value)  # tells the student what to divide by


def test_check_images_rejects_3d() -> None:
    with pytest.raises(ValueError, match=r"x must have shape \(B, C, H, W\), got shape \(1, 28, 28\)"):
        _check(torch.zeros(1, 28, 28))


def test_check_images_rejects_wrong_channel_count() -> None:
    with pytest.raises(ValueError, match=r"x must have 3 channel\(s\), got 1 \(shape \(2, 1, 4, 4\)\)"):
        _check(torch.zeros(2, 1, 4, 4), in_channels=3)


def test_check_images_rejects_values_below_zero() -> None:
    x = torch.zeros(1, 1, 2, 2)
    x[0, 0, 1, 1] = -0.5
    with pytest.raises(ValueError, match=r"x values must lie in \[0, 1\], got min -0.5 and max 0"):
        _check(x)


def test_check_images_rejects_values_above_one() -> None:
    x = torch.full((1, 1, 2, 2), 255.0)  # forgot to divide by 255
    with pytest.raises(ValueError, match=r"values must lie in \[0, 1\], got min 255 and max 255"):
        _check(x, levels=256)


def test_check_images_rejects_off_grid_values() -> None:
    x = torch.tensor([0.0, 0.3]).view(1, 1, 1, 2)
    with pytest.raises(ValueError, match=r"grid of 2 levels.*0\.3 level-steps.*quantise\(x, 2\)"):
        _check(x)
    _check(torch.tensor([0.0, 1 / 3]).view(1, 1, 1, 2), levels=4)  # on the grid of 4 levels


def test_check_images_uses_the_given_name() -> None:
    with pytest.raises(ValueError, match=r"^images must have shape"):
        _check(torch.zeros(4), name="images")


@pytest.mark.parametrize("bad", [float("inf"), float("-inf")])
def test_check_images_rejects_infinite(bad: float) -> None:
    x = torch.zeros(1, 1, 2, 2)
    x[0, 0, 0, 1] = bad
    with pytest.raises(ValueError, match=r"x values must lie in \[0, 1\]"):
        _check(x)


def test_check_images_rejects_nan() -> None:
    x = torch.zeros(1, 1, 2, 2)
    x[0, 0, 0, 1] = float("nan")
    with pytest.raises(ValueError, match=r"(?i)\bx\b.*nan"):
        _check(x)


def test_check_levels() -> None:
    assert checks.check_levels(2) == 2
    assert checks.check_levels(256) == 256
    for bad in (1, 0, -4):
        with pytest.raises(ValueError, match=rf"levels must be >= 2, got {bad}"):
            checks.check_levels(bad)
    for bad in (2.0, True, "2", None):
        with pytest.raises(TypeError, match=rf"levels must be an int, got {type(bad).__name__}"):
            checks.check_levels(bad)  # type: ignore[arg-type]


def test_check_labels_unconditional() -> None:
    checks.check_labels(None, batch_size=3, n_classes=None)
    with pytest.raises(ValueError, match="y was given but the model is unconditional"):
        checks.check_labels(torch.zeros(3, dtype=torch.long), batch_size=3, n_classes=None)


def test_check_labels_conditional() -> None:
    checks.check_labels(torch.tensor([0, 9, 4]), batch_size=3, n_classes=10)
    checks.check_labels(torch.tensor([1, 2], dtype=torch.int32), batch_size=2, n_classes=10)
    with pytest.raises(ValueError, match=r"class-conditional \(n_classes=10\)"):
        checks.check_labels(None, batch_size=3, n_classes=10)
    with pytest.raises(TypeError, match="y must be an integer tensor.*torch.float32"):
        checks.check_labels(torch.zeros(3), batch_size=3, n_classes=10)
    with pytest.raises(TypeError, match="labels must be an integer tensor.*list"):
        checks.check_labels([0, 1, 2], batch_size=3, n_classes=10, name="labels")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"y must have shape \(3,\), got \(3, 1\)"):
        checks.check_labels(torch.zeros(3, 1, dtype=torch.long), batch_size=3, n_classes=10)
    with pytest.raises(ValueError, match=r"y must lie in \[0, 9\], got min 0 and max 10"):
        checks.check_labels(torch.tensor([0, 10, 3]), batch_size=3, n_classes=10)
    with pytest.raises(ValueError, match=r"got min -1 and max 3"):
        checks.check_labels(torch.tensor([-1, 3, 3]), batch_size=3, n_classes=10)


def test_check_image_size() -> None:
    assert checks.check_image_size(5) == (5, 5)
    assert checks.check_image_size((3, 4)) == checks.check_image_size([3, 4]) == checks.check_image_size(torch.Size([3, 4])) == (3, 4)
    for bad in ("28", None, 2.0, True, {3: 4}):
        with pytest.raises(TypeError, match=rf"image_size must be an int or a pair \(H, W\) of ints, got {type(bad).__name__}"):
            checks.check_image_size(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="size must be an int, got float 2.5"):
        checks.check_image_size((2.5, 3), name="size")
    with pytest.raises(ValueError, match=r"image_size must be an int or a pair \(H, W\), got \(1, 2, 3\)"):
        checks.check_image_size((1, 2, 3))
    with pytest.raises(ValueError, match="image_size must be >= 1, got 0"):
        checks.check_image_size((0, 3))


def test_check_bool() -> None:
    assert checks.check_bool("coupled", False) is False
    with pytest.raises(TypeError, match="coupled must be a bool \\(True or False\\), got str 'no'"):
        checks.check_bool("coupled", "no")  # type: ignore[arg-type]


def test_check_follows_model() -> None:
    model = torch.nn.Conv2d(1, 1, 1)
    checks.check_follows_model(torch.zeros(1, 1, 2, 2), model)
    with pytest.raises(TypeError, match=r"x has dtype torch.float64 but the model's parameters are torch.float32: .*x.float\(\).*model.double\(\)"):
        checks.check_follows_model(torch.zeros(1, 1, 2, 2, dtype=torch.float64), model)
    with pytest.raises(TypeError, match=r"images has dtype torch.float16.*images.double\(\).*model.to\(torch.float16\)"):
        checks.check_follows_model(torch.zeros(1, dtype=torch.float16), model.double(), name="images")
    with pytest.raises(ValueError, match="x is on meta but the model is on cpu"):
        checks.check_follows_model(torch.zeros(1, device="meta", dtype=torch.float64), model)
