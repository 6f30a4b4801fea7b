"""The paper-scale recipes: the table, the models, the stochastic binarisation, a shortened run that
resumes, and clear errors. No full dataset is read: the loader is replaced by embedded digits."""

from __future__ import annotations

import math
import re

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from pixelcnn_edu import cli, data, reproduce, train
from pixelcnn_edu.likelihoods import bits_per_dim

PARAMETERS = {  # the recipes' models must not change unnoticed
    "uva-gated-mnist256": 647_488,
    "pixelcnn-binarized-mnist": 53_602,
    "gated-binarized-mnist": 3_736_962,
    "pixelcnn++-cifar10": 53_618_660,
}


@pytest.fixture
def small_data(monkeypatch):
    """Replace the full-dataset loader: the embedded digits (64 train, 16 test), named as the real set;
    records every call as (name, split, levels, root)."""
    calls = []

    def load(name, split, levels, root):
        calls.append((name, split, levels, str(root)))
        ds = data.load_dataset(data.EMBEDDED, split, levels).subset(64 if split == "train" else 16)
        return data.ImageDataset(ds.images, ds.labels, levels, name)

    monkeypatch.setattr(reproduce, "_load_split", load)
    return calls


def test_list_prints_every_recipe_and_its_published_figure(capsys):
    assert cli.main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    for name, recipe in reproduce.RECIPES.items():
        assert re.search(rf"^{re.escape(name)}\s+{re.escape(str(recipe.published))}\s", out, re.M)
    assert "81.30 nats/image" in out and "0.808 bits/dim" in out and "2.92 bits/dim" in out
    assert "estimate, not a measurement" in out


@pytest.mark.parametrize("name", list(reproduce.RECIPES))
def test_each_model_builds_and_the_table_prints_its_parameters_and_flops(name):
    recipe = reproduce.RECIPES[name]
    model = reproduce.build_model(recipe)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == PARAMETERS[name]
    x = torch.zeros(1, *recipe.shape)  # counted here independently: forward + backward of one image
    with FlopCounterMode(display=False) as counter:
        bits_per_dim(model.train().log_prob(x)).backward()
    row = next(line for line in reproduce.list_table().splitlines() if line.startswith(name + " "))
    params_text, gflop_text, epochs_text = row.split()[-5:-2]  # ... params GFLOP epochs time unit
    assert params_text == f"{n_params:,}"
    assert gflop_text == f"{counter.get_total_flops() / 1e9:.2f}"
    assert int(epochs_text) == recipe.epochs
    cost = reproduce.cost(recipe)
    assert cost.train_flop == counter.get_total_flops() and cost.eval_flop < cost.train_flop / 2
    assert math.isclose(cost.seconds("H100"), cost.epoch_flop * recipe.epochs / 50e12)


def test_the_models_are_the_documented_shapes():
    uva = reproduce.build_model(reproduce.RECIPES["uva-gated-mnist256"]).config()
    assert (uva["hidden"], uva["n_layers"], uva["dilations"], uva["skips"], uva["input_kernel_size"]) == (64, 7, [1, 2, 1, 4, 1, 2, 1], False, 3)
    pp = reproduce.build_model(reproduce.RECIPES["pixelcnn++-cifar10"]).config()
    assert (pp["hidden"], pp["n_layers"], pp["n_mix"], pp["dropout"], pp["levels"]) == (160, 5, 10, 0.5, 256)
    for name in ("pixelcnn-binarized-mnist", "gated-binarized-mnist"):
        assert reproduce.build_model(reproduce.RECIPES[name]).levels == 2


def test_stochastic_binarisation_is_seeded_and_keeps_the_grey_mean():
    grey = data.load_dataset(data.EMBEDDED, "train", 256)
    first, again = reproduce.binarized(grey, seed=0), reproduce.binarized(grey, seed=0)
    assert torch.equal(first.images, again.images) and first.levels == 2 and first.name == "mnist-embedded-bernoulli-seed0"
    assert set(first.images.unique().tolist()) == {0.0, 1.0}
    assert not torch.equal(first.images, reproduce.binarized(grey, seed=1).images)
    assert abs(first.images.mean().item() - grey.images.mean().item()) < 2e-3  # E[Bernoulli(x)] = x
    # Thresholding keeps about the same mean but other images: 2-3% of all pixels differ, each a coin
    # flip the model must pay for, so threshold scores are lower and not comparable.
    assert (first.images != data.binarize(grey.images)).float().mean() > 0.02
    grey_pixels = (grey.images > 0.2) & (grey.images < 0.8)
    assert 0.3 < first.images[grey_pixels].mean().item() < 0.7  # grey pixels come out either way
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        data.stochastic_binarize(torch.full((1, 1, 2, 2), 2.0))


def test_load_data_binarises_train_and_test_with_their_own_seeds(small_data, tmp_path):
    train_set, test_set = reproduce.load_data(reproduce.RECIPES["gated-binarized-mnist"], root=tmp_path)
    assert small_data == [("mnist", "train", 256, str(tmp_path)), ("mnist", "test", 256, str(tmp_path))]
    assert (train_set.name, test_set.name) == ("mnist-bernoulli-seed0", "mnist-bernoulli-seed1")
    assert train_set.levels == test_set.levels == 2


