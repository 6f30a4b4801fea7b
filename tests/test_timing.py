"""pixelcnn_edu.timing: the loss, training-pass and sampling timers of notebooks 05–07 and the benchmarks."""

from __future__ import annotations

import pytest
import torch

from pixelcnn_edu import likelihoods, timing


def test_loss_seconds_times_a_forward_and_backward_pass() -> None:
    mixture = likelihoods.DiscretizedLogisticMixture(2, 16)
    params = torch.randn(2, mixture.param_channels(3), 4, 4)
    x = torch.randint(16, (2, 3, 4, 4)).float() / 15
    seconds = timing.loss_seconds(mixture, params, x, repeats=3)
    assert 0 < seconds < 10
    assert params.grad is None  # the caller's tensor is left alone


def test_loss_seconds_needs_a_repeat() -> None:
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        timing.loss_seconds(likelihoods.Categorical(4), torch.zeros(1, 4, 1, 1), torch.zeros(1, 1, 1, 1), repeats=0)


def test_sampling_seconds_times_both_loops_and_leaves_no_cache_open() -> None:
    from pixelcnn_edu import models

    model = models.PixelCNN(1, 2, hidden=4, n_layers=1)
    for cache in (True, False):
        seconds = timing.sampling_seconds(model, 2, (4, 4), cache=cache, steps=None if cache else 5, repeats=2)
        assert 0 < seconds < 10
    assert model.cache_state is None  # the warm-up and the timed loops closed their caches
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        timing.sampling_seconds(model, 2, (4, 4), cache=True, repeats=0)


def test_step_seconds_times_a_training_pass_and_leaves_no_gradient() -> None:
    from pixelcnn_edu import models

    model = models.PixelTransformer(1, 2, hidden=8, n_layers=1, n_heads=2, image_size=(4, 4)).eval()
    calls = []
    model.register_forward_hook(lambda module, args, out: calls.append(module.training))
    seconds = timing.step_seconds(model, torch.randint(2, (3, 1, 4, 4)).float(), repeats=2)
    assert 0 < seconds < 10
    assert calls == [True, True, True]  # one warm-up and two timed passes, in training mode
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        timing.step_seconds(model, torch.zeros(1, 1, 4, 4), repeats=0)
