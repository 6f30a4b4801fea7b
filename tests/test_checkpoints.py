"""checkpoints: the schema, integrity on load, migration of format 1, configs compared after
normalisation, metadata checked before writing, the shipped files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from pixelcnn_edu import checkpoints, data, models, train

SHIPPED = sorted(p.stem for p in checkpoints.BUNDLED_DIR.glob("*.pt"))


def _tiny() -> models.PixelCNN:
    torch.manual_seed(0)
    return models.PixelCNN(1, 2, hidden=8, n_layers=1, input_kernel_size=3)


def test_a_checkpoint_records_the_schema_and_the_versions(tmp_path: Path) -> None:
    path = checkpoints.save_checkpoint(tmp_path / "m.pt", _tiny(), epoch=2, step=5, command="pytest")
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == checkpoints.FORMAT == "pixelcnn_edu/2"
    assert set(checkpoints.REQUIRED) <= set(raw) and raw["command"] == "pytest"
    assert raw["versions"] == {"pixelcnn_edu": __import__("pixelcnn_edu").__version__, "torch": str(torch.__version__)}


def test_zeroed_bytes_inside_a_checkpoint_are_caught(tmp_path: Path) -> None:
    """The defect: 64 zeroed bytes in the weights loaded silently."""
    path = checkpoints.save_checkpoint(tmp_path / "m.pt", models.PixelCNN(1, 2, hidden=32, n_layers=2))
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 64] = bytes(64)
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="fail their CRC check|not a readable checkpoint"):
        checkpoints.load_checkpoint(path)


def test_missing_fields_and_newer_formats_are_named(tmp_path: Path) -> None:
    good = torch.load(checkpoints.save_checkpoint(tmp_path / "m.pt", _tiny()), weights_only=True)
    del good["history"]
    torch.save(good, tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="missing the checkpoint field 'history'"):
        checkpoints.load_checkpoint(tmp_path / "missing.pt")
    torch.save(dict(good, format="pixelcnn_edu/9"), tmp_path / "newer.pt")
    with pytest.raises(ValueError, match="written by a newer pixelcnn_edu"):
        checkpoints.load_checkpoint(tmp_path / "newer.pt")
    torch.save(dict(good, history={}, epoch="3"), tmp_path / "wrong.pt")
    with pytest.raises(ValueError, match="field 'epoch' should be a int, got str"):
        checkpoints.load_checkpoint(tmp_path / "wrong.pt")


def test_a_format_1_file_is_migrated(tmp_path: Path) -> None:
    model = _tiny()
    old_config = {k: v for k, v in model.config().items() if k not in ("color_groups", "color_convention", "n_classes")}
    old = {
        "format": "pixelcnn_edu/1", "name": "pixelcnn", "config": old_config, "model": model.state_dict(), "epoch": 1,
        "step": 9, "history": {"train_bpd": [0.5], "test_bpd": [0.6], "images_per_s": [10.0], "seconds": [1.0]},
        "in_epoch": {"batches": 2, "seen": 64, "total": 30.0, "seconds": 1.5}, "command": "python -m pixelcnn_edu train",
    }
    torch.save(old, tmp_path / "old.pt")
    state = checkpoints.load_checkpoint(tmp_path / "old.pt")
    assert state["format"] == checkpoints.FORMAT and state["config"] == model.config()
    assert state["training"] == {"batch": 2, "seen": 64, "loss_sum": 30.0, "seconds": 1.5, "signature": None}
    assert "in_epoch" not in state and state["command"] == "python -m pixelcnn_edu train"
    checkpoints.load_into(_tiny(), state)
    checkpoints.upgrade(tmp_path / "old.pt")
    assert torch.load(tmp_path / "old.pt", weights_only=True)["format"] == checkpoints.FORMAT


def test_a_different_configuration_names_the_differing_arguments(tmp_path: Path) -> None:
    """The defect: the message printed two configs that differed in nothing visible."""
    path = checkpoints.save_checkpoint(tmp_path / "m.pt", _tiny())
    other = models.PixelCNN(1, 2, hidden=16, n_layers=1, input_kernel_size=3)
    with pytest.raises(ValueError, match=r"different configuration \(hidden: checkpoint 8, this model 16\)"):
        checkpoints.load_into(other, path)
    with pytest.raises(ValueError, match="it holds a 'pixelcnn', this model is a 'gated'"):
        checkpoints.load_into(models.GatedPixelCNN(1, 2, hidden=4, n_layers=1), path)


@pytest.mark.parametrize("value, where", [(Path("x"), "metadata\\['root'\\] is a pathlib.PosixPath"), (np.int64(3), "numpy.int64"), ({1.5: 2}, "key of type float")])
def test_metadata_is_checked_before_anything_is_written(value, where: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=where):
        checkpoints.save_checkpoint(tmp_path / "m.pt", _tiny(), root=value)
    assert not (tmp_path / "m.pt").exists()
    with pytest.raises(ValueError, match="'optimizer' is a checkpoint field of its own"):
        checkpoints.check_metadata({"optimizer": 1})
    checkpoints.check_metadata({"command": "x", "sizes": [1, 2.5, None, True], "nested": {"a": torch.zeros(2)}})


def test_a_folder_is_not_a_checkpoint_file(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="is a folder"):
        checkpoints.save_checkpoint(tmp_path, _tiny())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoints_are_in_the_current_format_and_load_into_their_model(name: str) -> None:
    """The defect: pixelcnn_mnist and pixelcnn_colored_mnist could not be loaded into their own model."""
    path = checkpoints.bundled_checkpoint(name)
    assert torch.load(path, weights_only=True)["format"] == checkpoints.FORMAT
    model, state = train.load_model(path)
    train.load_into(*train.load_model(path))
    assert state["config"] == model.config() and state["epoch"] >= 1 and "optimizer" not in state


def test_the_shipped_checkpoints_keep_the_wheel_small() -> None:
    """Every shipped checkpoint goes into the wheel: together they stay under 20 MB."""
    sizes = {p.name: p.stat().st_size for p in checkpoints.BUNDLED_DIR.glob("*.pt")}
    assert sizes and sum(sizes.values()) < 20e6, sizes


def test_every_shipped_checkpoint_stores_the_command_that_trained_it() -> None:
    for name in SHIPPED:
        state = checkpoints.load_checkpoint(checkpoints.bundled_checkpoint(name))
        assert state["command"].startswith("python -m pixelcnn_edu train "), name
        assert f"--epochs {state['epoch']}" in state["command"] or "--epochs" not in state["command"], name


def test_a_shipped_checkpoint_resumes_and_fine_tunes(digits_train: data.ImageDataset, tmp_path: Path) -> None:
    crops = data.ImageDataset(digits_train.images[:64, :, 6:22, 6:22].contiguous(), digits_train.labels[:64], 2, "crops")
    copy = shutil.copy(checkpoints.bundled_checkpoint("pixelcnn_mnist"), tmp_path / "resume.pt")
    epochs = checkpoints.load_checkpoint(copy)["epoch"]
    model, _ = train.load_model(copy)
    with pytest.warns(UserWarning, match="no optimizer state"):
        history = train.fit(model, crops, epochs=epochs + 1, batch_size=32, progress=False, checkpoint=copy)
    assert len(history.train_bpd) == epochs + 1 and checkpoints.load_checkpoint(copy)["epoch"] == epochs + 1
    tuned, _ = train.load_model(checkpoints.bundled_checkpoint("pixelcnn_mnist"))  # fine-tune: a new run
    train.fit(tuned, crops, epochs=1, batch_size=32, progress=False, checkpoint=tmp_path / "tuned.pt")
    assert checkpoints.load_checkpoint(tmp_path / "tuned.pt")["epoch"] == 1