def test_a_shortened_run_writes_a_checkpoint_and_the_same_command_resumes_it(small_data, tmp_path, capsys):
    out = tmp_path / "run.pt"
    command = ["reproduce", "pixelcnn-binarized-mnist", "--epochs", "1", "--train-limit", "32", "--out", str(out),
               "--device", "cpu", "--data-root", str(tmp_path), "--no-progress"]
    assert cli.main(command) == 0
    printed = capsys.readouterr().out
    assert "SHORTENED RUN (epochs 1 instead of 457, training images 32 instead of 50,000)" in printed
    assert re.search(r"SHORTENED RUN, not comparable: pixelcnn-binarized-mnist: test [\d.]+ nats/image", printed)
    state = train.load_checkpoint(out)
    assert (state["epoch"], state["step"], state["recipe"]) == (1, 1, "pixelcnn-binarized-mnist")
    assert state["shortened"] == {"epochs": 1, "training images": 32}
    assert state["command"] == "python -m pixelcnn_edu " + " ".join(command)
    assert "--device cpu" in state["train_command"] and state["dataset"] == "mnist-bernoulli-seed0"
    assert (state["config"]["hidden"], state["config"]["n_layers"], state["config"]["levels"]) == (32, 15, 2)
    assert small_data[0][3] == str(tmp_path)  # --data-root reached the loader

    assert cli.main(command) == 0  # the same command: the run is finished, nothing starts over
    assert "resuming from" in capsys.readouterr().out
    again = train.load_checkpoint(out)
    assert (again["epoch"], again["step"]) == (1, 1) and torch.equal(again["model"]["input_conv.weight"], state["model"]["input_conv.weight"])

    longer = [a if a != "1" else "2" for a in command]  # --epochs 2 continues the same run
    assert cli.main(longer) == 0
    resumed = train.load_checkpoint(out)
    assert (resumed["epoch"], resumed["step"]) == (2, 2) and resumed["history"]["test_bpd"][0] == state["history"]["test_bpd"][0]


def test_the_run_trains_the_recipes_model_with_its_overrides(small_data, tmp_path, capsys):
    out = tmp_path / "uva.pt"
    assert cli.main(["reproduce", "uva-gated-mnist256", "--epochs", "1", "--train-limit", "8", "--out", str(out),
                     "--device", "cpu", "--no-progress"]) == 0
    state = train.load_checkpoint(out)
    assert state["config"]["skips"] is False and state["config"]["skip_channels"] == 64
    assert state["model_overrides"] == {"skips": False, "skip_channels": 64}
    assert sum(v.numel() for k, v in state["model"].items()) == PARAMETERS["uva-gated-mnist256"]
    assert "test " in capsys.readouterr().out


def test_restart_is_not_recorded_in_the_command_that_resumes(small_data, tmp_path, capsys):
    out = tmp_path / "run.pt"
    args = ["reproduce", "pixelcnn-binarized-mnist", "--epochs", "1", "--train-limit", "8", "--out", str(out), "--no-progress"]
    assert cli.main([*args, "--restart"]) == 0
    assert "--restart" not in train.load_checkpoint(out)["command"]


def test_dry_run_prints_the_configuration_and_trains_nothing(small_data, tmp_path, capsys):
    out = tmp_path / "x.pt"
    assert cli.main(["reproduce", "pixelcnn++-cifar10", "--dry-run", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "train command: python -m pixelcnn_edu train --model pixelcnn++ --dataset cifar10" in printed
    assert "--hidden 160 --n-layers 5 --n-mix 10 --dropout 0.5" in printed and "--ema 0.9995" in printed
    assert "Salimans" in printed and "(not measured)" in printed and "50 TFLOP/s (H100)" in printed
    assert not out.exists() and small_data == []


def test_unknown_names_missing_data_and_bad_options_are_clear_errors(monkeypatch, tmp_path, capsys):
    assert cli.main(["reproduce", "pixelcnn-imagenet"]) == 2
    assert "unknown recipe 'pixelcnn-imagenet'; choose one of uva-gated-mnist256" in capsys.readouterr().err

    def offline(name, split, root, download):
        raise data.DatasetUnavailable(f"{name} could not be downloaded into {root}: no network")

    monkeypatch.setattr(data, "_torchvision_split", offline)
    with pytest.raises(data.DatasetUnavailable):  # never the embedded digits in its place
        reproduce._load_split("mnist", "train", 256, tmp_path)
    out = tmp_path / "run.pt"
    assert cli.main(["reproduce", "gated-binarized-mnist", "--out", str(out), "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "error: recipe gated-binarized-mnist needs the full mnist dataset" in err and "never falls back" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()

    assert cli.main(["reproduce", "uva-gated-mnist256", "--epochs", "150"]) == 2
    assert "can only be shortened" in capsys.readouterr().err
    assert cli.main(["reproduce", "--list", "uva-gated-mnist256"]) == 2
    assert "--list takes no other option or name" in capsys.readouterr().err
    assert cli.main(["reproduce"]) == 2
    assert "give a recipe NAME" in capsys.readouterr().err
