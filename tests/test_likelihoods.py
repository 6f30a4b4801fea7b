"""likelihoods: the categorical softmax, its samples, temperature, and bits per dimension."""

from __future__ import annotations

import math

import pytest
import torch

from pixelcnn_edu import likelihoods, models
from pixelcnn_edu.likelihoods import Categorical


def _params(b: int, c: int, levels: int, h: int, w: int, generator: torch.Generator) -> torch.Tensor:
    return 2.0 * torch.randn(b, c * levels, h, w, generator=generator)


def test_param_channels() -> None:
    assert Categorical(4).param_channels(3) == 12
    assert Categorical(256).param_channels(1) == 256


def test_probs_sum_to_one(generator: torch.Generator) -> None:
    lik = Categorical(5)
    probs = lik.probs(_params(2, 3, 5, 3, 4, generator))
    assert probs.shape == (2, 3, 5, 3, 4)
    assert (probs >= 0).all()
    assert torch.allclose(probs.sum(2), torch.ones(2, 3, 3, 4), atol=1e-6)


def test_log_prob_matches_hand_computation(generator: torch.Generator) -> None:
    levels, c_n = 4, 2
    params = _params(2, c_n, levels, 3, 3, generator)
    x = torch.randint(levels, (2, c_n, 3, 3), generator=generator).float() / (levels - 1)
    got = Categorical(levels).log_prob(params, x)
    assert got.shape == (2, c_n, 3, 3)
    for b in range(2):
        for c in range(c_n):
            for i in range(3):
                for j in range(3):
                    logits = params[b, c * levels : (c + 1) * levels, i, j].tolist()  # block c of the layout
                    k = round(x[b, c, i, j].item() * (levels - 1))
                    expected = logits[k] - math.log(sum(math.exp(v) for v in logits))
                    assert got[b, c, i, j].item() == pytest.approx(expected, abs=1e-5)


def test_log_prob_rejects_mismatched_x(generator: torch.Generator) -> None:
    params = _params(1, 2, 4, 3, 3, generator)
    with pytest.raises(ValueError, match=r"x has shape \(1, 1, 3, 3\) but params describe \(1, 2, 3, 3\)"):
        Categorical(4).log_prob(params, torch.zeros(1, 1, 3, 3))


@pytest.mark.parametrize("shape", [(1, 5, 2, 2), (1, 4, 2), (8,)])
def test_params_with_wrong_channel_count_raise(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"params must have shape \(B, C\*4, H, W\)") as info:
        Categorical(4).probs(torch.zeros(shape))
    assert str(shape) in str(info.value)


def test_sample_frequencies_follow_probs(generator: torch.Generator) -> None:
    lik = Categorical(4)
    logits = torch.tensor([0.0, 1.0, 2.0, -1.0])
    params = logits.view(1, 4, 1, 1).expand(20000, -1, -1, -1)
    draws = lik.sample(params, generator=generator)  # (20000, 1, 1, 1)
    assert draws.shape == (20000, 1, 1, 1) and draws.dtype == torch.float32
    index = torch.round(draws.flatten() * 3).long()
    assert torch.equal(draws.flatten() * 3, index.float())  # on the grid
    freq = torch.bincount(index, minlength=4).float() / 20000
    total_variation = 0.5 * (freq - torch.softmax(logits, 0)).abs().sum().item()
    assert total_variation < 0.02


def test_sample_honours_the_generator() -> None:
    lik = Categorical(8)
    params = _params(4, 3, 8, 5, 5, torch.Generator().manual_seed(1))
    first = lik.sample(params, generator=torch.Generator().manual_seed(7))
    again = lik.sample(params, generator=torch.Generator().manual_seed(7))
    other = lik.sample(params, generator=torch.Generator().manual_seed(8))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_sample_is_per_sub_pixel(generator: torch.Generator) -> None:
    # Each channel's block of logits pins a different level: samples must follow the layout.
    levels = 3
    params = torch.full((2, 2 * levels, 2, 2), -1e4)
    params[:, 0 * levels + 2] = 0.0  # channel 0 -> level 2
    params[:, 1 * levels + 1] = 0.0  # channel 1 -> level 1
    draws = Categorical(levels).sample(params, generator=generator)
    assert torch.equal(draws[:, 0], torch.ones(2, 2, 2))
    assert torch.equal(draws[:, 1], torch.full((2, 2, 2), 0.5))


def test_temperature_near_zero_concentrates_on_argmax(generator: torch.Generator) -> None:
    lik = Categorical(4)
    params = _params(3, 1, 4, 2, 2, generator)
    argmax = params.view(3, 1, 4, 2, 2).argmax(2)
    probs = lik.probs(params, temperature=1e-3)
    assert torch.allclose(probs.max(2).values, torch.ones(3, 1, 2, 2), atol=1e-4)
    draws = lik.sample(params, temperature=1e-3, generator=generator)
    assert torch.equal(draws, argmax.float() / 3)


@pytest.mark.parametrize("temperature", [1e-45, 1e-300, 5e-324])
def test_a_temperature_too_small_for_float32_gives_the_argmax_not_nan(temperature: float, generator: torch.Generator) -> None:
    """Issue 28: logits / 1e-45 overflowed to inf and softmax gave NaN, which multinomial refused. The
    logits are shifted so the largest is 0 first: the most likely level gets everything."""
    params = _params(3, 2, 5, 2, 2, generator)
    argmax = params.view(3, 2, 5, 2, 2).argmax(2)
    for lik, p in ((Categorical(5), params), (likelihoods.DiscretizedLogisticMixture(2, 5, coupled=False), None)):
        p = params if p is not None else 3.0 * torch.randn(3, lik.param_channels(2), 2, 2, generator=generator)
        probs = lik.probs(p, temperature=temperature, x=torch.zeros(3, 2, 2, 2))
        assert torch.isfinite(probs).all()
        expected = lik.probs(p, x=torch.zeros(3, 2, 2, 2)).argmax(2)
        assert torch.equal(probs, torch.nn.functional.one_hot(expected, 5).movedim(-1, 2).float())
    draws = Categorical(5).sample(params, temperature=temperature, generator=generator)
    assert torch.equal(draws, argmax.float() / 4)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 1.7, 1e300])
