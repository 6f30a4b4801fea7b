"""sampling: reproducible draws on the level grid, traces, and exactness on tiny images.

The exactness tests enumerate every image of a tiny model (e.g. all 16 binary 2x2 images),
compute p(x) from ``log_prob``, and check that the sampler's empirical frequencies match it:
sampling at temperature 1 draws exactly from the distribution the model scores.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import torch
from torch import nn

from pixelcnn_edu import models, sampling
from pixelcnn_edu.likelihoods import DiscretizedLogisticMixture

N_DRAWS = 20000


def all_images(channels: int, h: int, w: int, levels: int) -> torch.Tensor:
    """Every image of the given shape, (levels ** (C*H*W), C, H, W), in lexicographic order."""
    values = torch.tensor(list(itertools.product(range(levels), repeat=channels * h * w)), dtype=torch.float32)
    return values.view(-1, h, w, channels).permute(0, 3, 1, 2) / (levels - 1)


def image_index(images: torch.Tensor, levels: int) -> torch.Tensor:
    """The row of each image (n, C, H, W) in ``all_images`` (base-``levels`` digits in raster order)."""
    digits = torch.round(images.permute(0, 2, 3, 1).flatten(1) * (levels - 1)).long()  # (n, D)
    weights = levels ** torch.arange(digits.shape[1] - 1, -1, -1)
    return (digits * weights).sum(1)


def exact_distribution(model: nn.Module, images: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """p_T(x) for each image: the product over sub-pixels of the tempered conditionals."""
    with torch.no_grad():
        probs = model.likelihood.probs(model(images), temperature)  # (N, C, L, H, W)
        index = torch.round(images * (model.levels - 1)).long().unsqueeze(2)  # (N, C, 1, H, W)
        return probs.gather(2, index).squeeze(2).log().sum((1, 2, 3)).exp()


def total_variation(p: torch.Tensor, q: torch.Tensor) -> float:
    return 0.5 * (p - q).abs().sum().item()


def sampling_tolerance(p: torch.Tensor, n: int) -> float:
    """Twice the typical total variation between ``n`` draws from ``p`` and ``p`` itself.

    Each frequency has standard deviation sqrt(p (1 - p) / n); half their sum bounds the
    expected total variation, and doubling it leaves room for chance but not for a bias.
    """
    return 2 * 0.5 * torch.sqrt(p * (1 - p) / n).sum().item()


def randomised(model: nn.Module, seed: int = 0, scale: float = 0.6) -> nn.Module:
    """Redraw every parameter from N(0, scale^2): a distribution neither uniform nor one-peaked."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=generator))
    return model.eval()


TINY_MODELS: dict[str, tuple[type, dict[str, Any], tuple[int, int]]] = {
    "made-2x2-binary": (models.MADE, dict(in_channels=1, levels=2, image_size=(2, 2), hidden=8), (2, 2)),
    "pixelcnn-2x2-binary": (models.PixelCNN, dict(in_channels=1, levels=2, hidden=8, n_layers=1,
                                                  kernel_size=3, input_kernel_size=3), (2, 2)),
    "gated-2x2-binary": (models.GatedPixelCNN, dict(in_channels=1, levels=2, hidden=4, n_layers=1, skip_channels=4,
                                                    kernel_size=3, input_kernel_size=3), (2, 2)),
    "made-rgb-1x2-levels3": (models.MADE, dict(in_channels=2, levels=3, image_size=(1, 2), hidden=8), (1, 2)),
    "transformer-2x2-binary": (models.PixelTransformer, dict(in_channels=1, levels=2, hidden=8, n_layers=1, n_heads=2,
                                                             image_size=(2, 2)), (2, 2)),
    "transformer-rgb-1x2-levels3": (models.PixelTransformer, dict(in_channels=2, levels=3, hidden=8, n_layers=1, n_heads=2,
                                                                  image_size=(1, 2)), (1, 2)),
    "transformer-coupled-1x2-levels3": (models.PixelTransformer, dict(in_channels=2, levels=3, hidden=8, n_layers=1, n_heads=2,
                                                                      image_size=(1, 2), likelihood=DiscretizedLogisticMixture(2, 3)), (1, 2)),
}


