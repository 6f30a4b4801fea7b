"""The autoregressive property, proved by autograd for every model and configuration.

``log_prob[:, c, i, j]`` may depend only on sub-pixels strictly before (c, i, j) in the order
rows -> columns -> channels. The value at (c, i, j) itself only selects which probability is
scored (a Categorical reads it as an index), so its gradient is zero as well. We check that the
gradient is *exactly* zero (``==``, not ``allclose``) at the target and at every later
sub-pixel, and that a target with a past does read some of it (a model that ignores its
inputs would pass the first check trivially). The helpers are tested on deliberately broken
models so that this file can fail.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import torch
from torch import nn

from pixelcnn_edu import models
from pixelcnn_edu.receptive_field import log_prob_dependencies, raster_order_mask

Target = tuple[int, int, int]


def targets_for(channels: int, h: int, w: int) -> list[Target]:
    """First sub-pixel, last sub-pixel, a middle one, and the row ends (where padding bugs hide)."""
    last = channels - 1
    return sorted({(0, 0, 0), (last, h - 1, w - 1), (channels // 2, h // 2, w // 2), (last, 0, w - 1), (0, 1, 0)})


def assert_causal(model: nn.Module, x: torch.Tensor, target: Target) -> torch.Tensor:
    """Assert d log_prob[:, target] / dx == 0 at the target and after it; return the (C, H, W) gradient."""
    dependencies = log_prob_dependencies(model, x, target)
    at_or_after = ~raster_order_mask(x.shape[1:], target)
    leaks = (dependencies != 0) & at_or_after
    assert not leaks.any(), f"log_prob at {target} depends on later sub-pixels {leaks.nonzero().tolist()}"
    return dependencies


def assert_uses_past(dependencies: torch.Tensor, target: Target, *, whole_pixels: bool = False) -> None:
    """Assert some sub-pixel before ``target`` has a nonzero gradient.

    With ``whole_pixels`` only earlier *pixels* count (a PixelCNN with independent channels
    does not read the earlier channels of the current pixel).
    """
    _, i, j = target
    past = raster_order_mask(dependencies.shape, (0, i, j) if whole_pixels else target)
    assert past.any(), f"target {target} has no past to use"
    assert (dependencies[past] != 0).any(), f"log_prob at {target} ignores every earlier sub-pixel"


def check_model(model: nn.Module, x: torch.Tensor, *, whole_pixels: bool = False) -> None:
    """Run both checks for a spread of targets on images ``x`` (B, C, H, W)."""
    c_n, h, w = x.shape[1:]
    for target in targets_for(c_n, h, w):
        dependencies = assert_causal(model, x, target)
        if target == (0, 0, 0):
            assert torch.equal(dependencies, torch.zeros_like(dependencies))  # nothing comes first
        elif not whole_pixels or target[1:] != (0, 0):
            assert_uses_past(dependencies, target, whole_pixels=whole_pixels)


PIXELCNN_CONFIGS: list[dict[str, Any]] = [
    dict(kernel_size=k, input_kernel_size=k_in, norm=norm, in_channels=c, levels=levels, **colour)
    for k, k_in, norm, (c, colour), levels in itertools.product(
        (3, 5, 7),
        (3, 7),
        ("none", "layer"),
        (
            (1, {}),
            (3, dict(color_groups=1, hidden=24)),  # channels of a pixel independent given the past
            (3, dict(color_convention="contiguous", hidden=24)),  # R -> G -> B, contiguous thirds
            (3, dict(color_convention="interleaved", hidden=24)),  # R -> G -> B, channel % 3
        ),
        (2, 4),
    )
] + [
    dict(dilations=[1, 2]),
    dict(dilations=[2, 3], kernel_size=5),
    dict(n_layers=4, dilations=[1, 2, 1, 3], in_channels=3, hidden=24),
    dict(n_layers=1, input_kernel_size=5, kernel_size=1),
    dict(in_channels=3, levels=8, hidden=30, color_convention="interleaved", norm="layer", dilations=[2, 1]),
    # without the identity path of the blocks (the residual ablation): as causal, no past missed
    dict(residual=False),
    dict(residual=False, kernel_size=5, input_kernel_size=3, norm="layer"),
    dict(residual=False, in_channels=3, levels=4, hidden=24, n_layers=3, dilations=[1, 2, 1]),
    dict(residual=False, in_channels=3, levels=4, hidden=24, color_groups=1),
]


def _config_id(config: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in config.items())


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("config", PIXELCNN_CONFIGS, ids=_config_id)
def test_pixelcnn_is_causal(config: dict[str, Any], mode: str, make_pixelcnn, make_images) -> None:
    model = make_pixelcnn(**config).train(mode == "train")
    x = make_images(n=2, channels=model.in_channels, size=(5, 6), levels=model.levels)
    check_model(model, x, whole_pixels=model.color_groups == 1)


@pytest.mark.parametrize("levels", [2, 4])
@pytest.mark.parametrize("in_channels", [1, 3])
def test_pixelcnn_with_batch_norm_is_causal_in_eval_mode(in_channels: int, levels: int, make_pixelcnn, make_images) -> None:
    model = make_pixelcnn(in_channels=in_channels, levels=levels, norm="batch")
    x = make_images(n=4, channels=in_channels, size=(5, 6), levels=levels)
    model.train()
    model(x)  # one training pass moves the running statistics away from their defaults
    model.eval()
    check_model(model, x, whole_pixels=True)


def test_pixelcnn_with_batch_norm_leaks_in_train_mode(make_pixelcnn, make_images) -> None:
    # BatchNorm in training mode normalises with statistics over the batch and *all positions*,
    # so the first pixel of image 0 already depends on image 0's last pixels.
    model = make_pixelcnn(norm="batch").train()
    x = make_images(n=2, size=(5, 6)).requires_grad_(True)
    target = (0, 0, 0)
    model.log_prob(x)[0, target[0], target[1], target[2]].backward()
    future = ~raster_order_mask(x.shape[1:], target)
    assert (x.grad[0][future] != 0).any(), "expected BatchNorm's batch statistics to leak future pixels"
    with pytest.raises(AssertionError, match="depends on later sub-pixels"):
        assert_causal(model, x.detach(), (0, 2, 3))  # the shared helper catches it too


MADE_CASES = [
    dict(in_channels=1, levels=2, image_size=(4, 4), hidden=32),
    dict(in_channels=3, levels=2, image_size=(4, 4), hidden=64, n_layers=2),
    dict(in_channels=1, levels=4, image_size=(3, 3), hidden=16, n_layers=2),
    dict(in_channels=3, levels=4, image_size=(3, 3), hidden=40),
]


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("config", MADE_CASES, ids=_config_id)
def test_made_is_causal_at_every_sub_pixel(config: dict[str, Any], mode: str, make_model, make_images) -> None:
    model = make_model(models.MADE, **config).train(mode == "train")
    c_n, (h, w) = config["in_channels"], config["image_size"]
    x = make_images(n=3, channels=c_n, size=(h, w), levels=config["levels"])
    for i in range(h):
        for j in range(w):
            for c in range(c_n):
                dependencies = assert_causal(model, x, (c, i, j))
                if (c, i, j) != (0, 0, 0):
                    assert_uses_past(dependencies, (c, i, j))  # MADE also reads earlier channels of a pixel


@pytest.mark.parametrize("in_channels", [1, 3])
def test_independent_pixels_depend_on_nothing(in_channels: int, make_model, make_images) -> None:
    model = make_model(models.IndependentPixels, in_channels=in_channels, levels=4, image_size=(3, 4))
    x = make_images(channels=in_channels, size=(3, 4), levels=4)
    for target in targets_for(in_channels, 3, 4):
        dependencies = assert_causal(model, x, target)
        assert torch.equal(dependencies, torch.zeros_like(dependencies))


def test_pixelcnn_is_causal_at_every_sub_pixel(make_pixelcnn, make_images) -> None:
    model = make_pixelcnn(in_channels=3, levels=4, norm="layer", input_kernel_size=5, kernel_size=3, hidden=24)
    x = make_images(n=2, channels=3, size=(4, 4), levels=4)
    for i in range(4):
        for j in range(4):
            for c in range(3):
                dependencies = assert_causal(model, x, (c, i, j))
                if (c, i, j) != (0, 0, 0):
                    assert_uses_past(dependencies, (c, i, j))  # G uses the current R, B the current R and G


# --- tests of the test: broken models must be caught -------------------------------------------


class UnmaskedInputPixelCNN(models.PixelCNN):
    """A PixelCNN whose first layer is a plain convolution: it sees the present and the future."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        k = self.input_conv.kernel_size[0]
        self.input_conv = nn.Conv2d(self.in_channels, self.input_conv.out_channels, k, padding=k // 2)


class MaskBInputPixelCNN(models.PixelCNN):
    """A PixelCNN whose first layer uses mask B: it sees the pixel it predicts."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        conv = self.input_conv
        self.input_conv = type(conv)(self.in_channels, conv.out_channels, conv.kernel_size[0], "B")


@pytest.mark.parametrize("broken", [UnmaskedInputPixelCNN, MaskBInputPixelCNN])
def test_broken_models_are_caught(broken: type[models.PixelCNN], make_model, make_images) -> None:
    model = make_model(broken, in_channels=1, levels=2, hidden=8, n_layers=1, input_kernel_size=3)
    x = make_images(size=(5, 6))
    with pytest.raises(AssertionError, match=r"log_prob at \(0, 2, 3\) depends on later sub-pixels"):
        assert_causal(model, x, (0, 2, 3))
    with pytest.raises(AssertionError):
        check_model(model, x, whole_pixels=True)


def test_mask_b_leak_is_exactly_the_target_pixel(make_model, make_images) -> None:
    # With mask B in the first layer the only extra input is the predicted pixel itself.
    model = make_model(MaskBInputPixelCNN, in_channels=1, levels=2, hidden=8, n_layers=1, input_kernel_size=3)
    dependencies = log_prob_dependencies(model, make_images(size=(5, 6)), (0, 2, 3))
    leaks = (dependencies != 0) & ~raster_order_mask((1, 5, 6), (0, 2, 3))
    assert leaks.nonzero().tolist() == [[0, 2, 3]]


def test_model_ignoring_its_past_is_caught(make_model, make_images) -> None:
    model = make_model(models.IndependentPixels, in_channels=1, levels=2, image_size=(5, 6))
    x = make_images(size=(5, 6))
    dependencies = assert_causal(model, x, (0, 2, 3))  # trivially causal ...
    with pytest.raises(AssertionError, match="ignores every earlier sub-pixel"):
        assert_uses_past(dependencies, (0, 2, 3))  # ... but it does not use its past


def test_raster_order_mask_by_hand() -> None:
    past = raster_order_mask((3, 2, 2), (1, 0, 1))  # channels are the fastest-moving index
    expected = torch.zeros(3, 2, 2, dtype=torch.bool)
    expected[:, 0, 0] = True  # the whole first pixel
    expected[0, 0, 1] = True  # R of the target pixel
    assert past.dtype == torch.bool
    assert torch.equal(past, expected)
    assert not raster_order_mask((1, 3, 3), (0, 0, 0)).any()
    assert raster_order_mask((2, 3, 3), (1, 2, 2)).sum().item() == 17


def test_log_prob_dependencies_sees_through_each_batch_image(make_pixelcnn, make_images) -> None:
    model = make_pixelcnn()
    x = make_images(n=3, size=(5, 6))
    whole = log_prob_dependencies(model, x, (0, 3, 3))
    parts = sum(log_prob_dependencies(model, x[b : b + 1], (0, 3, 3)) for b in range(3))
    assert torch.allclose(whole, parts)


@pytest.mark.parametrize("in_channels", [1, 3])
def test_conditional_pixelcnn_with_class_maps_is_causal(in_channels: int) -> None:
    """Class maps vary over the image but read only the labels, so the masks still decide causality."""
    from pixelcnn_edu import layers
    from pixelcnn_edu.receptive_field import check_causality

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = models.PixelCNN(in_channels, 4, hidden=12, n_layers=2, input_kernel_size=3, n_classes=3, class_maps=2)
        for module in model.modules():  # the class biases start at zero; give them something to do
            if isinstance(module, layers.ClassBias):
                nn.init.normal_(module.embedding.weight), nn.init.normal_(module.mix.weight)
    report = check_causality(model, (5, 5), n_probes=2, y=torch.tensor([0, 2]), generator=torch.Generator().manual_seed(0))
    assert report.leaks == 0 and report.causal