def test_a_normal_temperature_raises_the_probabilities_to_one_over_t(temperature: float, generator: torch.Generator) -> None:
    params = _params(2, 1, 4, 2, 2, generator).double()
    p = Categorical(4).probs(params)
    expected = p ** (1 / temperature) / (p ** (1 / temperature)).sum(2, keepdim=True)
    torch.testing.assert_close(Categorical(4).probs(params, temperature), expected)


def test_large_temperature_flattens(generator: torch.Generator) -> None:
    lik = Categorical(4)
    params = _params(3, 1, 4, 2, 2, generator)
    assert torch.allclose(lik.probs(params, temperature=1e4), torch.full((3, 1, 4, 2, 2), 0.25), atol=1e-3)
    sharp, flat = lik.probs(params, temperature=0.5), lik.probs(params, temperature=2.0)
    plain = lik.probs(params)
    assert (sharp.max(2).values >= plain.max(2).values).all()
    assert (flat.max(2).values <= plain.max(2).values).all()


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_temperature_raises(temperature: float, generator: torch.Generator) -> None:
    lik = Categorical(2)
    params = _params(1, 1, 2, 2, 2, generator)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0, got"):
        lik.probs(params, temperature=temperature)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        lik.sample(params, temperature=temperature, generator=generator)


@pytest.mark.parametrize("levels", [1, 0, -2])
def test_levels_below_two_raise(levels: int) -> None:
    with pytest.raises(ValueError, match=rf"levels must be >= 2, got {levels}"):
        Categorical(levels)


def test_levels_must_be_int() -> None:
    with pytest.raises(TypeError, match="levels must be an int, got float"):
        Categorical(2.0)  # type: ignore[arg-type]


def test_to_level_index() -> None:
    x = torch.tensor([0.0, 1 / 3, 2 / 3, 1.0])
    assert likelihoods.to_level_index(x, 4).tolist() == [0, 1, 2, 3]
    assert likelihoods.to_level_index(torch.tensor([0.0, 1.0]), 256).tolist() == [0, 255]


@pytest.mark.parametrize("levels", [2, 4, 256])
def test_bits_per_dim_of_uniform_model_is_log2_levels(levels: int) -> None:
    lik = Categorical(levels)
    x = torch.zeros(3, 2, 4, 4)
    bpd = likelihoods.bits_per_dim(lik.log_prob(torch.zeros(3, 2 * levels, 4, 4), x))
    assert bpd.item() == pytest.approx(math.log2(levels), rel=1e-6)
    model = models.IndependentPixels(in_channels=2, levels=levels, image_size=(4, 4))  # zero logits at init
    assert likelihoods.bits_per_dim(model.log_prob(x)).item() == pytest.approx(math.log2(levels), rel=1e-6)


def test_bits_per_dim_of_an_empty_batch() -> None:
    """Issue 28: log_prob[0] of an empty batch raised an IndexError. Per image there is nothing to give; the
    mean over no image is refused by name instead of returning NaN."""
    empty = torch.zeros(0, 3, 4, 5)
    per_image = likelihoods.bits_per_dim_per_image(empty)
    assert per_image.shape == (0,)
    with pytest.raises(ValueError, match="bits_per_dim of an empty batch"):
        likelihoods.bits_per_dim(empty)


def test_bits_per_dim_by_hand() -> None:
    # Image 0 costs 1 bit per sub-pixel, image 1 costs 3 bits: the mean is 2 bits per dimension.
    log_prob = torch.empty(2, 3, 2, 2)
    log_prob[0] = -math.log(2)
    log_prob[1] = -3 * math.log(2)
    assert likelihoods.bits_per_dim(log_prob).item() == pytest.approx(2.0, rel=1e-6)
    with pytest.raises(ValueError, match=r"log_prob must have shape \(B, C, H, W\), got \(2, 3\)"):
        likelihoods.bits_per_dim(torch.zeros(2, 3))


def test_config_round_trip() -> None:
    lik = Categorical(7)
    config = lik.config()
    assert config == {"name": "categorical", "levels": 7}
    rebuilt = likelihoods.from_config(config)
    assert isinstance(rebuilt, Categorical) and rebuilt.levels == 7
    assert config == {"name": "categorical", "levels": 7}  # from_config does not consume its argument
    assert repr(rebuilt) == "Categorical(levels=7)"


@pytest.mark.parametrize("config", [{"name": "logistic", "levels": 4}, {"levels": 4}])
def test_from_config_unknown_name(config: dict) -> None:
    with pytest.raises(ValueError, match=rf"unknown likelihood {config.get('name')!r}.*categorical"):
        likelihoods.from_config(config)


def test_both_likelihoods_satisfy_the_likelihood_protocol() -> None:
    for likelihood in (Categorical(4), likelihoods.DiscretizedLogisticMixture(2, 4)):
        assert isinstance(likelihood, likelihoods.Likelihood)
    assert not isinstance("categorical", likelihoods.Likelihood)
    assert not isinstance(Categorical, likelihoods.Likelihood)  # the class, not an object
    assert isinstance(likelihoods.from_config({"name": "categorical", "levels": 3}), likelihoods.Likelihood)
