"""train.fit as a state machine: an interruption at any boundary, then a resume, gives the run an
uninterrupted one gives (same weights, optimizer state, histories and step count).

The interruptions are injected where they can happen: Ctrl-C (SIGINT) or SIGTERM delivered inside a
batch, a raw KeyboardInterrupt inside a batch (a second Ctrl-C, or a thread where signals cannot be
caught), a second Ctrl-C between the optimizer step and the step counter, Ctrl-C or an error during
the end-of-epoch evaluation, and Ctrl-C during the end-of-epoch save.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch

from pixelcnn_edu import checkpoints, data, models, train

FIT = dict(batch_size=32, lr=1e-2, progress=False)  # 200 digit crops: 7 batches per epoch
BATCHES = 7
EPOCHS = 2


def _training_calls(model: torch.nn.Module, monkeypatch: pytest.MonkeyPatch, at: int, action: Callable[[], None]) -> None:
    """Run ``action`` inside the ``at``-th training-mode ``log_prob`` call (1-based), before it computes."""
    original, calls = model.log_prob, [0]

    def log_prob(x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if model.training:
            calls[0] += 1
            if calls[0] == at:
                action()
        return original(x, y)

    monkeypatch.setattr(model, "log_prob", log_prob)


def _raise(error: BaseException) -> Callable[[], None]:
    def action() -> None:
        raise error

    return action


def _signal(signum: int) -> Callable[[], None]:
    return lambda: signal.raise_signal(signum)


def _once(original: Callable[..., Any], before: Callable[[], None] | None = None, after: Callable[[], None] | None = None, at: int = 1):
    """Wrap ``original`` so that its ``at``-th call runs ``before`` (instead of it, if it raises) or ``after``."""
    calls = [0]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == at and before is not None:
            before()
        out = original(*args, **kwargs)
        if calls[0] == at and after is not None:
            after()
        return out

    return wrapper


def _same_run(a: Path, b: Path) -> None:
    """Two checkpoint files hold the same run: weights, optimizer state, position and histories."""
    x, y = checkpoints.load_checkpoint(a), checkpoints.load_checkpoint(b)
    assert (x["epoch"], x["step"], x["training"]["batch"]) == (y["epoch"], y["step"], y["training"]["batch"])
    assert all(torch.equal(x["model"][k], y["model"][k]) for k in y["model"])
    ox, oy = x["optimizer"]["state"], y["optimizer"]["state"]
    assert ox.keys() == oy.keys() and all(torch.equal(ox[k][n], oy[k][n]) for k in oy for n in oy[k])
    hx, hy = x["history"], y["history"]
    np.testing.assert_array_equal(hx["train_bpd"], hy["train_bpd"])  # NaN (no test set) equals NaN here
    np.testing.assert_array_equal(hx["test_bpd"], hy["test_bpd"])
    assert len(hx["seconds"]) == len(hy["seconds"]) == len(hx["images_per_s"]) == len(hy["images_per_s"])


@pytest.fixture
def reference(make_pixelcnn, digit_crops, tmp_path: Path) -> Path:
    path = tmp_path / "reference.pt"
    train.fit(make_pixelcnn(), digit_crops, digit_crops.subset(40), epochs=EPOCHS, checkpoint=path, **FIT)
    state = checkpoints.load_checkpoint(path)
    assert state["epoch"] == EPOCHS and state["step"] == EPOCHS * BATCHES and len(state["history"]["test_bpd"]) == EPOCHS
    return path


INSIDE_A_BATCH = {
    "sigint": (_signal(signal.SIGINT), train.TrainingInterrupted, 0),  # the batch in flight still finishes
    "sigterm": (_signal(signal.SIGTERM), train.TrainingInterrupted, 0),
    "raw-ctrl-c": (_raise(KeyboardInterrupt()), KeyboardInterrupt, -1),  # the batch in flight is dropped
    "error": (_raise(RuntimeError("out of memory")), RuntimeError, -1),
}


@pytest.mark.parametrize("kind", list(INSIDE_A_BATCH))
@pytest.mark.parametrize("batch", [3, BATCHES + 2, 2 * BATCHES])
def test_an_interruption_inside_a_batch_resumes_to_the_same_run(
    kind: str, batch: int, reference: Path, make_pixelcnn, digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    action, error, offset = INSIDE_A_BATCH[kind]
    path, model = tmp_path / "run.pt", make_pixelcnn()
    _training_calls(model, monkeypatch, batch, action)
    with pytest.raises(error):
        train.fit(model, digit_crops, digit_crops.subset(40), epochs=EPOCHS, checkpoint=path, **FIT)
    state = checkpoints.load_checkpoint(path)
    assert state["step"] == batch + offset  # every finished batch was kept, none twice
    assert state["epoch"] * BATCHES + state["training"]["batch"] == batch + offset
    monkeypatch.undo()
    train.fit(make_pixelcnn(seed=9), digit_crops, digit_crops.subset(40), epochs=EPOCHS, checkpoint=path, **FIT)
    _same_run(path, reference)


@pytest.mark.parametrize("batch", [2, BATCHES])  # in the first epoch and at its last batch
def test_a_second_ctrl_c_between_the_optimizer_step_and_the_step_counter_keeps_that_batch_once(
    batch: int, reference: Path, make_pixelcnn, digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A first Ctrl-C inside the batch, a second one just after Adam's step: the batch counts once.
    (A KeyboardInterrupt raised by code inside the step is an error like any other now: signals wait
    for the step to end, tests/test_interruptions.py.)"""
    path, model = tmp_path / "run.pt", make_pixelcnn()
    _training_calls(model, monkeypatch, batch, _signal(signal.SIGINT))
    monkeypatch.setattr(torch.optim.Adam, "step", _once(torch.optim.Adam.step, after=_signal(signal.SIGINT), at=batch))
    with pytest.raises(KeyboardInterrupt):
        train.fit(model, digit_crops, digit_crops.subset(40), epochs=EPOCHS, checkpoint=path, **FIT)
    state = checkpoints.load_checkpoint(path)
    assert state["step"] == batch and state["training"]["batch"] == batch and state["epoch"] == 0
    monkeypatch.undo()
    train.fit(make_pixelcnn(), digit_crops, digit_crops.subset(40), epochs=EPOCHS, checkpoint=path, **FIT)
    _same_run(path, reference)


