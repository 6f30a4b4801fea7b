"""A second Ctrl-C never saves half a state (issue 28). Real SIGINTs are sent at the worst moments:
between two parameters of Adam's per-parameter loop, inside the EMA update, during the save that
follows the first Ctrl-C. The saved step reached every parameter or none, the average was updated
with it, the save completed, and the resumed run equals an uninterrupted one bit for bit.

Helpers and the ``reference`` run (2 epochs of 7 batches) come from tests/test_training_state.py.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, Callable

import pytest
import torch
from torch.optim.swa_utils import AveragedModel

from pixelcnn_edu import checkpoints, models, train
from test_training_state import BATCHES, EPOCHS, FIT, _once, _raise, _same_run, _signal, _training_calls, reference  # noqa: F401 (a fixture)


def _inside_adams_loop(
    monkeypatch: pytest.MonkeyPatch, after_parameters: int, action: Callable[[], None]
) -> tuple[Callable[[], None], list[int]]:
    """``(arm, fired)``: once armed, the next optimizer step runs ``action`` right after Adam has
    updated its ``after_parameters``-th parameter and before the next one (on the CPU, Adam's loop
    runs in Python, one ``param.addcdiv_`` per parameter); ``fired`` then holds that number."""
    original, armed, updates, fired = torch.Tensor.addcdiv_, [False], [0], []

    def addcdiv_(self: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        out = original(self, *args, **kwargs)
        if armed[0]:
            updates[0] += 1
            if updates[0] == after_parameters:
                armed[0] = False
                fired.append(after_parameters)
                action()
        return out

    monkeypatch.setattr(torch.Tensor, "addcdiv_", addcdiv_)
    return (lambda: armed.__setitem__(0, True)), fired


def _adam_counters(path: Path) -> set[int]:
    return {int(s["step"]) for s in checkpoints.load_checkpoint(path)["optimizer"]["state"].values()}


@pytest.mark.parametrize("batch", [3, BATCHES + 2])
def test_a_second_ctrl_c_inside_adams_loop_saves_the_whole_step(
    batch: int, reference: Path, make_pixelcnn, digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The defect: the KeyboardInterrupt left the first two parameters stepped, the others not, Adam's
    counters at (b, b, b-1, ...), and that was saved as a finished batch."""
    path, model = tmp_path / "run.pt", make_pixelcnn()
    arm, fired = _inside_adams_loop(monkeypatch, after_parameters=2, action=_signal(signal.SIGINT))
    _training_calls(model, monkeypatch, batch, lambda: (signal.raise_signal(signal.SIGINT), arm()))  # the first Ctrl-C
    with pytest.raises(KeyboardInterrupt):
        train.fit(model, digit_crops, digit_crops.subset(40), epochs=EPOCHS, checkpoint=path, **FIT)
    assert fired == [2] and len(list(model.parameters())) > 2  # the second Ctrl-C came between two parameters
    state = checkpoints.load_checkpoint(path)
    assert state["step"] == batch and state["epoch"] * BATCHES + state["training"]["batch"] == batch
    assert _adam_counters(path) == {batch}  # every parameter took the step
    monkeypatch.undo()
    train.fit(make_pixelcnn(), digit_crops, digit_crops.subset(40), epochs=EPOCHS, checkpoint=path, **FIT)
    _same_run(path, reference)


