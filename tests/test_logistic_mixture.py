"""The discretised logistic mixture: exact normalisation, stability at extreme parameters, coupling,
sampling, and models that use it (causal by autograd, no blind spot for the gated model)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from pixelcnn_edu import likelihoods, models, sampling
from pixelcnn_edu import receptive_field as rf
from pixelcnn_edu.likelihoods import DiscretizedLogisticMixture


def random_case(mixture: DiscretizedLogisticMixture, channels: int, scale: float, dtype: torch.dtype, seed: int = 0):
    """Parameters (2, P, 3, 2) drawn at ``scale`` and images on the level grid, both of ``dtype``."""
    generator = torch.Generator().manual_seed(seed)
    params = scale * torch.randn(2, mixture.param_channels(channels), 3, 2, generator=generator, dtype=dtype)
    x = torch.randint(mixture.levels, (2, channels, 3, 2), generator=generator).to(dtype) / (mixture.levels - 1)
    return params, x


CASES = [(n_mix, levels, coupled) for n_mix in (1, 3, 10) for levels in (2, 4, 256) for coupled in (True, False)]


@pytest.mark.parametrize("scale", [1.0, 10.0, 100.0])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("n_mix, levels, coupled", CASES)
def test_each_channel_sums_to_one_given_the_earlier_channels(n_mix: int, levels: int, coupled: bool, channels: int, scale: float) -> None:
    mixture = DiscretizedLogisticMixture(n_mix, levels, coupled=coupled)
    params, x = random_case(mixture, channels, scale, torch.float64)
    log_p = mixture.level_log_probs(params, x)  # (B, C, L, H, W), computed directly, not renormalised
    total = log_p.exp().sum(2)
    assert torch.allclose(total, torch.ones_like(total), atol=1e-6, rtol=0)
    params32, x32 = params.float(), x.float()
    total32 = mixture.level_log_probs(params32, x32).exp().sum(2)
    assert torch.isfinite(total32).all() and torch.allclose(total32, torch.ones_like(total32), atol=1e-3, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n_mix, levels, coupled", CASES)
def test_log_prob_is_the_level_log_prob_of_the_observed_value(n_mix: int, levels: int, coupled: bool, dtype: torch.dtype) -> None:
    mixture = DiscretizedLogisticMixture(n_mix, levels, coupled=coupled)
    params, x = random_case(mixture, 3, 3.0, dtype)
    index = likelihoods.to_level_index(x, levels)
    expected = mixture.level_log_probs(params, x).gather(2, index[:, :, None]).squeeze(2)
    tolerance = 1e-10 if dtype == torch.float64 else 1e-4
    torch.testing.assert_close(mixture.log_prob(params, x), expected, atol=tolerance, rtol=tolerance)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale", [1.0, 10.0, 100.0])
@pytest.mark.parametrize("coupled", [True, False])
def test_values_and_gradients_stay_finite_at_extreme_parameters(coupled: bool, scale: float, dtype: torch.dtype) -> None:
    mixture = DiscretizedLogisticMixture(10, 256, coupled=coupled)
    params, x = random_case(mixture, 3, scale, dtype)
    params.requires_grad_(True)
    x.requires_grad_(True)
    log_p = mixture.log_prob(params, x)
    assert torch.isfinite(log_p).all() and (log_p <= 1e-6).all()
    grad_params, grad_x = torch.autograd.grad(log_p.sum(), [params, x], allow_unused=True)
    assert torch.isfinite(grad_params).all()
    assert (grad_x is None) is not coupled  # only the coupling reads x with a gradient (earlier channels)
    assert grad_x is None or torch.isfinite(grad_x).all()
    assert grad_params.abs().sum() > 0


def test_edge_bins_take_the_tails() -> None:
    """A component far below the range puts (almost) all its mass on level 0, far above on the top level."""
    mixture = DiscretizedLogisticMixture(1, 8)
    for mean, level in ((-50.0, 0), (50.0, 7)):
        params = torch.tensor([0.0, mean, -1.0]).view(1, 3, 1, 1).double()
        probs = mixture.level_log_probs(params).exp()[0, 0, :, 0, 0]
        assert probs[level] > 1 - 1e-12 and probs.sum().item() == pytest.approx(1.0, abs=1e-12)


def test_a_narrow_component_puts_its_mass_on_one_interior_level() -> None:
    mixture = DiscretizedLogisticMixture(1, 5)
    centre_of_level_2 = 0.0
    params = torch.tensor([0.0, centre_of_level_2, -7.0]).view(1, 3, 1, 1).double()
    probs = mixture.level_log_probs(params).exp()[0, 0, :, 0, 0]
    assert probs[2] > 0.999 and probs.sum().item() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("levels", [4, 256])
@pytest.mark.parametrize("log_scale_min", [-7.0, -9.0])
def test_the_lower_bound_caps_the_mass_of_an_interior_level_by_the_formula(levels: int, log_scale_min: float) -> None:
    """A component centred on an interior level, its log-scale driven to the bound, gives that level
    sigmoid(a) - sigmoid(-a) = tanh(a / 2) with a = half a bin / scale; an edge level gets more."""
    mixture = DiscretizedLogisticMixture(1, levels, log_scale_min=log_scale_min)
    level = levels // 2
    centre = 2 * level / (levels - 1) - 1
    floor = mixture.bound_log_scales(torch.tensor(-1e4).double()).item()  # the bound, to within 1e-5
    assert floor == pytest.approx(log_scale_min, abs=1e-5)
    cap = math.tanh(1 / (2 * (levels - 1) * math.exp(floor)))
    for mean, at in ((centre, level), (-1.0, 0)):
        params = torch.tensor([0.0, mean, -1e4]).view(1, 3, 1, 1).double()  # raw log-scale far below the bound
        probs = mixture.level_log_probs(params).exp()[0, 0, :, 0, 0]
        if at == level:
            assert probs[at].item() == pytest.approx(cap, rel=1e-9)
        else:  # the lowest level also takes the whole lower tail
            assert probs[at].item() == pytest.approx((1 + cap) / 2, rel=1e-9)
    if levels == 256:  # the figure quoted in the docstring and the README
        assert round(math.tanh(1 / (2 * 255 * math.exp(-7.0))), 3) == 0.973


@pytest.mark.parametrize("coupled", [True, False])
def test_a_far_lower_bound_keeps_the_sums_exact_and_gradients_finite(coupled: bool) -> None:
    mixture = DiscretizedLogisticMixture(10, 256, coupled=coupled, log_scale_min=-16.0)
    params, x = random_case(mixture, 3, 100.0, torch.float32)
    params[:, mixture.n_mix :] -= 20.0  # push the raw log-scales (and the rest) far down
    params.requires_grad_(True)
    total = mixture.level_log_probs(params.detach(), x).exp().sum(2)
    assert torch.allclose(total, torch.ones_like(total), atol=1e-3, rtol=0)
    log_p = mixture.log_prob(params, x)
    (grad,) = torch.autograd.grad(log_p.sum(), [params])
    assert torch.isfinite(log_p).all() and (log_p <= 1e-6).all() and torch.isfinite(grad).all()


def test_a_component_at_a_far_lower_bound_is_exact_and_finite_in_float32() -> None:
    """At log_scale_min = -16 (a scale 5e-5 of a bin), a component centred on an interior level gives it
    all the mass, every other level a finite log-probability, and the loss a finite gradient."""
    mixture = DiscretizedLogisticMixture(1, 256, log_scale_min=-16.0)
    centre = 2 * 100 / 255 - 1
    params = torch.tensor([0.0, centre, -1e4]).view(1, 3, 1, 1).requires_grad_(True)
    log_p = mixture.level_log_probs(params)[0, 0, :, 0, 0]
    assert torch.isfinite(log_p).all() and log_p[100].item() > -1e-6 and log_p[99].item() < -1e3
    (grad,) = torch.autograd.grad(mixture.log_prob(params, torch.full((1, 1, 1, 1), 101 / 255)).sum(), [params])
    assert torch.isfinite(grad).all() and grad[0, 1].item() > 0  # the mean is pulled up towards level 101


@pytest.mark.parametrize("coupled", [True, False])
def test_log_scale_bounds_at_the_float32_limit_stay_finite(coupled: bool) -> None:
    """At log_scale_min = -80 (the limit) the bin edges (x - mean) * exp(80) stay finite for means in and
    well beyond the data, at log_scale_max = 80 the bin widths exp(-80) too: the masses sum to 1 and the
    loss and its gradient are finite in float32."""
    limit = likelihoods.LOG_SCALE_LIMIT
    assert limit == 80.0
    for low, high, raw in ((-limit, 5.0, -1e4), (-7.0, limit, 1e4)):
        mixture = DiscretizedLogisticMixture(10, 256, coupled=coupled, log_scale_min=low, log_scale_max=high)
        params, x = random_case(mixture, 3, 1.0, torch.float32)
        m = mixture.n_mix
        scales = slice(m + 3 * m, m + 6 * m) if coupled else None
        if coupled:
            params[:, scales] = raw  # every log-scale driven to the bound
            params[:, m : m + 3 * m] *= 100.0  # means far outside [-1, 1]
        else:
            params.view(2, 3, 3, m, 3, 2)[:, :, 2] = raw
            params.view(2, 3, 3, m, 3, 2)[:, :, 1] *= 100.0
        params.requires_grad_(True)
        log_p = mixture.log_prob(params, x)
        (grad,) = torch.autograd.grad(log_p.sum(), [params])
        assert torch.isfinite(log_p).all() and torch.isfinite(grad).all(), (low, high)
        probs = mixture.probs(params.detach(), x=x)
        assert torch.isfinite(probs).all()
        torch.testing.assert_close(probs.sum(2), torch.ones_like(probs.sum(2)))


@pytest.mark.parametrize("low, high", [(-80.5, 5.0), (-100.0, 5.0), (-7.0, 80.5), (-7.0, 100.0), (-1e6, 1e6)])
def test_log_scale_bounds_past_the_float32_limit_are_refused(low: float, high: float) -> None:
    """Issue 28: log_scale_min = -100 was accepted and gave NaN in float32 (exp(100) * (x - mean) overflows,
    inf - inf); past +-80 a bound is refused with one ValueError that names the limit."""
    with pytest.raises(ValueError, match=r"log_scale_min and log_scale_max must lie in \[-80, 80\]"):
        DiscretizedLogisticMixture(3, 256, log_scale_min=low, log_scale_max=high)


def test_log_scales_are_bounded_on_both_sides() -> None:
    mixture = DiscretizedLogisticMixture(2, 16, coupled=False, log_scale_min=-7.0, log_scale_max=5.0)
    raw = torch.tensor([-1e4, -8.0, 0.0, 6.0, 1e4]).double()
    params = torch.zeros(1, 6, 1, 5).double()
    params[0, 4] = raw  # the first component's raw log-scale
    _, _, log_scales, _ = mixture.split(params)
    values = log_scales[0, 0, 0, 0]
    assert (values >= -7.0 - 1e-4).all() and (values <= 5.0).all()
    assert values[2].item() == pytest.approx(0.0, abs=1e-2)  # the middle of the range is (nearly) left alone
    assert torch.all(values[1:] >= values[:-1])  # monotone


def test_coupling_g_depends_on_the_current_r_and_not_on_b() -> None:
    mixture = DiscretizedLogisticMixture(3, 16)
    params, x = random_case(mixture, 3, 1.0, torch.float64, seed=1)
    base = mixture.level_log_probs(params, x)
    other_r, other_b = x.clone(), x.clone()
    other_r[:, 0] = 1 - x[:, 0]
    other_b[:, 2] = 1 - x[:, 2]
    assert not torch.allclose(mixture.level_log_probs(params, other_r)[:, 1], base[:, 1]), "G moves with R"
    torch.testing.assert_close(mixture.level_log_probs(params, other_b)[:, :2], base[:, :2])  # nothing before B reads B
    torch.testing.assert_close(mixture.level_log_probs(params, other_r)[:, 0], base[:, 0])  # R reads nothing
    x.requires_grad_(True)
    grad = torch.autograd.grad(mixture.log_prob(params, x)[:, 1].sum(), x)[0]
    assert grad[:, 0].abs().sum() > 0 and grad[:, 1:].eq(0).all()


def test_without_coupling_the_channels_ignore_each_other() -> None:
    mixture = DiscretizedLogisticMixture(3, 16, coupled=False)
    params, x = random_case(mixture, 3, 1.0, torch.float64)
    torch.testing.assert_close(mixture.level_log_probs(params, x), mixture.level_log_probs(params))


def test_samples_follow_the_probabilities() -> None:
    """Draw many RGB pixels from one set of parameters; compare with the enumerated joint distribution."""
    mixture = DiscretizedLogisticMixture(3, 4)
    params = 0.8 * torch.randn(1, mixture.param_channels(3), 1, 1, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    grid = torch.cartesian_prod(*[torch.arange(4)] * 3).double() / 3  # (64, 3): every RGB value
    x = grid.view(64, 3, 1, 1)
    joint = mixture.log_prob(params.expand(64, -1, -1, -1), x).sum((1, 2, 3)).exp()  # (64,)
    assert joint.sum().item() == pytest.approx(1.0, abs=1e-9)
    n = 40000
    draws = mixture.sample(params.expand(n, -1, -1, -1), generator=torch.Generator().manual_seed(0))
    index = (draws.view(n, 3) * 3).round().long()
    freq = torch.bincount(index[:, 0] * 16 + index[:, 1] * 4 + index[:, 2], minlength=64).double() / n
    tv = 0.5 * (freq - joint).abs().sum().item()
    bound = 3 * 0.5 * torch.sqrt(joint * (1 - joint) / n).sum().item()  # three standard deviations, summed
    assert tv < bound
    assert 0.5 * (joint - 1 / 64).abs().sum() > 0.15  # the distribution is far from uniform: a sharp test


def test_sample_honours_the_generator_and_stays_on_the_grid() -> None:
    mixture = DiscretizedLogisticMixture(4, 256)
    params = torch.randn(3, mixture.param_channels(3), 5, 5, generator=torch.Generator().manual_seed(0))
    first = mixture.sample(params, generator=torch.Generator().manual_seed(7))
    assert torch.equal(first, mixture.sample(params, generator=torch.Generator().manual_seed(7)))
    assert not torch.equal(first, mixture.sample(params, generator=torch.Generator().manual_seed(8)))
    assert first.shape == (3, 3, 5, 5) and first.min() >= 0 and first.max() <= 1
    assert torch.allclose(first * 255, (first * 255).round(), atol=1e-4)


@pytest.mark.parametrize(
    "build, pattern",
    [
        (lambda: DiscretizedLogisticMixture(0), "n_mix must be an int >= 1"),
        (lambda: DiscretizedLogisticMixture(2.5), "n_mix must be an int >= 1"),
        (lambda: DiscretizedLogisticMixture(3, levels=1), "levels must be >= 2"),
        (lambda: DiscretizedLogisticMixture(3, log_scale_min=2.0, log_scale_max=1.0), "log_scale_min must be below"),
        (lambda: DiscretizedLogisticMixture(3, log_scale_min=-math.inf), "must be finite numbers"),
        (lambda: DiscretizedLogisticMixture(3, log_scale_max=math.nan), "must be finite numbers"),
        (lambda: DiscretizedLogisticMixture(3, log_scale_min="-9"), "must be finite numbers"),
        (lambda: DiscretizedLogisticMixture(3, log_scale_min=True), "must be finite numbers"),
    ],
)
def test_bad_constructor_arguments(build, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        build()


def test_bad_parameters_and_inputs() -> None:
    mixture = DiscretizedLogisticMixture(3, 8)
    with pytest.raises(ValueError, match="fits no image"):
        mixture.log_prob(torch.zeros(1, 7, 2, 2), torch.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match=r"shape \(B, P, H, W\)"):
        mixture.split(torch.zeros(9, 2, 2))
    with pytest.raises(ValueError, match="x has shape"):
        mixture.log_prob(torch.zeros(1, 30, 2, 2), torch.zeros(1, 3, 2, 3))
    with pytest.raises(ValueError, match="needs x"):
        mixture.probs(torch.zeros(1, 30, 2, 2))
    with pytest.raises(ValueError, match="temperature 1"):
        mixture.sample(torch.zeros(1, 30, 2, 2), temperature=0.5)
    with pytest.raises(ValueError, match="likelihood has 8 levels but the model has levels=256"):
        models.PixelCNN(levels=256, hidden=8, n_layers=1, likelihood=mixture)
    with pytest.raises(ValueError, match="couples the channels of a pixel itself"):
        models.PixelCNN(in_channels=3, levels=8, hidden=12, n_layers=1, likelihood=mixture, color_groups=3)


def test_a_numpy_bound_is_taken_as_a_number() -> None:
    mixture = DiscretizedLogisticMixture(3, log_scale_min=np.float32(-8.0))
    assert mixture.log_scale_min == -8.0 and type(mixture.config()["log_scale_min"]) is float


def test_config_round_trip() -> None:
    mixture = DiscretizedLogisticMixture(5, 16, coupled=False, log_scale_min=-6.0)
    rebuilt = likelihoods.from_config(mixture.config())
    assert isinstance(rebuilt, DiscretizedLogisticMixture) and rebuilt.config() == mixture.config()
    model = models.GatedPixelCNN(in_channels=3, levels=16, hidden=6, n_layers=1, likelihood=mixture)
    again = models.from_config("gated", model.config())
    assert again.likelihood.config() == mixture.config() and again.color_groups == 3


# ----------------------------------------------------------------------------- models with the mixture


MODEL_CASES = [
    (models.PixelCNN, dict(hidden=12, n_layers=3, input_kernel_size=3)),
    (models.GatedPixelCNN, dict(hidden=9, n_layers=4, input_kernel_size=3)),
]


@pytest.mark.parametrize("coupled", [True, False])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("cls, kwargs", MODEL_CASES, ids=["pixelcnn", "gated"])
def test_models_with_the_mixture_are_causal(cls: type, kwargs: dict[str, Any], channels: int, coupled: bool) -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = cls(in_channels=channels, levels=8, likelihood=DiscretizedLogisticMixture(2, 8, coupled=coupled), **kwargs)
    assert model.color_groups == (1 if coupled else channels)
    report = rf.check_causality(model, (4, 4), n_probes=4, generator=torch.Generator().manual_seed(0))
    assert report.leaks == 0
    if cls is models.GatedPixelCNN:
        assert report.missed_past == 0, "the gated model sees every earlier sub-pixel, through the coupling for R -> G -> B"
    else:
        assert report.missed_past > 0  # the PixelCNN's blind spot


def test_sampling_a_mixture_model_is_exact_on_a_tiny_image() -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        model = models.GatedPixelCNN(in_channels=3, levels=3, hidden=6, n_layers=1, input_kernel_size=3,
                                     likelihood=DiscretizedLogisticMixture(2, 3)).eval()
    grid = torch.cartesian_prod(*[torch.arange(3)] * 6).float() / 2  # every 1x2 RGB image, (729, 6)
    images = grid.view(-1, 1, 2, 3).permute(0, 3, 1, 2).contiguous()  # (729, 3, 1, 2): pixel-major order
    with torch.no_grad():
        p = model.log_prob(images).sum((1, 2, 3)).double().exp()
    assert p.sum().item() == pytest.approx(1.0, abs=1e-5)
    n = 20000
    draws = sampling.sample(model, n, (1, 2), generator=torch.Generator().manual_seed(1))
    index = ((draws.permute(0, 2, 3, 1).reshape(n, 6) * 2).round().long() * (3 ** torch.arange(5, -1, -1))).sum(1)
    freq = torch.bincount(index, minlength=729).double() / n
    tv = 0.5 * (freq - p).abs().sum().item()
    assert tv < 3 * 0.5 * torch.sqrt(p * (1 - p) / n).sum().item()
    assert math.isfinite(tv)


def test_made_refuses_a_coupled_mixture_for_colour() -> None:
    with pytest.raises(ValueError, match="use coupled=False"):
        models.MADE(in_channels=3, levels=4, image_size=(2, 2), likelihood=DiscretizedLogisticMixture(2, 4))
    made = models.MADE(in_channels=3, levels=4, image_size=(2, 2), likelihood=DiscretizedLogisticMixture(2, 4, coupled=False))
    assert rf.check_causality(made, (2, 2), n_probes=4).causal


# ----------------------------------------------------------------------------- what goes wrong elsewhere


def test_the_naive_loss_loses_value_and_gradient_far_in_a_tail() -> None:
    mixture = DiscretizedLogisticMixture(1, 256)
    level = torch.tensor(10)  # near -1, while the component sits near +1 with a small scale
    for dtype in (torch.float32, torch.float64):
        mean = torch.tensor(0.9, dtype=dtype, requires_grad=True)
        log_scale = torch.tensor(-4.0, dtype=dtype)
        exact = mixture.log_bin_mass(level, mean, log_scale)
        naive = likelihoods.naive_log_bin_mass(level, mean, log_scale, 256)
        assert exact.item() < -90 and naive.item() == pytest.approx(math.log(1e-12), abs=1e-3)
        exact_grad = torch.autograd.grad(exact, mean)[0]
        naive_grad = torch.autograd.grad(naive, mean)[0]
        assert exact_grad.item() < -10 and abs(naive_grad.item()) < 1e-20


def test_the_naive_loss_agrees_where_probabilities_are_moderate() -> None:
    mixture = DiscretizedLogisticMixture(1, 256)
    levels = torch.arange(256)
    mean, log_scale = torch.tensor(0.1, dtype=torch.float64), torch.tensor(-1.5, dtype=torch.float64)
    torch.testing.assert_close(likelihoods.naive_log_bin_mass(levels, mean, log_scale, 256),
                               mixture.log_bin_mass(levels, mean, log_scale), atol=1e-9, rtol=1e-9)


def test_forgetting_the_edge_bins_leaves_the_sum_short_of_one() -> None:
    mixture = DiscretizedLogisticMixture(1, 256)
    levels = torch.arange(256)
    mean, log_scale = torch.tensor(0.98, dtype=torch.float64), torch.tensor(-3.0, dtype=torch.float64)
    assert mixture.log_bin_mass(levels, mean, log_scale).exp().sum().item() == pytest.approx(1.0, abs=1e-12)
    assert mixture.log_bin_mass(levels, mean, log_scale, edge_bins=False).exp().sum().item() < 0.7


@pytest.mark.parametrize("coupled", [True, False])
@pytest.mark.parametrize("channels", [1, 3])
def test_pack_is_the_inverse_of_split(coupled: bool, channels: int) -> None:
    mixture = DiscretizedLogisticMixture(4, 16, coupled=coupled)
    params = torch.randn(2, mixture.param_channels(channels), 3, 5, generator=torch.Generator().manual_seed(0),
                         dtype=torch.float64)
    assert torch.allclose(mixture.pack(*mixture.split(params)), params, atol=1e-9)


def test_pack_writes_down_a_mixture_by_hand() -> None:
    mixture = DiscretizedLogisticMixture(1, 8)
    means = torch.tensor([0.3, -0.5, 0.0]).view(1, 3, 1, 1, 1)
    log_scales = torch.tensor([-2.0, -1.0, -3.0]).view(1, 3, 1, 1, 1)
    coeffs = torch.tensor([0.5, -0.25, 0.0]).view(1, 3, 1, 1, 1)
    logits, m, s, c = mixture.split(mixture.pack(torch.zeros(1, 1, 1, 1, 1), means, log_scales, coeffs))
    assert torch.allclose(m, means) and torch.allclose(s, log_scales, atol=1e-5) and torch.allclose(c, coeffs, atol=1e-6)


def test_pack_rejects_what_split_cannot_return() -> None:
    mixture = DiscretizedLogisticMixture(2, 8)
    means, scales, logits = torch.zeros(1, 3, 2, 1, 1), torch.full((1, 3, 2, 1, 1), -2.0), torch.zeros(1, 1, 2, 1, 1)
    with pytest.raises(ValueError, match="strictly between -7.0 and 5.0"):
        mixture.pack(logits, means, torch.full_like(scales, -8.0))
    with pytest.raises(ValueError, match="coeffs must lie strictly between -1 and 1"):
        mixture.pack(logits, means, scales, torch.ones(1, 3, 2, 1, 1))
    with pytest.raises(ValueError, match="logits must have shape"):
        mixture.pack(torch.zeros(1, 3, 2, 1, 1), means, scales)
    with pytest.raises(ValueError, match="means must have shape"):
        mixture.pack(logits, torch.zeros(1, 3, 5, 1, 1), scales)


def test_a_coupled_model_runs_once_per_pixel_while_sampling() -> None:
    """With a coupled mixture the model hides the whole current pixel, so the sampler reuses one
    pass for R, G and B; with per-channel masks it must run again for every channel. The naive loop
    counts whole forward passes; the cached loop counts passes through the output head, which also
    runs once per row for the pass over whole rows."""
    calls = {}
    for coupled in (True, False):
        for cache in (False, True):
            model = models.PixelCNN(in_channels=3, levels=4, hidden=6, n_layers=1, kernel_size=3,
                                    likelihood=DiscretizedLogisticMixture(2, 4, coupled=coupled))
            count = [0]
            counted = model.head if cache else model
            counted.register_forward_hook(lambda *args, count=count: count.__setitem__(0, count[0] + 1))
            sampling.sample(model, 2, (2, 3), generator=torch.Generator().manual_seed(0), cache=cache)
            calls[coupled, cache] = count[0]
    assert calls == {(True, False): 6, (False, False): 18, (True, True): 6 + 2, (False, True): 18 + 2}


@pytest.mark.parametrize("coupled", ["no", 0, None, 1.0])
def test_coupled_must_be_a_bool(coupled: object) -> None:
    """coupled="no" used to give a coupled mixture (any non-empty string is true)."""
    with pytest.raises(TypeError, match=rf"coupled must be a bool \(True or False\), got {type(coupled).__name__}"):
        DiscretizedLogisticMixture(2, 4, coupled=coupled)  # type: ignore[arg-type]
