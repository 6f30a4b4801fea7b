"""Completion, scores per image, and the sampler's bad-input errors.

A completion keeps the given sub-pixels and draws the rest from p(rest | given). On a tiny MADE the
empirical distribution of the completions is compared with the exact conditional, enumerated from
``log_prob``, and the cached and naive loops give the same completions.
"""

from __future__ import annotations

import math

import pytest
import torch

from pixelcnn_edu import data, likelihoods, models, sampling, train
from test_sampling import N_DRAWS, all_images, image_index, randomised, sampling_tolerance, total_variation


@pytest.fixture
def tiny_made(make_model) -> models.MADE:
    return randomised(make_model(models.MADE, in_channels=1, levels=2, image_size=(2, 2), hidden=8))


def top_rows(rows: int, size: tuple[int, int] = (2, 2)) -> torch.Tensor:
    known = torch.zeros(size, dtype=torch.bool)
    known[:rows] = True
    return known


def test_completion_draws_from_the_exact_conditional(tiny_made) -> None:
    """Given the top row (1, 0), the bottom row follows p(bottom | top) = p(x) / p(top)."""
    images = all_images(1, 2, 2, 2)  # (16, 1, 2, 2)
    with torch.no_grad():
        p = tiny_made.log_prob(images).sum((1, 2, 3)).exp()
    given = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    matches = (images[:, 0, 0] == given[0, 0, 0]).all(1)  # the 4 images with that top row
    conditional = torch.where(matches, p, torch.zeros_like(p)) / p[matches].sum()
    for cache in (True, False):
        out = sampling.complete(tiny_made, given, top_rows(1), n=N_DRAWS, generator=torch.Generator().manual_seed(3), cache=cache)
        assert out.shape == (1, N_DRAWS, 1, 2, 2)
        assert torch.equal(out[0, :, :, 0], given[:, :, 0].expand(N_DRAWS, 1, 2))  # the given row is kept
        freq = torch.bincount(image_index(out[0], 2), minlength=16).float() / N_DRAWS
        assert total_variation(freq, conditional) < sampling_tolerance(conditional, N_DRAWS)
    assert total_variation(conditional, p) > 0.2  # the condition matters: a sharp test