def test_an_error_inside_adams_loop_saves_nothing_of_that_step_and_says_so(
    make_pixelcnn, digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An error (not a signal, which waits) inside the step cannot be undone: the last save stays."""
    path, model = tmp_path / "run.pt", make_pixelcnn()
    arm, fired = _inside_adams_loop(monkeypatch, after_parameters=2, action=_raise(RuntimeError("CUDA error: an illegal memory access")))
    _training_calls(model, monkeypatch, 5, arm)
    with pytest.raises(RuntimeError, match="illegal memory access") as info:
        train.fit(model, digit_crops, epochs=1, checkpoint=path, checkpoint_every_batches=2, **FIT)
    assert any(f"reached only some parameters when this was raised, so the weights were not saved; {path} holds the run "
               "after epoch 0, batch 4" in note for note in getattr(info.value, "__notes__", []))
    assert fired == [2] and checkpoints.load_checkpoint(path)["step"] == 4 and _adam_counters(path) == {4}


def test_a_second_ctrl_c_inside_the_ema_update_keeps_the_average_whole(
    make_pixelcnn, digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The defect: the step counted as finished while the average had not taken it (one update short)."""
    fit = dict(FIT, ema=0.9)
    straight = tmp_path / "straight.pt"
    train.fit(make_pixelcnn(), digit_crops, epochs=EPOCHS, checkpoint=straight, **fit)
    path, model, batch = tmp_path / "run.pt", make_pixelcnn(), BATCHES + 3
    _training_calls(model, monkeypatch, batch, _signal(signal.SIGINT))
    monkeypatch.setattr(AveragedModel, "update_parameters", _once(AveragedModel.update_parameters, before=_signal(signal.SIGINT), at=batch))
    with pytest.raises(KeyboardInterrupt):
        train.fit(model, digit_crops, epochs=EPOCHS, checkpoint=path, **fit)
    state = checkpoints.load_checkpoint(path)
    assert state["step"] == batch and int(state["ema"]["n_averaged"]) == batch
    monkeypatch.undo()
    train.fit(make_pixelcnn(), digit_crops, epochs=EPOCHS, checkpoint=path, **fit)
    _same_run(path, straight)
    a, b = checkpoints.load_checkpoint(path)["ema"], checkpoints.load_checkpoint(straight)["ema"]
    assert torch.equal(a["n_averaged"], b["n_averaged"]) and all(torch.equal(a["model"][k], b["model"][k]) for k in b["model"])


@pytest.mark.parametrize("every", [None, 2], ids=["no-earlier-save", "after-a-periodic-save"])
def test_a_second_ctrl_c_during_the_save_after_the_first_lets_it_finish(
    every: int | None, reference: Path, make_pixelcnn, digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The defect: the default handler was back for that save, so the second Ctrl-C aborted it and the
    epoch's progress since the last save was lost (up to 300 s of it by default)."""
    path, model, batch = tmp_path / "run.pt", make_pixelcnn(), BATCHES + 3
    _training_calls(model, monkeypatch, batch, _signal(signal.SIGINT))
    real_save, saves = torch.save, []

    def save(*args: Any, **kwargs: Any) -> None:
        saves.append(1)
        if len(saves) == (1 if every is None else 5) + 1:  # the save on the way out, after epoch 1's (and batches 2, 4, 6, 9)
            signal.raise_signal(signal.SIGINT)
        real_save(*args, **kwargs)

    monkeypatch.setattr(checkpoints.torch, "save", save)
    with pytest.raises(KeyboardInterrupt):
        train.fit(model, digit_crops, digit_crops.subset(40), epochs=EPOCHS, checkpoint=path, checkpoint_every_batches=every, **FIT)
    state = checkpoints.load_checkpoint(path)
    assert state["step"] == batch and (state["epoch"], state["training"]["batch"]) == (1, 3)
    monkeypatch.undo()
    train.fit(make_pixelcnn(), digit_crops, digit_crops.subset(40), epochs=EPOCHS, checkpoint=path, **FIT)
    _same_run(path, reference)


def test_a_ctrl_c_during_the_save_after_an_error_lets_it_finish(
    make_pixelcnn, digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The save that keeps the finished batches after an error ran with the default handler too."""
    path, model = tmp_path / "run.pt", make_pixelcnn()
    _training_calls(model, monkeypatch, 4, _raise(RuntimeError("out of memory")))
    monkeypatch.setattr(checkpoints.torch, "save", _once(torch.save, before=_signal(signal.SIGINT)))
    with pytest.raises((RuntimeError, KeyboardInterrupt)) as info:  # a KeyboardInterrupt that escaped would end the session
        train.fit(model, digit_crops, epochs=1, checkpoint=path, **FIT)
    assert isinstance(info.value, RuntimeError) and str(info.value) == "out of memory"
    assert checkpoints.load_checkpoint(path)["step"] == 3


def test_an_interruption_after_dropout_drew_resumes_with_the_draws_of_the_batch(
    digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A second Ctrl-C (raised at once outside the step) after the forward pass drew its dropout masks:
    the file held the random state after those draws, so the resumed batch drew other masks."""
    crops = digit_crops.subset(64)

    def make() -> models.PixelCNNPlusPlus:
        torch.manual_seed(0)
        return models.PixelCNNPlusPlus(1, 2, hidden=4, n_layers=1, n_mix=1, dropout=0.5)

    kwargs = dict(epochs=2, batch_size=16, lr=1e-2, progress=False)
    straight, path = tmp_path / "straight.pt", tmp_path / "run.pt"
    train.fit(make(), crops, checkpoint=straight, **kwargs)
    model = make()
    original, calls = model.log_prob, [0]

    def log_prob(x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        out = original(x, y)
        calls[0] += 1
        if calls[0] == 6:
            raise KeyboardInterrupt
        return out

    monkeypatch.setattr(model, "log_prob", log_prob)
    with pytest.raises(KeyboardInterrupt):
        train.fit(model, crops, checkpoint=path, **kwargs)
    monkeypatch.undo()
    assert checkpoints.load_checkpoint(path)["step"] == 5
    train.fit(make(), crops, checkpoint=path, **kwargs)
    _same_run(path, straight)
