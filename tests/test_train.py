"""train: a short fit that learns, checkpoints that round-trip and survive interruption, resuming."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
import torch

from pixelcnn_edu import checkpoints, data, likelihoods, models, train

FIT = dict(batch_size=32, lr=1e-2, progress=False)


def _interrupt_after(model: torch.nn.Module, monkeypatch: pytest.MonkeyPatch, n_calls: int) -> None:
    """Make the ``n_calls``-th training-mode ``model.log_prob`` call raise KeyboardInterrupt (Ctrl-C)."""
    original, calls = model.log_prob, [0]

    def log_prob(x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if model.training:
            calls[0] += 1
            if calls[0] == n_calls:
                raise KeyboardInterrupt
        return original(x, y)

    monkeypatch.setattr(model, "log_prob", log_prob)


def _same_parameters(a: torch.nn.Module, b: torch.nn.Module, atol: float = 1e-5) -> bool:
    return all(torch.allclose(p, q, atol=atol) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_short_fit_lowers_the_loss(make_pixelcnn, digit_crops: data.ImageDataset) -> None:
    model = make_pixelcnn()
    test = digit_crops.subset(64)
    before = train.evaluate(model, digit_crops)
    history = train.fit(model, digit_crops, test, epochs=2, **FIT)
    after = train.evaluate(model, digit_crops)
    assert after < before - 0.1, f"bits/dim went from {before:.3f} to {after:.3f}"
    assert len(history.train_bpd) == len(history.test_bpd) == len(history.seconds) == 2
    assert history.train_bpd[1] < history.train_bpd[0]
    assert history.test_bpd[1] == pytest.approx(train.evaluate(model, test), abs=1e-5)
    assert all(v > 0 for v in history.images_per_s)


def test_fit_with_progress_ends_with_one_plain_line(make_pixelcnn, digit_crops: data.ImageDataset, capsys) -> None:
    test = digit_crops.subset(16)
    history = train.fit(make_pixelcnn(), digit_crops.subset(32), test, epochs=2, **{**FIT, "progress": True})
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == f"trained: {history.summary()}"
    assert printed[-1].startswith("trained: 2 epochs in ") and printed[-1].endswith(f"test bits/dim {history.test_bpd[-1]:.3f}")
    assert "test bits/dim" not in train.fit(make_pixelcnn(), digit_crops.subset(32), epochs=1, **FIT).summary()
    assert train.History().summary() == "no epoch finished yet"


def test_evaluate_is_bits_per_dim_in_eval_mode(make_pixelcnn, digit_crops: data.ImageDataset) -> None:
    model = make_pixelcnn(norm="batch").train()
    got = train.evaluate(model, digit_crops, batch_size=48)  # uneven last batch
    assert model.training  # restored
    with torch.no_grad():
        expected = likelihoods.bits_per_dim(model.eval().log_prob(digit_crops.images)).item()
    assert got == pytest.approx(expected, abs=1e-5)


def test_fit_without_test_set_records_nan(make_pixelcnn, digit_crops: data.ImageDataset) -> None:
    history = train.fit(make_pixelcnn(), digit_crops.subset(32), epochs=1, **FIT)
    assert len(history.test_bpd) == 1 and history.test_bpd[0] != history.test_bpd[0]  # NaN


def test_dataset_levels_mismatch_raises(make_pixelcnn, digit_crops: data.ImageDataset) -> None:
    four_levels = data.ImageDataset(digit_crops.images, digit_crops.labels, 4, "four")
    with pytest.raises(ValueError, match="dataset 'four' has 4 levels but the model has 2"):
        train.fit(make_pixelcnn(levels=2), four_levels, epochs=1, **FIT)
    with pytest.raises(ValueError, match="has 4 levels"):
        train.fit(make_pixelcnn(levels=2), digit_crops, four_levels, epochs=1, **FIT)
    with pytest.raises(ValueError, match="epochs must be >= 0, got -1"):
        train.fit(make_pixelcnn(), digit_crops, epochs=-1, **FIT)


def test_checkpoint_round_trip(make_pixelcnn, make_images, tmp_path: Path) -> None:
    model = make_pixelcnn(in_channels=3, levels=4, hidden=24, norm="layer", dilations=[1, 2])
    x = make_images(n=2, channels=3, size=(5, 6), levels=4)
    path = train.save_checkpoint(tmp_path / "sub" / "model.pt", model, epoch=3, note="hello")
    assert path == tmp_path / "sub" / "model.pt"
    raw = torch.load(path, map_location="cpu", weights_only=True)  # a plain, safe dict
    assert raw["format"] == checkpoints.FORMAT and raw["name"] == "pixelcnn"
    assert raw["config"] == model.config() and raw["epoch"] == 3 and raw["note"] == "hello"
    assert "input_conv.mask" not in raw["model"]  # masks are rebuilt, never loaded

    loaded, state = train.load_model(path)
    assert not loaded.training and state["epoch"] == 3
    model.eval()
    assert torch.equal(loaded.log_prob(x), model.log_prob(x))

    other = make_pixelcnn(seed=1, in_channels=3, levels=4, hidden=24, norm="layer", dilations=[1, 2]).eval()
    assert not torch.equal(other.log_prob(x), model.log_prob(x))
    train.load_into(other, str(path))
    assert torch.equal(other.log_prob(x), model.log_prob(x))


@pytest.mark.parametrize(
    "other",
    [
        lambda: models.PixelCNN(in_channels=1, levels=2, hidden=16, n_layers=2, kernel_size=3, input_kernel_size=3),
        lambda: models.MADE(in_channels=1, levels=2, image_size=(8, 8), hidden=8),
    ],
    ids=["other-config", "other-class"],
)
def test_loading_into_another_model_raises(other: Callable[[], Any], make_pixelcnn, tmp_path: Path) -> None:
    path = train.save_checkpoint(tmp_path / "model.pt", make_pixelcnn())
    with pytest.raises(ValueError, match="checkpoint belongs to another model"):
        train.load_into(other(), path)


def test_bad_files_raise_value_error(make_pixelcnn, tmp_path: Path) -> None:
    good = train.save_checkpoint(tmp_path / "good.pt", make_pixelcnn())
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint\n" * 20)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    for path in (truncated, garbage):
        with pytest.raises(ValueError, match="is not a readable checkpoint"):
            train.load_model(path)
    with pytest.raises(ValueError, match="is not a pixelcnn_edu checkpoint"):
        train.load_checkpoint(foreign)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        train.load_model(tmp_path / "missing.pt")


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_interrupted_save_keeps_the_previous_checkpoint(
    error: BaseException, make_pixelcnn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = train.save_checkpoint(tmp_path / "model.pt", make_pixelcnn(), epoch=1)
    before = path.read_bytes()

    def save_half_then_fail(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        part = before[: len(before) // 3]  # a partial write, then the crash
        f.write(part) if hasattr(f, "write") else Path(f).write_bytes(part)
        raise error

    monkeypatch.setattr(checkpoints.torch, "save", save_half_then_fail)
    with pytest.raises(type(error)):
        train.save_checkpoint(path, make_pixelcnn(seed=1), epoch=2)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary file left behind
    assert train.load_checkpoint(path)["epoch"] == 1


def test_resume_continues_and_matches_an_uninterrupted_run(make_pixelcnn, digit_crops, tmp_path: Path) -> None:
    # A finished run extended to more epochs: with the cosine schedule the rate depends on the total
    # number of epochs (so does the warm-up), so only a constant rate makes "1 then 2 epochs" the same run as "2 epochs".
    path, fit = tmp_path / "run.pt", dict(FIT, schedule="constant", warmup=0.0)
    first = train.fit(make_pixelcnn(), digit_crops, epochs=1, checkpoint=path, **fit)
    assert len(first.train_bpd) == 1 and train.load_checkpoint(path)["epoch"] == 1

    resumed_model = make_pixelcnn(seed=5)  # its own weights are replaced by the checkpoint's
    resumed = train.fit(resumed_model, digit_crops, epochs=2, checkpoint=path, **fit)
    assert len(resumed.train_bpd) == 2
    assert resumed.train_bpd[0] == first.train_bpd[0]
    state = train.load_checkpoint(path)
    assert state["epoch"] == 2 and state["step"] == 2 * 7  # 200 images in batches of 32
    assert state["dataset"] == "digit-crops" and state["image_size"] == [8, 8]

    straight_model = make_pixelcnn()
    straight = train.fit(straight_model, digit_crops, epochs=2, **fit)
    assert resumed.train_bpd == pytest.approx(straight.train_bpd, abs=1e-5)
    assert _same_parameters(resumed_model, straight_model)

    again = train.fit(resumed_model, digit_crops, epochs=2, checkpoint=path, **FIT)  # already done
    assert again.train_bpd == resumed.train_bpd
    assert _same_parameters(resumed_model, straight_model)


def test_resume_false_starts_over(make_pixelcnn, digit_crops, tmp_path: Path) -> None:
    path = tmp_path / "run.pt"
    train.fit(make_pixelcnn(), digit_crops.subset(64), epochs=1, checkpoint=path, **FIT)
    history = train.fit(make_pixelcnn(), digit_crops.subset(64), epochs=1, checkpoint=path, resume=False, **FIT)
    assert len(history.train_bpd) == 1
    assert train.load_checkpoint(path)["step"] == 2


def test_metadata_is_stored(make_pixelcnn, digit_crops, tmp_path: Path) -> None:
    path = tmp_path / "run.pt"
    train.fit(make_pixelcnn(), digit_crops.subset(32), epochs=1, checkpoint=path, metadata={"command": "pytest"}, **FIT)
    assert train.load_checkpoint(path)["command"] == "pytest"


def test_keyboard_interrupt_saves_and_reraises(
    make_pixelcnn, digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "run.pt"
    train.fit(make_pixelcnn(), digit_crops, epochs=1, checkpoint=path, **FIT)
    model = make_pixelcnn()
    _interrupt_after(model, monkeypatch, n_calls=2)  # Ctrl-C on the second batch of epoch 2
    with pytest.raises(KeyboardInterrupt):
        train.fit(model, digit_crops, epochs=3, checkpoint=path, **FIT)
    state = train.load_checkpoint(path)
    assert state["epoch"] == 1  # only finished epochs count
    assert len(state["history"]["train_bpd"]) == 1
    assert state["step"] == 7 + 1  # the one step taken in epoch 2 before Ctrl-C
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]


def test_keyboard_interrupt_in_the_first_epoch_saves(
    make_pixelcnn, digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "run.pt"
    model = make_pixelcnn()
    _interrupt_after(model, monkeypatch, n_calls=3)
    with pytest.raises(KeyboardInterrupt):
        train.fit(model, digit_crops, epochs=2, checkpoint=path, **FIT)
    state = train.load_checkpoint(path)
    assert state["epoch"] == 0 and state["step"] == 2 and state["history"]["train_bpd"] == []


def test_resume_after_keyboard_interrupt_matches_an_uninterrupted_run(
    make_pixelcnn, digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "run.pt"
    interrupted = make_pixelcnn()
    _interrupt_after(interrupted, monkeypatch, n_calls=7 + 3)  # Ctrl-C inside epoch 2
    with pytest.raises(KeyboardInterrupt):
        train.fit(interrupted, digit_crops, epochs=2, checkpoint=path, **FIT)
    resumed = make_pixelcnn()
    train.fit(resumed, digit_crops, epochs=2, checkpoint=path, **FIT)
    straight = make_pixelcnn()
    train.fit(straight, digit_crops, epochs=2, **FIT)
    assert _same_parameters(resumed, straight)


def test_bundled_checkpoint_unknown_name() -> None:
    with pytest.raises(FileNotFoundError, match="no bundled checkpoint 'no-such-model'"):
        train.bundled_checkpoint("no-such-model")


def test_export_checkpoint_drops_the_optimizer_and_still_loads(tmp_path) -> None:
    model = models.PixelCNN(levels=2, hidden=4, n_layers=1)
    optimizer = torch.optim.Adam(model.parameters())
    train.save_checkpoint(tmp_path / "run.pt", model, optimizer=optimizer, epoch=3, command="python -m ...")
    exported = train.export_checkpoint(tmp_path / "run.pt", tmp_path / "shipped" / "model.pt")
    state = train.load_checkpoint(exported)
    assert "optimizer" not in state and state["epoch"] == 3 and state["command"] == "python -m ..."
    loaded, _ = train.load_model(exported)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))


def test_export_checkpoint_refuses_a_run_stopped_mid_epoch(tmp_path) -> None:
    model = models.PixelCNN(levels=2, hidden=4, n_layers=1)
    train.save_checkpoint(tmp_path / "run.pt", model, training={"batch": 3})
    with pytest.raises(ValueError, match="middle of an epoch"):
        train.export_checkpoint(tmp_path / "run.pt", tmp_path / "out.pt")


def test_a_diverging_run_stops_naming_the_batch_and_what_to_try(make_pixelcnn, digit_crops, tmp_path: Path) -> None:
    """The defect: lr 1e4 trained on (to 1e29 bits/dim here, NaN weights on larger runs) and saved
    what it had; a NaN loss was stepped on and its NaN weights saved over the last good checkpoint."""
    with pytest.raises(ValueError, match=r"training diverged in epoch 1, batch \d+: its (loss|gradient norm) is (nan|inf)") as info:
        train.fit(make_pixelcnn(), digit_crops, epochs=3, batch_size=32, lr=1e4, progress=False, checkpoint=tmp_path / "a.pt")
    assert isinstance(info.value, train.TrainingDiverged) and "Try a lower lr (this run: 10000) or a smaller clip_grad" in str(info.value)
    assert "\n" not in str(info.value)

    model, path, calls = make_pixelcnn(), tmp_path / "b.pt", [0]
    original = model.log_prob

    def nan_at_batch_4(x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        calls[0] += 1
        return original(x, y) * (float("nan") if calls[0] == 4 else 1.0)

    model.log_prob = nan_at_batch_4
    with pytest.raises(ValueError) as info:
        train.fit(model, digit_crops, epochs=1, checkpoint=path, checkpoint_every_batches=1, clip_grad=None, **FIT)
    message = str(info.value)
    assert message.startswith("training diverged in epoch 1, batch 4: its loss is nan, so its step was not taken. Try a lower lr")
    assert "gradient clipping (clip_grad=1.0, --clip-grad 1)" in message and message.endswith(f"{path} holds the run after epoch 0, batch 3")
    state = train.load_checkpoint(path)
    assert state["step"] == 3 and all(torch.isfinite(w).all() for w in state["model"].values())
    assert all(torch.isfinite(p).all() for p in model.parameters())  # the step on the NaN batch was not taken


def test_an_unwritable_checkpoint_or_an_empty_test_set_is_refused_before_training(make_pixelcnn, digit_crops, tmp_path: Path) -> None:
    """The defect: both came out after a whole epoch of training (a FileExistsError from mkdir, or
    evaluate's "no images to evaluate")."""
    model, calls = make_pixelcnn(), [0]
    original = model.log_prob
    model.log_prob = lambda x, y=None: (calls.__setitem__(0, calls[0] + 1), original(x, y))[1]
    (tmp_path / "file").write_text("not a folder")
    empty = data.ImageDataset(digit_crops.images[:0], digit_crops.labels[:0], 2, "empty")
    with pytest.raises(NotADirectoryError, match=f"the checkpoint {tmp_path / 'file' / 'sub' / 'run.pt'} cannot be written: {tmp_path / 'file'} is not a folder"):
        train.fit(model, digit_crops, epochs=1, checkpoint=tmp_path / "file" / "sub" / "run.pt", **FIT)
    with pytest.raises(IsADirectoryError, match="is a folder; give a checkpoint file name"):
        train.fit(model, digit_crops, epochs=1, checkpoint=tmp_path, **FIT)
    with pytest.raises(ValueError, match="test set 'empty' has no images to evaluate; give test=None to train without one"):
        train.fit(model, digit_crops, empty, epochs=1, **FIT)
    assert calls[0] == 0  # not one batch was trained
