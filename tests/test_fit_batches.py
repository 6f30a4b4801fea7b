"""What fit feeds the model: every epoch a new order of the training images (the same for the same seed),
and an error inside the optimizer's step leaves a checkpoint from which the run resumes to the weights
of a run that never failed (issue 28: neither was tested)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pixelcnn_edu import data, models, train


@pytest.fixture
def digits(digits_train: data.ImageDataset) -> data.ImageDataset:
    return digits_train.subset(24)  # whole digits: each one tells itself apart from the others


def batches_seen(model: models.PixelCNN, digits: data.ImageDataset, monkeypatch: pytest.MonkeyPatch, **fit) -> list[torch.Tensor]:
    """The index in ``digits`` of every image of every training batch, in the order fit used them."""
    seen: list[torch.Tensor] = []
    flat = digits.images.flatten(1)
    original = type(model).log_prob

    def recording(self, x, y=None):
        if self.training:
            seen.append(torch.cdist(x.flatten(1).cpu(), flat).argmin(1))  # which stored image each row is
        return original(self, x, y)

    monkeypatch.setattr(type(model), "log_prob", recording)
    train.fit(model, digits, None, progress=False, **fit)
    return seen


def test_every_epoch_reshuffles_and_the_seed_fixes_the_order(digits, make_pixelcnn, monkeypatch) -> None:
    assert len({tuple(img.flatten().tolist()) for img in digits.images}) == len(digits)  # each image identifiable
    first = batches_seen(make_pixelcnn(), digits, monkeypatch, epochs=3, batch_size=8, seed=5)
    epochs = [torch.cat(first[i : i + 3]) for i in (0, 3, 6)]  # 24 images in 3 batches per epoch
    for order in epochs:
        assert sorted(order.tolist()) == list(range(24))  # every image once per epoch
    assert not torch.equal(epochs[0], epochs[1]) and not torch.equal(epochs[1], epochs[2])
    again = batches_seen(make_pixelcnn(), digits, monkeypatch, epochs=3, batch_size=8, seed=5)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    other = batches_seen(make_pixelcnn(), digits, monkeypatch, epochs=1, batch_size=8, seed=6)
    assert not torch.equal(torch.cat(other), epochs[0])


def test_an_error_inside_the_optimizer_step_saves_and_the_run_resumes_to_the_same_weights(digits, make_pixelcnn, monkeypatch, tmp_path: Path) -> None:
    fit = dict(epochs=2, batch_size=8, progress=False, seed=1)
    reference = make_pixelcnn()
    train.fit(reference, digits, digits, **fit)

    real_step, calls = torch.optim.Adam.step, [0]

    def failing_step(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 4:  # the first batch of the second epoch
            raise RuntimeError("simulated failure inside optimizer.step")
        return real_step(self, *args, **kwargs)

    path = tmp_path / "run.pt"
    monkeypatch.setattr(torch.optim.Adam, "step", failing_step)
    with pytest.raises(RuntimeError, match="simulated failure"):
        train.fit(make_pixelcnn(), digits, digits, checkpoint=path, **fit)
    monkeypatch.setattr(torch.optim.Adam, "step", real_step)
    saved = torch.load(path, weights_only=True)
    assert saved["epoch"] == 1 and saved["training"]["batch"] == 0  # the failed step is not counted
    resumed = make_pixelcnn()
    train.fit(resumed, digits, digits, checkpoint=path, **fit)
    for a, b in zip(reference.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
