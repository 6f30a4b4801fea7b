"""train.fit and train.evaluate refuse bad arguments by name, before any training: a wrong type is a
TypeError, a value out of range a ValueError. Each of these was accepted before (issue 28): clip_grad=-1
trained uphill, clip_grad=0 trained nothing, nan saved NaN weights, lr=True and clip_grad="1" passed."""

from __future__ import annotations

import math

import pytest
import torch

from pixelcnn_edu import train


BAD_FIT = [
    ("clip_grad", -1.0, ValueError, "clip_grad must be a finite number > 0"),
    ("clip_grad", 0.0, ValueError, r"None: no clipping"),
    ("clip_grad", math.nan, ValueError, "clip_grad must be a finite number > 0"),
    ("clip_grad", math.inf, ValueError, "clip_grad"),
    ("clip_grad", "1", TypeError, "clip_grad must be a number, got str"),
    ("clip_grad", True, TypeError, "clip_grad must be a number, got bool"),
    ("lr", True, TypeError, "lr must be a number, got bool"),
    ("lr", "1e-3", TypeError, "lr must be a number"),
    ("lr", 0.0, ValueError, "lr must be a finite number > 0"),
    ("lr", math.nan, ValueError, "lr"),
    ("epochs", 1.5, TypeError, "epochs must be an int"),
    ("epochs", True, TypeError, "epochs must be an int"),
    ("epochs", -1, ValueError, "epochs must be >= 0"),
    ("batch_size", 0, ValueError, "batch_size must be >= 1"),
    ("batch_size", 8.0, TypeError, "batch_size must be an int"),
    ("seed", -1, ValueError, "seed must be >= 0"),
    ("seed", 0.5, TypeError, "seed must be an int"),
    ("seed", None, TypeError, "seed must be an int"),
    ("progress", "no", TypeError, "progress must be a bool"),
    ("resume", 1, TypeError, "resume must be a bool"),
    ("checkpoint_every_seconds", 0, ValueError, "checkpoint_every_seconds"),
    ("checkpoint_every_seconds", "300", TypeError, "checkpoint_every_seconds must be a number"),
]


@pytest.mark.parametrize(("name", "value", "error", "message"), BAD_FIT, ids=[f"{n}={v!r}" for n, v, *_ in BAD_FIT])
def test_fit_refuses_a_bad_argument_before_training(few_crops, make_pixelcnn, name, value, error, message) -> None:
    model = make_pixelcnn()
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(error, match=message):
        train.fit(model, few_crops, few_crops, **{"progress": False, name: value})
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # nothing trained


@pytest.mark.parametrize("where", ["train", "test"])
def test_a_tensor_passed_as_a_dataset_gets_a_named_error(few_crops, make_pixelcnn, where) -> None:
    sets = {"train": few_crops, "test": few_crops, where: few_crops.images}
    with pytest.raises(TypeError, match=f"{where} must be a data.ImageDataset"):
        train.fit(make_pixelcnn(), sets["train"], sets["test"], progress=False)


def test_clipping_stays_available_and_none_turns_it_off(few_crops, make_pixelcnn) -> None:
    for clip in (None, 0.5, 1):
        history = train.fit(make_pixelcnn(), few_crops, few_crops, epochs=1, batch_size=8, clip_grad=clip, progress=False)
        assert math.isfinite(history.test_bpd[-1])


BAD_EVALUATE = [
    ("batch_size", 0, ValueError, "batch_size must be >= 1"),
    ("batch_size", "256", TypeError, "batch_size must be an int"),
    ("per_image", "yes", TypeError, "per_image must be a bool"),
    ("progress", None, TypeError, "progress must be a bool"),
]


@pytest.mark.parametrize(("name", "value", "error", "message"), BAD_EVALUATE, ids=[f"{n}={v!r}" for n, v, *_ in BAD_EVALUATE])
def test_evaluate_refuses_a_bad_argument(few_crops, make_pixelcnn, name, value, error, message) -> None:
    with pytest.raises(error, match=message):
        train.evaluate(make_pixelcnn(), few_crops, **{name: value})


def test_evaluate_names_a_tensor_passed_as_the_dataset(few_crops, make_pixelcnn) -> None:
    with pytest.raises(TypeError, match="dataset must be a data.ImageDataset"):
        train.evaluate(make_pixelcnn(), few_crops.images)