@pytest.mark.parametrize("name", list(TINY_MODELS))
def test_sampling_is_exact_on_tiny_images(name: str, make_model) -> None:
    cls, kwargs, (h, w) = TINY_MODELS[name]
    model = randomised(make_model(cls, **kwargs))
    images = all_images(model.in_channels, h, w, model.levels)
    with torch.no_grad():
        p = model.log_prob(images).sum((1, 2, 3)).exp()
    assert p.sum().item() == pytest.approx(1.0, abs=1e-5)
    uniform = torch.full_like(p, 1 / len(p))
    assert total_variation(p, uniform) > 0.15 and p.max() < 0.5  # spread but not flat: a sharp test
    draws = sampling.sample(model, N_DRAWS, (h, w), generator=torch.Generator().manual_seed(1))
    freq = torch.bincount(image_index(draws, model.levels), minlength=len(p)).float() / N_DRAWS
    assert total_variation(freq, p) < sampling_tolerance(p, N_DRAWS)


@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_temperature_changes_the_distribution(temperature: float, make_model) -> None:
    cls, kwargs, (h, w) = TINY_MODELS["made-2x2-binary"]
    model = randomised(make_model(cls, **kwargs))
    images = all_images(1, h, w, 2)
    p = exact_distribution(model, images)
    p_t = exact_distribution(model, images, temperature)
    assert p_t.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert total_variation(p_t, p) > 0.1
    draws = sampling.sample(model, N_DRAWS, (h, w), temperature=temperature, generator=torch.Generator().manual_seed(2))
    freq = torch.bincount(image_index(draws, 2), minlength=16).float() / N_DRAWS
    assert total_variation(freq, p_t) < sampling_tolerance(p_t, N_DRAWS)  # the tempered conditionals ...
    assert total_variation(freq, p) > 3 * sampling_tolerance(p, N_DRAWS)  # ... not the untempered model


def test_image_index_inverts_all_images() -> None:
    images = all_images(2, 1, 2, 3)
    assert images.shape == (81, 2, 1, 2)
    assert torch.equal(image_index(images, 3), torch.arange(81))


def test_sample_is_reproducible_and_on_the_grid(make_pixelcnn) -> None:
    model = make_pixelcnn(in_channels=3, levels=4)
    first = sampling.sample(model, 3, (3, 4), generator=torch.Generator().manual_seed(5))
    again = sampling.sample(model, 3, (3, 4), generator=torch.Generator().manual_seed(5))
    other = sampling.sample(model, 3, (3, 4), generator=torch.Generator().manual_seed(6))
    assert first.shape == (3, 3, 3, 4) and first.dtype == torch.float32
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert first.min() >= 0 and first.max() <= 1
    assert torch.equal(first * 3, (first * 3).round())


def test_image_size_may_be_an_int(make_pixelcnn) -> None:
    model = make_pixelcnn()
    assert sampling.sample(model, 2, 3, generator=torch.Generator().manual_seed(0)).shape == (2, 1, 3, 3)


def test_trace_ends_in_the_sample(make_pixelcnn) -> None:
    model = make_pixelcnn(in_channels=3, levels=4)
    drawn = sampling.sample(model, 2, (2, 3), generator=torch.Generator().manual_seed(9))
    trace = sampling.sampling_trace(model, 2, (2, 3), generator=torch.Generator().manual_seed(9))
    assert torch.equal(trace.frame(-1), drawn)
    assert len(trace) == 3 * 2 * 3 and trace.shape == (2, 3, 2, 3) and not hasattr(trace, "frames")
    assert trace.levels == 4 and trace.probs.shape == (18, 2, 4) and trace.values.shape == (18, 2)


