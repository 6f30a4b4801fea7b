"""sampling.sample_steps, the step-by-step generator (issue 28): a suspended generator leaves the process
and the model as the caller had them (threads, train/eval modes), every step still runs in eval mode on
one thread and draws what ``sample()`` draws, and ``sample()`` keeps one switch for its whole run.
Also the default image size, the model's own."""

from __future__ import annotations

import time
from typing import Iterator

import pytest
import torch

from pixelcnn_edu import models, sampling


@pytest.fixture
def two_threads() -> Iterator[None]:
    """The suite runs on one thread (conftest); the caller here has two, so a switch to one shows."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def inside_the_loop(model: torch.nn.Module) -> list[tuple[int, bool]]:
    """(threads, any module in training mode) seen by every module call, recorded into the returned list."""
    seen: list[tuple[int, bool]] = []
    for module in model.modules():  # the cached loop calls the layers, not the model's forward
        module.register_forward_hook(lambda *args: seen.append((torch.get_num_threads(), any(m.training for m in model.modules()))))
    return seen


def test_between_steps_the_caller_has_its_threads_and_modes(two_threads, make_pixelcnn) -> None:
    model = make_pixelcnn(norm="batch").train()
    seen = inside_the_loop(model)
    steps = sampling.sample_steps(model, 2, (3, 3), generator=torch.Generator().manual_seed(0))
    next(steps)
    assert seen and set(seen) == {(1, False)}  # the step ran on one thread, every module in eval mode
    assert torch.get_num_threads() == 2 and model.training and all(m.training for m in model.modules())

    # the caller changes its state between steps: the loop switches again on resume and gives back the new state
    model.input_conv.eval()
    torch.set_num_threads(3)
    seen.clear()
    next(steps)
    assert seen and set(seen) == {(1, False)}
    assert torch.get_num_threads() == 3
    assert model.training and not model.input_conv.training  # the caller's own mix of modes, kept module by module
    steps.close()
    assert torch.get_num_threads() == 3 and model.training and not model.input_conv.training


@pytest.mark.parametrize("cache", [True, False])
def test_step_by_step_draws_are_those_of_sample(cache: bool, two_threads) -> None:
    """A transformer with dropout, left in training mode between steps by a caller that also changes the
    thread count: every step still runs in eval mode, so the draws are sample()'s, draw for draw."""
    model = models.PixelTransformer(3, 4, hidden=8, n_layers=1, n_heads=2, dropout=0.5, image_size=(3, 3)).train()
    expected = sampling.sample(model, 3, generator=torch.Generator().manual_seed(5), cache=cache)
    assert model.training
    steps = sampling.sample_steps(model, 3, generator=torch.Generator().manual_seed(5), cache=cache)
    canvas = None
    for k, step in enumerate(steps):
        torch.set_num_threads(1 + k % 2)
        model.train(k % 3 == 0)
        torch.rand(1)  # the global random state is not the loop's
        canvas = step.canvas
    assert canvas is not None and torch.equal(canvas, expected)


def count_thread_switches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = torch.set_num_threads

    def counting(n: int) -> None:
        calls.append(n)
        real(n)

    monkeypatch.setattr(torch, "set_num_threads", counting)
    return calls


def test_sample_switches_once_for_the_whole_run_and_the_steps_at_every_step(monkeypatch: pytest.MonkeyPatch, make_pixelcnn) -> None:
    """Toggling the threads at each of thousands of steps cost sample() 15-40 %: only the step-by-step
    generator pays it. (Prints the two times: a benchmark, not a timed assertion.)"""
    model = make_pixelcnn(levels=4, hidden=8, n_layers=2)
    before = torch.get_num_threads()
    calls = count_thread_switches(monkeypatch)
    torch.set_num_threads(2)
    calls.clear()
    try:
        start = time.perf_counter()
        sampling.sample(model, 4, (8, 8), generator=torch.Generator().manual_seed(0))
        whole = time.perf_counter() - start
        assert calls == [1, 2]  # one switch for the run, one restore
        calls.clear()
        start = time.perf_counter()
        n_steps = sum(1 for _ in sampling.sample_steps(model, 4, (8, 8), generator=torch.Generator().manual_seed(0)))
        stepwise = time.perf_counter() - start
        assert n_steps == 64 and calls == [1, 2] * (n_steps + 1)  # around every step, and the resume that ends the loop
    finally:
        torch.set_num_threads(before)
    print(f"\nsample(): {whole * 1e3:.1f} ms for 64 steps; sample_steps, state restored at every step: {stepwise * 1e3:.1f} ms")


def test_the_default_image_size_is_the_models_own() -> None:
    """MADE and IndependentPixels are built for one size, the transformer's tables for a largest one:
    sampling defaults to it; a model without an image_size (the convolutional ones) to 28 x 28."""
    built = {
        "made": models.MADE(1, 2, image_size=(3, 4), hidden=8),
        "independent": models.IndependentPixels(1, 2, image_size=(2, 5)),
        "transformer": models.PixelTransformer(1, 2, hidden=8, n_layers=1, n_heads=2, image_size=(3, 2)),
    }
    for name, model in built.items():
        h, w = model.image_size
        generator = torch.Generator().manual_seed(0)
        assert sampling.sample(model, 2, generator=generator).shape == (2, 1, h, w), name
        assert sampling.sampling_trace(model, 2, generator=generator).frame(-1).shape == (2, 1, h, w), name
        steps = list(sampling.sample_steps(model, 1, generator=generator))
        assert len(steps) == h * w and steps[-1].canvas.shape == (1, 1, h, w), name
    pixelcnn = models.PixelCNN(1, 2, hidden=4, n_layers=1)
    steps = sampling.sample_steps(pixelcnn, 1)
    assert next(steps).canvas.shape == (1, 1, 28, 28)
    steps.close()
    # an explicit size still wins, and a wrong one is still refused by the model
    assert sampling.sample(built["transformer"], 1, (2, 2)).shape == (1, 1, 2, 2)
    with pytest.raises(ValueError, match="MADE was built for images of size"):
        sampling.sample(built["made"], 1, (4, 3))
