"""Profiles: which one is chosen, what the gpu profile's smoke run shrinks, and the device override."""

from __future__ import annotations

import pytest
import torch

from pixelcnn_edu import ablation, data, profiles


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (profiles.ENV_VAR, profiles.DEVICE_ENV_VAR, profiles.SMOKE_ENV_VAR):
        monkeypatch.delenv(key, raising=False)


def test_quick_without_cuda_and_gpu_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert profiles.get_profile().name == "quick" and profiles.default_device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert profiles.get_profile().name == "gpu" and profiles.default_device() == torch.device("cuda")


def test_the_environment_pins_profile_and_device_over_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv(profiles.ENV_VAR, "quick")
    monkeypatch.setenv(profiles.DEVICE_ENV_VAR, "cpu")
    assert profiles.get_profile().name == "quick"
    assert profiles.default_device() == torch.device("cpu")


def test_full_is_the_old_name_of_gpu() -> None:
    assert profiles.get_profile("full") is profiles.PROFILES["gpu"]
    assert "full" in profiles.names() and "gpu" in profiles.names()


@pytest.mark.parametrize("bad", ["fast", "GPU", "quick "])
def test_an_unknown_profile_is_named_in_the_error(bad: str) -> None:
    with pytest.raises(ValueError, match="unknown profile"):
        profiles.get_profile(bad)


def test_a_device_the_machine_lacks_or_a_bad_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv(profiles.DEVICE_ENV_VAR, "cuda")
    with pytest.raises(ValueError, match="no CUDA device"):
        profiles.default_device()
    monkeypatch.setenv(profiles.DEVICE_ENV_VAR, "gpu0")
    with pytest.raises(ValueError, match="is not a device"):
        profiles.default_device()


def test_smoke_shrinks_every_budget_and_keeps_the_model_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(profiles.SMOKE_ENV_VAR, "1")
    full, smoke = profiles.PROFILES["gpu"], profiles.get_profile("gpu")
    assert smoke.smoke and not full.smoke
    for name in ("hidden", "n_layers", "gated_hidden", "gated_layers", "pp_hidden", "pp_layers", "made_hidden",
                 "transformer_layers", "color_levels", "dataset", "color_dataset"):
        assert getattr(smoke, name) == getattr(full, name), name
    assert smoke.epochs == smoke.color_epochs == smoke.made_epochs == 1
    for name in ("train_limit", "test_limit", "mixture_train_limit", "race_train", "race_train_256", "race_test"):
        assert 0 < getattr(smoke, name) <= 32, name
    assert ablation.budget_for(smoke).epochs == 1 and ablation.budget_for(smoke).train_limit == 32
    assert ablation.budget_for(full) == ablation.GPU and ablation.budget_for(profiles.PROFILES["quick"]) == ablation.QUICK


@pytest.mark.parametrize("value", ["yes", "2", "true"])
def test_smoke_takes_only_0_or_1(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(profiles.SMOKE_ENV_VAR, value)
    with pytest.raises(ValueError, match=profiles.SMOKE_ENV_VAR):
        profiles.get_profile("quick")


def test_load_cuts_to_the_profile_limits() -> None:
    quick = profiles.PROFILES["quick"]
    assert len(quick.load("train", 2)) == len(data.load_dataset(data.EMBEDDED, "train", levels=2)) == 4500
    shrunk = quick.shrunk()
    train, test = shrunk.load("train", 2), shrunk.load("test", 4, color=True)
    assert len(train) == shrunk.train_limit and len(test) == shrunk.test_limit
    assert test.in_channels == 3 and test.levels == 4
    assert torch.equal(train.images, data.load_dataset(data.EMBEDDED, "train", levels=2).images[: shrunk.train_limit])