@pytest.mark.parametrize("name", ["pixelcnn", "gated-conditional", "pixelcnn++-rgb", "made-two-layers-rgb"])
def test_cached_completion_equals_the_naive_one(name: str) -> None:
    from test_fast_sampling import build

    model, size, y = build(name)
    x = torch.randint(model.levels, (3, model.in_channels, *size), generator=torch.Generator().manual_seed(0)).float() / (model.levels - 1)
    known = torch.zeros(model.in_channels, *size, dtype=torch.bool)
    known[:, : size[0] // 2] = True
    known[0, size[0] // 2, 0] = True  # and the first sub-pixel of the next row: any raster prefix works
    runs = [
        sampling.complete(model, x, known, n=2, y=y, generator=torch.Generator().manual_seed(1), cache=cache)
        for cache in (True, False)
    ]
    assert torch.equal(runs[0], runs[1])
    kept = known.expand(3, 2, *known.shape).permute(1, 0, 2, 3, 4)  # (2, 3, C, H, W)
    assert torch.equal(runs[0].transpose(0, 1)[kept], x.expand(2, *x.shape)[kept])


def test_completions_keep_their_images_label_and_order() -> None:
    model = models.GatedPixelCNN(levels=2, hidden=4, n_layers=1, input_kernel_size=3, n_classes=10)
    x = torch.zeros(2, 1, 4, 4)
    x[1, :, 0] = 1.0  # image 1 has a white top row
    out = sampling.complete(model, x, top_rows(1, (4, 4)), n=3, y=torch.tensor([3, 5]), generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 3, 1, 4, 4)
    assert (out[0, :, :, 0] == 0).all() and (out[1, :, :, 0] == 1).all()
    trace = sampling.completion_trace(model, x, top_rows(1, (4, 4)), n=3, y=torch.tensor([3, 5]), generator=torch.Generator().manual_seed(0))
    assert torch.equal(trace.labels, torch.tensor([3, 3, 3, 5, 5, 5]))
    assert torch.equal(trace.frame(-1), out.flatten(0, 1))


def test_a_fully_known_image_comes_back_unchanged(make_pixelcnn, make_images) -> None:
    model = make_pixelcnn(in_channels=3, levels=4)
    x = make_images(n=2, channels=3, size=(3, 3), levels=4)
    out = sampling.complete(model, x, torch.ones_like(x, dtype=torch.bool), n=2)
    assert torch.equal(out, x[:, None].expand(2, 2, 3, 3, 3))


def test_a_known_sub_pixel_after_an_unknown_one_is_refused_or_ignored_with_a_warning(make_pixelcnn) -> None:
    model = make_pixelcnn()
    x = torch.ones(1, 1, 4, 4)
    known = torch.zeros(4, 4, dtype=torch.bool)
    known[2:] = True  # the bottom half: a raster-order model cannot condition on it
    with pytest.raises(ValueError, match=r"8 known sub-pixel\(s\) come after an unknown one .* row 2, column 0"):
        sampling.complete(model, x, known)
    with pytest.warns(UserWarning, match="they are ignored and drawn like the rest"):
        out = sampling.complete(model, x, known, allow_ignored_future=True, generator=torch.Generator().manual_seed(0))
    naive = sampling.sample(model, 1, (4, 4), generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[0], naive)  # nothing was kept: the same draws as sampling from scratch


def test_check_known_names_the_first_ignored_channel() -> None:
    x = torch.zeros(1, 3, 2, 2)
    known = torch.zeros(3, 2, 2, dtype=torch.bool)
    known[0, 0, 0] = True
    known[2, 0, 0] = True  # B of pixel (0, 0) without G
    with pytest.raises(ValueError, match="row 0, column 0, channel 2"):
        sampling.check_known(x, known)
    known[1, 0, 0] = True
    assert sampling.check_known(x, known).shape == (1, 3, 2, 2)


@pytest.mark.parametrize(
    "known, error, match",
    [
        (torch.zeros(3, 3), TypeError, "known must be a bool tensor"),
        (torch.zeros(3, 3, dtype=torch.int64), TypeError, "known must be a bool tensor"),
        (torch.zeros(2, 3, dtype=torch.bool), ValueError, r"known must have the shape of x \(2, 1, 3, 3\)"),
        (torch.zeros(3, 1, 3, 3, dtype=torch.bool), ValueError, "known must have the shape"),
    ],
)
def test_bad_completion_masks_raise(known, error, match, make_pixelcnn) -> None:
    with pytest.raises(error, match=match):
        sampling.complete(make_pixelcnn(), torch.zeros(2, 1, 3, 3), known)


def test_bad_completion_inputs_raise(make_pixelcnn) -> None:
    model = make_pixelcnn()
    known = top_rows(1, (3, 3))
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        sampling.complete(model, torch.zeros(2, 1, 3, 3), known, n=0)
    with pytest.raises(ValueError, match="must lie in"):
        sampling.complete(model, torch.full((2, 1, 3, 3), 2.0), known)
    with pytest.raises(ValueError, match="channel"):
        sampling.complete(model, torch.zeros(2, 3, 3, 3), known)
    with pytest.raises(ValueError, match="unconditional"):
        sampling.complete(model, torch.zeros(2, 1, 3, 3), known, y=torch.tensor([1, 2]))
    conditional = models.PixelCNN(levels=2, hidden=8, n_layers=1, n_classes=10)
    with pytest.raises(ValueError, match=r"y must have shape \(2,\), one label per image"):
        sampling.complete(conditional, torch.zeros(2, 1, 3, 3), known, y=torch.tensor([1]))


@pytest.mark.parametrize("temperature", [0, -1.0, math.nan, math.inf, -math.inf])
def test_bad_temperatures_raise_everywhere(temperature: float, make_pixelcnn) -> None:
    model = make_pixelcnn()
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        sampling.sample(model, 1, (2, 2), temperature=temperature)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        sampling.complete(model, torch.zeros(1, 1, 2, 2), top_rows(1), temperature=temperature)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        model.likelihood.probs(torch.zeros(1, 2, 2, 2), temperature)


def test_a_temperature_that_is_not_a_number_raises(make_pixelcnn) -> None:
    with pytest.raises(TypeError, match="temperature must be a number"):
        sampling.sample(make_pixelcnn(), 1, (2, 2), temperature="1")  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [1.5, True])
def test_n_must_be_an_int(n, make_pixelcnn) -> None:
    with pytest.raises(TypeError, match="n must be an int"):
        sampling.sample(make_pixelcnn(), n, (2, 2))


def test_the_image_size_is_checked_before_sampling(make_model) -> None:
    made = make_model(models.MADE, in_channels=1, levels=2, image_size=(2, 2), hidden=8)
    with pytest.raises(ValueError, match=r"MADE was built for images of size \(2, 2\), got \(3, 3\)"):
        sampling.sample(made, 1, (3, 3))
    plusplus = models.PixelCNNPlusPlus(in_channels=1, levels=4, hidden=4, n_mix=1)
    with pytest.raises(ValueError, match="divisible by 4"):
        sampling.sample(plusplus, 1, (6, 8))


def test_scores_per_image_average_to_the_dataset_score(make_pixelcnn, make_images) -> None:
    model = make_pixelcnn()
    images = make_images(n=10, size=(4, 4))
    dataset = data.ImageDataset(images, torch.zeros(10, dtype=torch.long), 2, "random")
    per_image = train.evaluate(model, dataset, batch_size=3, per_image=True)
    assert per_image.shape == (10,)
    assert per_image.mean().item() == pytest.approx(train.evaluate(model, dataset, batch_size=4), abs=1e-6)
    with torch.no_grad():
        expected = -model.log_prob(images).sum((1, 2, 3)) / (16 * math.log(2))
    assert torch.allclose(per_image, expected, atol=1e-6)
    assert torch.allclose(likelihoods.bits_per_dim_per_image(model.log_prob(images)).detach(), expected, atol=1e-6)
    assert len(set(per_image.tolist())) > 5  # random images score differently
