"""A resumed fit must be the same run: other step settings are refused by name, and a finished run says
so instead of returning as if it had trained (issue 28: a re-run cell with another learning rate
returned in 1.7 s having trained nothing); another training set of the same name and size is refused
by a hash of its content, files from before that hash keep resuming."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pixelcnn_edu import data, train


BASE = dict(epochs=1, batch_size=8, lr=1e-3, progress=False)


@pytest.mark.parametrize(("change", "label"), [
    (dict(lr=2e-3), "learning rate"),
    (dict(clip_grad=None), "gradient clipping"),
    (dict(schedule="cosine"), "learning-rate schedule"),
    (dict(warmup=0.5), "warm-up"),
    (dict(ema=0.9), "EMA decay"),
    (dict(mixed_precision=True), "mixed precision"),
], ids=["lr", "clip_grad", "schedule", "warmup", "ema", "mixed_precision"])
def test_a_resume_with_another_step_setting_is_refused_by_name(few_crops, make_pixelcnn, tmp_path: Path, change, label) -> None:
    path = tmp_path / "run.pt"
    train.fit(make_pixelcnn(), few_crops, few_crops, checkpoint=path, **BASE)
    with pytest.raises(ValueError, match=f"was trained with {label}"):
        train.fit(make_pixelcnn(), few_crops, few_crops, checkpoint=path, **{**BASE, "epochs": 2, **change})


def test_a_finished_run_says_so_and_trains_nothing(few_crops, make_pixelcnn, tmp_path: Path) -> None:
    path = tmp_path / "run.pt"
    first = train.fit(make_pixelcnn(), few_crops, few_crops, checkpoint=path, **BASE)
    model = make_pixelcnn()
    with pytest.warns(UserWarning, match="holds a finished run of 1 epoch"):
        again = train.fit(model, few_crops, few_crops, checkpoint=path, **BASE)
    assert again.test_bpd == first.test_bpd
    with pytest.warns(UserWarning, match="another checkpoint path or resume=False"):
        train.fit(make_pixelcnn(), few_crops, few_crops, checkpoint=path, **BASE)


def test_the_same_settings_still_resume_and_train_longer(few_crops, make_pixelcnn, tmp_path: Path) -> None:
    path = tmp_path / "run.pt"
    train.fit(make_pixelcnn(), few_crops, few_crops, checkpoint=path, **BASE)
    longer = train.fit(make_pixelcnn(), few_crops, few_crops, checkpoint=path, **{**BASE, "epochs": 2})
    assert len(longer.test_bpd) == 2


def test_another_training_set_of_the_same_name_and_size_is_refused(few_crops, make_pixelcnn, tmp_path: Path) -> None:
    """The defect: the signature compared only the name and the number of images."""
    path = tmp_path / "run.pt"
    train.fit(make_pixelcnn(), few_crops, few_crops, checkpoint=path, **BASE)
    flipped = data.ImageDataset(1.0 - few_crops.images, few_crops.labels, few_crops.levels, few_crops.name)  # same name, same length
    relabelled = data.ImageDataset(few_crops.images, (few_crops.labels + 1) % 10, few_crops.levels, few_crops.name)
    for other in (flipped, relabelled):
        with pytest.raises(ValueError, match="was trained with training data whose images and labels hash to '[0-9a-f]{16}', "
                                             "this run uses '[0-9a-f]{16}'"):
            train.fit(make_pixelcnn(), other, few_crops, checkpoint=path, **{**BASE, "epochs": 2})
    same = data.ImageDataset(few_crops.images.clone(), few_crops.labels.clone(), few_crops.levels, few_crops.name)
    assert train.data_hash(same) == train.data_hash(few_crops) != train.data_hash(flipped)
    assert len(train.fit(make_pixelcnn(), same, few_crops, checkpoint=path, **{**BASE, "epochs": 2}).test_bpd) == 2
    older = torch.load(path, weights_only=True)  # a file from before the hash was recorded cannot tell: it resumes
    del older["training"]["signature"]["data_hash"]
    torch.save(older, path)
    assert len(train.fit(make_pixelcnn(), flipped, few_crops, checkpoint=path, **{**BASE, "epochs": 3}).test_bpd) == 3


def test_a_file_from_before_the_settings_were_recorded_resumes_on_the_old_checks() -> None:
    stored = {"batch_size": 8, "seed": 0, "dataset": "d", "n_train": 16}
    current = {**stored, "lr": 5e-3, "clip_grad": 1.0, "schedule": "constant", "warmup": 0.0, "ema": None, "mixed_precision": False,
               "data_hash": "0123456789abcdef"}
    train.check_signature(stored, current, "old.pt", batch=0)  # no error: the old file cannot say its lr
    with pytest.raises(ValueError, match="batch size"):
        train.check_signature(stored, {**current, "batch_size": 16}, "old.pt", batch=0)