@pytest.mark.parametrize("epoch", [1, EPOCHS])
@pytest.mark.parametrize("kind", ["sigint", "error"])
def test_an_interruption_during_the_evaluation_keeps_the_epoch_once(
    epoch: int, kind: str, reference: Path, make_pixelcnn, digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "run.pt"
    before = _signal(signal.SIGINT) if kind == "sigint" else _raise(ValueError("labels out of range"))
    monkeypatch.setattr(train, "evaluate", _once(train.evaluate, before=before, at=epoch))
    with pytest.raises(train.TrainingInterrupted if kind == "sigint" else ValueError):
        train.fit(make_pixelcnn(), digit_crops, digit_crops.subset(40), epochs=EPOCHS, checkpoint=path, **FIT)
    state = checkpoints.load_checkpoint(path)
    if kind == "sigint":  # the evaluation finishes, the epoch is recorded and saved
        assert state["epoch"] == epoch and state["training"]["batch"] == 0 and len(state["history"]["test_bpd"]) == epoch
    else:  # all batches of the epoch are kept; the evaluation runs again on resume
        assert state["epoch"] == epoch - 1 and state["training"]["batch"] == BATCHES
        assert len(state["history"]["train_bpd"]) == epoch - 1
    monkeypatch.undo()
    train.fit(make_pixelcnn(), digit_crops, digit_crops.subset(40), epochs=EPOCHS, checkpoint=path, **FIT)
    _same_run(path, reference)


@pytest.mark.parametrize("epoch", [1, EPOCHS])
def test_ctrl_c_during_the_end_of_epoch_save(
    epoch: int, reference: Path, make_pixelcnn, digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The defect: the resume position said "all batches of the next epoch done", so a whole epoch was
    skipped, and in the last epoch the finished run could not be exported."""
    path = tmp_path / "run.pt"
    monkeypatch.setattr(checkpoints.torch, "save", _once(torch.save, before=_raise(KeyboardInterrupt()), at=epoch))
    with pytest.raises(KeyboardInterrupt):
        train.fit(make_pixelcnn(), digit_crops, digit_crops.subset(40), epochs=EPOCHS, checkpoint=path, **FIT)
    state = checkpoints.load_checkpoint(path)
    assert state["epoch"] == epoch and state["training"]["batch"] == 0 and state["step"] == epoch * BATCHES
    monkeypatch.undo()
    train.fit(make_pixelcnn(), digit_crops, digit_crops.subset(40), epochs=EPOCHS, checkpoint=path, **FIT)
    _same_run(path, reference)
    checkpoints.export_checkpoint(path, tmp_path / "exported.pt")  # a finished run exports


def test_a_run_killed_after_a_periodic_save_resumes_from_it(
    reference: Path, make_pixelcnn, digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``checkpoint_every_batches`` saves inside the epoch; a copy of the file taken at the second
    such save stands for a process killed there (no handler runs on SIGKILL)."""
    path, snapshot, saves = tmp_path / "run.pt", tmp_path / "killed.pt", []

    def save_and_copy(*args: Any, **kwargs: Any) -> Path:
        out = checkpoints.save_checkpoint(*args, **kwargs)
        saves.append(kwargs["training"]["batch"])
        if len(saves) == 2:
            shutil.copy(out, snapshot)
        return out

    monkeypatch.setattr(train, "save_checkpoint", save_and_copy)
    train.fit(make_pixelcnn(), digit_crops, digit_crops.subset(40), epochs=EPOCHS, checkpoint=path, checkpoint_every_batches=3, **FIT)
    assert saves == [3, 6, 0] * EPOCHS  # after batches 3 and 6, and at the end of each epoch
    monkeypatch.undo()
    assert checkpoints.load_checkpoint(snapshot)["training"]["batch"] == 6
    train.fit(make_pixelcnn(), digit_crops, digit_crops.subset(40), epochs=EPOCHS, checkpoint=snapshot, **FIT)
    _same_run(snapshot, reference)


def test_dropout_draws_continue_as_in_an_uninterrupted_run(digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """PixelCNN++ with dropout draws from the global generator: its state is saved and restored."""
    crops = data.ImageDataset(digit_crops.images[:64, :, :8, :8], digit_crops.labels[:64], 2, "crops")

    def make() -> models.PixelCNNPlusPlus:
        torch.manual_seed(0)
        return models.PixelCNNPlusPlus(1, 2, hidden=4, n_layers=1, n_mix=1, dropout=0.5)

    kwargs = dict(epochs=2, batch_size=16, lr=1e-2, progress=False)
    straight = tmp_path / "straight.pt"
    model = make()
    train.fit(model, crops, checkpoint=straight, **kwargs)
    path, interrupted = tmp_path / "run.pt", make()
    _training_calls(interrupted, monkeypatch, 6, _signal(signal.SIGINT))
    with pytest.raises(train.TrainingInterrupted):
        train.fit(interrupted, crops, checkpoint=path, **kwargs)
    monkeypatch.undo()
    torch.manual_seed(123)  # whatever the global generator holds now, the resume restores the saved one
    train.fit(make(), crops, checkpoint=path, **kwargs)
    _same_run(path, straight)


def test_the_interruption_says_where_it_saved(make_pixelcnn, digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model, before = make_pixelcnn(), signal.getsignal(signal.SIGINT)  # SIG_IGN under nohup, not the default
    _training_calls(model, monkeypatch, BATCHES + 2, _signal(signal.SIGINT))
    with pytest.raises(train.TrainingInterrupted) as info:
        train.fit(model, digit_crops, epochs=EPOCHS, checkpoint=tmp_path / "run.pt", **FIT)
    err = info.value
    assert (err.reason, err.epoch, err.batch, err.checkpoint) == ("SIGINT", 1, 2, tmp_path / "run.pt")
    assert str(err) == f"stopped by SIGINT: saved to {tmp_path / 'run.pt'} after epoch 1, batch 2; run the same command to resume"
    assert len(err.history.train_bpd) == 1
    assert signal.getsignal(signal.SIGINT) is before  # the handlers are restored
    without_file = make_pixelcnn()
    _training_calls(without_file, monkeypatch, 2, _signal(signal.SIGINT))
    with pytest.raises(train.TrainingInterrupted, match="stopped after epoch 0, batch 2 \\(no checkpoint file was given\\)"):
        train.fit(without_file, digit_crops, epochs=1, **FIT)


@pytest.mark.parametrize(
    "change, label",
    [
        (dict(batch_size=16), "batch size \\(--batch-size\\) 32, this run uses 16"),
        (dict(seed=1), "seed \\(--seed\\) 0, this run uses 1"),
        (dict(subset=100), "number of training images \\(--train-limit\\) 200, this run uses 100"),
    ],
)
def test_resuming_with_other_settings_is_refused_by_name(
    change: dict[str, Any], label: str, make_pixelcnn, digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path, model = tmp_path / "run.pt", make_pixelcnn()
    _training_calls(model, monkeypatch, 3, _signal(signal.SIGINT))
    with pytest.raises(train.TrainingInterrupted):
        train.fit(model, digit_crops, epochs=1, checkpoint=path, **FIT)
    monkeypatch.undo()
    before = path.read_bytes()
    settings = dict(FIT, seed=change.get("seed", 0), batch_size=change.get("batch_size", 32))
    dataset = digit_crops.subset(change["subset"]) if "subset" in change else digit_crops
    with pytest.raises(ValueError, match=label):
        train.fit(make_pixelcnn(), dataset, epochs=1, checkpoint=path, **settings)
    assert path.read_bytes() == before
    train.fit(make_pixelcnn(), dataset, epochs=1, checkpoint=path, resume=False, **settings)  # starting over is allowed


@pytest.mark.parametrize(
    "value, message",
    [(Path("data"), "PosixPath.*store str\\(path\\)"), (np.float64(1.5), "numpy.float64"), ({"a": [1, np.int64(2)]}, "metadata\\['x'\\]\\['a'\\]\\[1\\]")],
)
def test_metadata_that_cannot_be_read_back_is_refused_before_training(
    value: Any, message: str, make_pixelcnn, digit_crops, tmp_path: Path
) -> None:
    path = tmp_path / "run.pt"
    with pytest.raises(ValueError, match=message):
        train.fit(make_pixelcnn(), digit_crops, epochs=1, checkpoint=path, metadata={"x": value}, **FIT)
    assert not path.exists()


def test_an_empty_training_set_is_refused(make_pixelcnn, digit_crops) -> None:
    """The defect: an empty training set recorded 0.0 bits/dim."""
    empty = data.ImageDataset(digit_crops.images[:0], digit_crops.labels[:0], 2, "empty")
    with pytest.raises(ValueError, match="training set 'empty' has no images"):
        train.fit(make_pixelcnn(), empty, epochs=1, **FIT)
    with pytest.raises(ValueError, match="has no images to evaluate"):
        train.evaluate(make_pixelcnn(), empty)


def test_a_float64_model_trains_on_float32_data(make_pixelcnn, digit_crops) -> None:
    model = make_pixelcnn().double()
    history = train.fit(model, digit_crops.subset(64), digit_crops.subset(32), epochs=1, **FIT)
    assert history.train_bpd[0] > 0 and history.test_bpd[0] > 0
    assert all(p.dtype == torch.float64 for p in model.parameters())


def test_resuming_an_exported_checkpoint_starts_adam_afresh(make_pixelcnn, digit_crops, tmp_path: Path) -> None:
    path = tmp_path / "run.pt"
    train.fit(make_pixelcnn(), digit_crops, epochs=1, checkpoint=path, **FIT)
    exported = checkpoints.export_checkpoint(path, tmp_path / "exported.pt")
    with pytest.warns(UserWarning, match="no optimizer state"):
        history = train.fit(make_pixelcnn(), digit_crops, epochs=2, checkpoint=exported, **FIT)
    assert len(history.train_bpd) == 2 and checkpoints.load_checkpoint(exported)["step"] == 2 * BATCHES
