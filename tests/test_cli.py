"""The command line: train -> evaluate -> sample, help texts, and clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from pixelcnn_edu import cli, train


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "tiny.pt"
    code = cli.main([
        "train", "--profile", "quick", "--levels", "2", "--hidden", "8", "--n-layers", "1", "--epochs", "1",
        "--train-limit", "64", "--batch-size", "32", "--out", str(path), "--no-progress",
    ])
    assert code == 0
    return path


def test_train_writes_a_checkpoint_that_records_its_command(checkpoint, capsys):
    state = train.load_checkpoint(checkpoint)
    assert state["name"] == "pixelcnn" and state["epoch"] == 1
    assert state["config"]["hidden"] == 8 and state["config"]["levels"] == 2
    assert state["command"].startswith("python -m pixelcnn_edu train --profile quick")
    assert len(state["history"]["test_bpd"]) == 1 and state["image_size"] == [28, 28]


def test_train_resumes_from_an_existing_checkpoint(checkpoint, tmp_path, capsys):
    resumed = tmp_path / "resumed.pt"
    resumed.write_bytes(checkpoint.read_bytes())
    args = ["train", "--levels", "2", "--hidden", "8", "--n-layers", "1", "--epochs", "2", "--train-limit", "64",
            "--batch-size", "32", "--out", str(resumed), "--no-progress", "--profile", "quick"]
    assert cli.main(args) == 0
    assert "resuming from" in capsys.readouterr().out
    assert train.load_checkpoint(resumed)["epoch"] == 2


def test_evaluate_prints_bits_per_dim(checkpoint, capsys):
    assert cli.main(["evaluate", str(checkpoint)]) == 0
    out = capsys.readouterr().out
    assert "mnist-embedded test bits/dim = " in out and "(500 images)" in out
    model, _ = train.load_model(checkpoint)
    from pixelcnn_edu import data

    expected = train.evaluate(model, data.load_dataset("mnist-embedded", "test", 2))
    assert f"{expected:.4f}" in out


def test_sample_writes_a_png_grid(checkpoint, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert cli.main(["sample", str(checkpoint), "--n", "2", "--out", str(out), "--no-progress"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote 2 samples" in capsys.readouterr().out


def test_sample_with_and_without_the_cache_draws_the_same_grid(checkpoint, tmp_path, capsys):
    cached, naive = tmp_path / "cached.png", tmp_path / "naive.png"
    assert cli.main(["sample", str(checkpoint), "--n", "2", "--out", str(cached), "--no-progress"]) == 0
    assert cli.main(["sample", str(checkpoint), "--n", "2", "--out", str(naive), "--no-progress", "--no-cache"]) == 0
    assert cached.read_bytes() == naive.read_bytes()


def test_sample_rejects_a_bad_temperature(checkpoint, tmp_path, capsys):
    assert cli.main(["sample", str(checkpoint), "--n", "2", "--out", str(tmp_path / "x.png"), "--temperature", "0"]) == 2
    assert "temperature must be a finite number > 0" in capsys.readouterr().err


def test_errors_are_reported_without_a_traceback(tmp_path, capsys):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    assert cli.main(["evaluate", str(garbage)]) == 2
    assert "error:" in capsys.readouterr().err
    assert cli.main(["sample", str(tmp_path / "missing.pt")]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "--dilations", "1,x", "--out", str(tmp_path / "x.pt")])


@pytest.mark.parametrize("command", [[], ["train"], ["sample"], ["evaluate"]])
def test_help_for_every_command(command):
    result = subprocess.run(
        [sys.executable, "-m", "pixelcnn_edu", *command, "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "usage: python -m pixelcnn_edu" in result.stdout


@pytest.fixture(scope="module")
def gated_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "gated.pt"
    code = cli.main([
        "train", "--model", "gated", "--conditional", "--profile", "quick", "--levels", "2", "--hidden", "4",
        "--n-layers", "1", "--epochs", "1", "--train-limit", "64", "--batch-size", "32", "--out", str(path), "--no-progress",
    ])
    assert code == 0
    return path


def test_train_a_conditional_gated_model(gated_checkpoint):
    state = train.load_checkpoint(gated_checkpoint)
    assert state["name"] == "gated" and state["config"]["n_classes"] == 10 and state["config"]["hidden"] == 4


@pytest.mark.parametrize("extra, first_labels", [([], [0, 1, 2]), (["--label", "7"], [7, 7, 7])])
def test_sample_a_conditional_model(gated_checkpoint, tmp_path, capsys, monkeypatch, extra, first_labels):
    seen = {}
    real_sample = cli.sampling.sample

    def spy(model, n, image_size, **kwargs):
        seen["y"] = kwargs["y"]
        return real_sample(model, n, (2, 2), **kwargs)  # tiny images keep the test fast

    monkeypatch.setattr(cli.sampling, "sample", spy)
    out = tmp_path / "grid.png"
    assert cli.main(["sample", str(gated_checkpoint), "--n", "3", "--out", str(out), "--no-progress", *extra]) == 0
    assert seen["y"].tolist() == first_labels and out.exists()


def test_conditional_errors(gated_checkpoint, checkpoint, tmp_path, capsys):
    assert cli.main(["sample", str(gated_checkpoint), "--n", "2", "--label", "12", "--out", str(tmp_path / "a.png")]) == 2
    assert "y must lie in [0, 9]" in capsys.readouterr().err
    assert cli.main(["sample", str(checkpoint), "--label", "1", "--out", str(tmp_path / "b.png")]) == 2
    assert "unconditional" in capsys.readouterr().err
    assert cli.main(["train", "--model", "made", "--conditional", "--epochs", "1", "--out", str(tmp_path / "m.pt")]) == 2
    assert "--conditional works with --model pixelcnn, gated or pixelcnn++" in capsys.readouterr().err
    assert cli.main(["train", "--model", "gated", "--norm", "layer", "--epochs", "1", "--out", str(tmp_path / "g.pt")]) == 2
    assert "--norm is a PixelCNN option" in capsys.readouterr().err


def test_train_with_the_logistic_mixture(tmp_path, capsys):
    path = tmp_path / "mixture.pt"
    code = cli.main([
        "train", "--model", "gated", "--likelihood", "logistic", "--n-mix", "2", "--levels", "4", "--hidden", "4",
        "--n-layers", "1", "--epochs", "1", "--train-limit", "32", "--batch-size", "32", "--out", str(path), "--no-progress",
    ])
    assert code == 0
    state = train.load_checkpoint(path)
    assert state["config"]["likelihood"] == {"name": "logistic_mixture", "n_mix": 2, "levels": 4, "coupled": True,
                                             "log_scale_min": -7.0, "log_scale_max": 5.0}
    model, _ = train.load_model(path)
    assert type(model.likelihood).__name__ == "DiscretizedLogisticMixture"


def test_likelihood_errors(tmp_path, capsys):
    out = str(tmp_path / "x.pt")
    assert cli.main(["train", "--model", "made", "--likelihood", "logistic", "--epochs", "1", "--out", out]) == 2
    assert "--likelihood logistic works with --model pixelcnn, gated or pixelcnn++" in capsys.readouterr().err
    assert cli.main(["train", "--uncoupled", "--epochs", "1", "--out", out]) == 2
    assert "--uncoupled applies to --likelihood logistic" in capsys.readouterr().err
    assert cli.main(["train", "--likelihood", "logistic", "--n-mix", "0", "--epochs", "1", "--out", out]) == 2
    assert "n_mix must be an int >= 1" in capsys.readouterr().err
