"""sampling refuses, by name, what used to reach torch's raw messages or draw off the level grid (issue 28):
a bfloat16 model (its samples fell up to 0.49 level steps off the grid), generator=0, a generator on
another device than the model; and a temperature as small as 1e-45 draws the most likely levels instead
of reaching multinomial as NaN."""

from __future__ import annotations

import pytest
import torch

from pixelcnn_edu import sampling


@pytest.fixture
def tiny(make_pixelcnn):
    return lambda: make_pixelcnn(levels=256, hidden=4, n_layers=1)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_a_16_bit_model_is_refused_before_drawing(dtype, tiny) -> None:
    with pytest.raises(ValueError, match="float32 or float64 model"):
        sampling.sample(tiny().to(dtype), 2, (4, 4))


@pytest.mark.parametrize("generator", [0, 1.5, "seed"])
def test_a_generator_that_is_no_generator_is_named(generator, tiny) -> None:
    with pytest.raises(TypeError, match="generator must be a torch.Generator or None"):
        sampling.sample(tiny(), 2, (4, 4), generator=generator)


class CudaGenerator(torch.Generator):
    """A CPU generator that says it lives on a GPU: what a CUDA generator looks like to the check."""

    device = torch.device("cuda", 0)


def test_a_generator_on_another_device_is_named(tiny) -> None:
    with pytest.raises(ValueError, match="generator is on cuda:0 but the model is on cpu"):
        sampling.sample(tiny(), 2, (4, 4), generator=CudaGenerator())


def test_completion_checks_the_same(tiny) -> None:
    x = torch.zeros(1, 1, 4, 4)
    known = torch.zeros(4, 4, dtype=torch.bool)
    known[0] = True
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        sampling.complete(tiny(), x, known, n=1, generator=0)


def test_float64_and_float32_models_still_sample_on_the_grid(tiny) -> None:
    for dtype in (torch.float32, torch.float64):
        images = sampling.sample(tiny().to(dtype), 2, (4, 4), generator=torch.Generator().manual_seed(0))
        assert torch.equal(images * 255, (images * 255).round())


@pytest.mark.parametrize("cache", [True, False])
def test_a_tiny_temperature_takes_the_most_likely_level(cache: bool, tiny) -> None:
    """``--temperature 1e-45`` passed the check, then logits / 1e-45 overflowed and multinomial failed on
    NaN. Now every draw is the argmax: two seeds give the same images, which score the most likely level."""
    model = tiny()
    first = sampling.sample(model, 2, (3, 3), temperature=1e-45, generator=torch.Generator().manual_seed(0), cache=cache)
    second = sampling.sample(model, 2, (3, 3), temperature=1e-45, generator=torch.Generator().manual_seed(1), cache=cache)
    assert torch.equal(first, second)
    with torch.no_grad():
        best = model.likelihood.probs(model(first)).argmax(2).float() / 255  # (n, C, H, W): argmax given the drawn prefix
    assert torch.equal(first, best)
    normal = sampling.sample(model, 2, (3, 3), temperature=0.7, generator=torch.Generator().manual_seed(0), cache=cache)
    assert torch.equal(normal * 255, (normal * 255).round())