def test_trace_visits_rows_then_columns_then_channels(make_pixelcnn) -> None:
    model = make_pixelcnn(in_channels=3, levels=4)
    trace = sampling.sampling_trace(model, 2, (2, 2), generator=torch.Generator().manual_seed(0))
    expected = [(c, i, j) for i in range(2) for j in range(2) for c in range(3)]
    assert trace.positions == expected
    assert torch.equal(trace.frame(0), torch.zeros(2, 3, 2, 2))
    assert torch.allclose(trace.probs.sum(-1), torch.ones(12, 2), atol=1e-6)
    for t, (c, i, j) in enumerate(trace.positions, start=1):
        changed = trace.frame(t) != trace.frame(t - 1)
        changed[:, c, i, j] = False
        assert not changed.any(), f"step {t} wrote outside {(c, i, j)}"
        assert torch.equal(trace.frame(t)[:, c, i, j], trace.values[t - 1])
        assert torch.equal(trace.frame(t, 1), trace.frame(t)[1])


@pytest.mark.parametrize("n", [0, -1])
def test_bad_n_raises(n: int, make_pixelcnn) -> None:
    with pytest.raises(ValueError, match=rf"n must be >= 1, got {n}"):
        sampling.sample(make_pixelcnn(), n, (2, 2))


@pytest.mark.parametrize("image_size", [(0, 2), (2,), (2, 2, 2), -3])
def test_bad_image_size_raises(image_size: Any, make_pixelcnn) -> None:
    with pytest.raises(ValueError, match="image_size must be"):
        sampling.sample(make_pixelcnn(), 1, image_size)


def test_labels_for_an_unconditional_model_raise(make_pixelcnn) -> None:
    with pytest.raises(ValueError, match="unconditional"):
        sampling.sample(make_pixelcnn(), 2, (2, 2), y=torch.zeros(2, dtype=torch.long))


@pytest.mark.parametrize("cache", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_training_mode_is_restored(training: bool, cache: bool, make_pixelcnn) -> None:
    model = make_pixelcnn(norm="batch").train(training)
    modes: list[bool] = []
    for module in model.modules():  # the cached loop calls the layers, not the model's forward
        module.register_forward_hook(lambda module, args, out: modes.append(module.training))
    sampling.sample(model, 2, (2, 2), generator=torch.Generator().manual_seed(0), cache=cache)
    assert modes and not any(modes)  # every layer ran in eval mode
    assert model.training is training
    assert all(m.training is training for m in model.modules())


def test_training_mode_is_restored_when_stopped_early(make_pixelcnn) -> None:
    model = make_pixelcnn().train()
    steps = sampling.sample_steps(model, 1, (3, 3), generator=torch.Generator().manual_seed(0))
    next(steps)
    assert model.training  # between steps the caller's mode (test_sampling_steps.py)
    steps.close()
    assert model.training


def test_scoring_trace_sums_to_log_prob(make_pixelcnn, make_images) -> None:
    model = make_pixelcnn(in_channels=3, levels=4).train()
    x = make_images(n=2, channels=3, size=(3, 4), levels=4)
    trace = sampling.scoring_trace(model, x)
    assert model.training  # restored
    index = torch.round(trace.values * 3).long()  # (T, n)
    log_p = trace.probs.gather(2, index.unsqueeze(2)).squeeze(2).log()  # (T, n)
    with torch.no_grad():
        expected = model.eval().log_prob(x)
    assert log_p.sum().item() == pytest.approx(expected.sum().item(), abs=1e-4)
    assert torch.equal(trace.frame(-1), x)
    assert trace.positions[:4] == [(0, 0, 0), (1, 0, 0), (2, 0, 0), (0, 0, 1)]


def test_conditional_sampling_needs_one_label_per_image_and_keeps_them() -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = models.GatedPixelCNN(levels=2, hidden=4, n_layers=1, input_kernel_size=3, n_classes=10)
    with pytest.raises(ValueError, match="pass labels y"):
        sampling.sample(model, 2, (3, 3))
    with pytest.raises(ValueError, match=r"y must have shape \(2,\)"):
        sampling.sample(model, 2, (3, 3), y=torch.tensor([1]))
    y = torch.tensor([3, 8])
    trace = sampling.sampling_trace(model, 2, (3, 3), y=y, generator=torch.Generator().manual_seed(0))
    assert torch.equal(trace.labels, y)
    images = sampling.sample(model, 2, (3, 3), y=y, generator=torch.Generator().manual_seed(0))
    assert torch.equal(images, trace.frame(-1))
    assert sampling.sampling_trace(models.PixelCNN(hidden=8, n_layers=1), 1, (2, 2)).labels is None


@pytest.mark.parametrize("cache", [True, False])
def test_the_sampler_asks_the_model_whether_one_pass_gives_every_channel(cache: bool) -> None:
    """A model whose masks hide the whole current pixel (here R, G and B independent given the
    past) runs once per pixel, not once per sub-pixel; the cached loop adds a pass per row."""
    passes = {}
    for groups in (1, 3):
        model = models.PixelCNN(3, 4, hidden=12, n_layers=1, color_groups=groups)
        assert model.hides_current_pixel is (groups == 1)
        count = [0]
        model.head.register_forward_hook(lambda *args, count=count: count.__setitem__(0, count[0] + 1))
        sampling.sample(model, 2, (2, 3), generator=torch.Generator().manual_seed(0), cache=cache)
        passes[groups] = count[0] - (2 if cache else 0)
    assert passes == {1: 6, 3: 18}


def test_the_cached_loop_never_waits_for_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks run once when the loop is set up; drawing sub-pixels reads no tensor back to the host
    (no ``.item()``, no ``if tensor``), so on a GPU the loop never stalls on a synchronisation."""
    model = models.GatedPixelCNN(3, 4, hidden=6, n_layers=1, input_kernel_size=3, n_classes=2)
    transformer = models.PixelTransformer(3, 4, hidden=8, n_heads=2, n_layers=1, image_size=4, n_classes=2)
    for lik_model in (model, models.PixelCNNPlusPlus(3, 4, hidden=4, n_mix=2, n_classes=2), transformer):
        steps = sampling.sample_steps(lik_model, 2, (4, 4), y=torch.tensor([0, 1]), generator=torch.Generator().manual_seed(0))

        def synchronised(*args: Any, **kwargs: Any) -> None:
            raise AssertionError("the sampling loop read a tensor back to the host")

        with monkeypatch.context() as patch:
            for name in ("item", "tolist", "__bool__", "__int__", "__float__"):
                patch.setattr(torch.Tensor, name, synchronised)
            drawn = sum(1 for _ in steps)
        assert drawn == 3 * 4 * 4


def test_a_completion_checks_its_images_once(monkeypatch: pytest.MonkeyPatch, make_pixelcnn, make_images) -> None:
    from pixelcnn_edu import checks

    calls = []
    real = checks.check_images

    def counted(*args: Any, **kwargs: Any) -> None:
        calls.append(kwargs.get("name", "x"))
        real(*args, **kwargs)

    import sys

    for module in (sampling.completion, sys.modules[models.AutoregressiveModel.__module__]):  # where it is called
        monkeypatch.setattr(module, "check_images", counted)
    model = make_pixelcnn(in_channels=3, levels=4)
    x = make_images(n=2, channels=3, size=(3, 3), levels=4)
    known = torch.zeros(3, 3, dtype=torch.bool)
    known[0] = True
    sampling.complete(model, x, known, n=2, generator=torch.Generator().manual_seed(0))
    assert calls == ["x"]


def test_a_float64_model_samples_and_completes_in_float64(make_pixelcnn, make_images) -> None:
    model = make_pixelcnn(in_channels=3, levels=4).double()
    assert sampling.sample(model, 2, (2, 3), generator=torch.Generator().manual_seed(0)).dtype == torch.float64
    x = make_images(n=1, channels=3, size=(2, 3), levels=4).double()
    known = torch.zeros(2, 3, dtype=torch.bool)
    known[0] = True
    assert sampling.complete(model, x, known, generator=torch.Generator().manual_seed(0)).dtype == torch.float64
    assert sampling.agreement(model, 1, (2, 2)).same_values
    assert len(sampling.positions_per_step(model, (2, 2), cache=True)) == 12


def test_sampling_needs_a_model_of_the_package() -> None:
    with pytest.raises(TypeError, match=r"model must be a pixelcnn_edu model \(models.AutoregressiveModel\), got Conv2d"):
        sampling.sample(nn.Conv2d(1, 1, 3), 1, (2, 2))
