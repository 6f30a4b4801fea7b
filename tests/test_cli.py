"""The command line: train -> evaluate -> sample, help texts, and clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from pixelcnn_edu import cli, data, profiles, train


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
    assert cli.main(["train", "--dilations", "1,x", "--out", str(tmp_path / "x.pt")]) == 2
    assert "dilations must be comma-separated integers" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["train"], ["sample"], ["evaluate"]])
def test_help_for_every_command(command):
    result = subprocess.run(
        [sys.executable, "-m", "pixelcnn_edu", *command, "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: pixelcnn-edu")  # the console script's name, for python -m pixelcnn_edu too


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
    assert "--conditional is not an option of --model made (it takes: --hidden, --n-layers, --likelihood" in capsys.readouterr().err
    assert cli.main(["train", "--model", "gated", "--norm", "layer", "--epochs", "1", "--out", str(tmp_path / "g.pt")]) == 2
    assert "--norm is not an option of --model gated (it takes: --hidden, " in capsys.readouterr().err
    assert cli.main(["train", "--model", "gated", "--no-residual", "--epochs", "1", "--out", str(tmp_path / "g.pt")]) == 2
    assert "--no-residual is not an option of --model gated" in capsys.readouterr().err
    assert cli.main(["train", "--model", "gated", "--class-maps", "2", "--epochs", "1", "--out", str(tmp_path / "g.pt")]) == 2
    assert "--class-maps needs --conditional" in capsys.readouterr().err
    assert cli.main(["train", "--model", "transformer", "--conditional", "--class-maps", "2", "--epochs", "1",
                     "--out", str(tmp_path / "t.pt")]) == 2
    assert "--class-maps is not an option of --model transformer" in capsys.readouterr().err


@pytest.mark.parametrize("model, size", [("pixelcnn", "--hidden"), ("gated", "--hidden"), ("pixelcnn++", "--hidden")])
def test_train_with_class_maps_stores_them(model, size, tmp_path):
    path = tmp_path / "maps.pt"
    code = cli.main([
        "train", "--model", model, "--conditional", "--class-maps", "3", "--profile", "quick", "--levels", "4",
        size, "6", "--n-layers", "1", "--epochs", "1", "--train-limit", "32", "--batch-size", "32", "--out", str(path),
        "--no-progress",
    ])
    assert code == 0
    state = train.load_checkpoint(path)
    assert state["config"]["class_maps"] == 3 and state["config"]["n_classes"] == 10
    assert "--class-maps 3" in state["command"]


def test_train_without_residual_connections(tmp_path):
    path = tmp_path / "plain.pt"
    code = cli.main(["train", "--model", "pixelcnn", "--no-residual", "--hidden", "8", "--n-layers", "1", "--epochs", "1",
                     "--train-limit", "32", "--batch-size", "32", "--out", str(path), "--no-progress"])
    assert code == 0
    model, state = train.load_model(path)
    assert model.config()["residual"] is False and "--no-residual" in state["command"]


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


def test_train_a_mixture_with_a_lower_log_scale_bound(tmp_path):
    path = tmp_path / "mixture.pt"
    code = cli.main([
        "train", "--model", "gated", "--likelihood", "logistic", "--n-mix", "2", "--log-scale-min", "-9", "--levels", "4",
        "--hidden", "4", "--n-layers", "1", "--epochs", "1", "--train-limit", "32", "--batch-size", "32", "--out", str(path),
        "--no-progress",
    ])
    assert code == 0
    model, state = train.load_model(path)
    assert state["config"]["likelihood"]["log_scale_min"] == -9.0 and model.likelihood.log_scale_min == -9.0
    assert "--log-scale-min -9" in state["command"]


def test_likelihood_errors(tmp_path, capsys):
    out = str(tmp_path / "x.pt")
    assert cli.main(["train", "--uncoupled", "--epochs", "1", "--out", out]) == 2
    assert "--uncoupled applies to --likelihood logistic" in capsys.readouterr().err
    assert cli.main(["train", "--likelihood", "logistic", "--n-mix", "0", "--epochs", "1", "--out", out]) == 2
    assert "argument --n-mix: must be an int >= 1, got 0" in capsys.readouterr().err
    assert cli.main(["train", "--n-mix", "3", "--epochs", "1", "--out", out]) == 2
    assert "--n-mix applies to --likelihood logistic" in capsys.readouterr().err
    assert cli.main(["train", "--log-scale-min", "-9", "--epochs", "1", "--out", out]) == 2
    assert "--log-scale-min applies to --likelihood logistic" in capsys.readouterr().err
    assert cli.main(["train", "--likelihood", "logistic", "--log-scale-min=-inf", "--epochs", "1", "--out", out]) == 2
    assert "argument --log-scale-min: must be a finite number, got -inf" in capsys.readouterr().err
    assert cli.main(["train", "--likelihood", "logistic", "--log-scale-min", "6", "--epochs", "1", "--out", out]) == 2
    assert "log_scale_min must be below log_scale_max, got 6.0 and 5.0" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [["--levels", "2"], ["--levels", "4", "--likelihood", "logistic", "--n-mix", "2", "--conditional"]])
def test_train_a_tiny_transformer(extra, tmp_path, capsys):
    path = tmp_path / "transformer.pt"
    code = cli.main([
        "train", "--model", "transformer", "--hidden", "16", "--n-heads", "2", "--n-layers", "1", "--epochs", "1",
        "--train-limit", "32", "--batch-size", "32", "--out", str(path), "--no-progress", *extra,
    ])
    assert code == 0
    model, state = train.load_model(path)
    assert state["name"] == "transformer" and type(model).__name__ == "PixelTransformer"
    assert (model.config()["hidden"], model.config()["n_heads"], model.config()["n_layers"]) == (16, 2, 1)
    assert model.config()["image_size"] == [28, 28]  # the position tables fit the dataset's images
    assert type(model.likelihood).__name__ == ("Categorical" if "--likelihood" not in extra else "DiscretizedLogisticMixture")


def test_transformer_options_in_the_shared_vocabulary(tmp_path, monkeypatch, capsys):
    """``--hidden`` is the transformer's width as every model's; ``--d-model`` is refused with the new name."""
    seen = spy_on_fit(monkeypatch)
    monkeypatch.setattr(cli.data, "load_dataset", lambda name, split, levels, **kwargs:
                        data.ImageDataset(torch.zeros(4, 1, 4, 4), torch.zeros(4, dtype=torch.long), levels, name))
    out = str(tmp_path / "x.pt")
    for model in ("gated", "pixelcnn"):
        assert cli.main(["train", "--model", model, "--n-heads", "2", "--train-limit", "8", "--out", out]) == 2
        assert f"error: --n-heads is not an option of --model {model} (it takes: --hidden, --n-layers, " in one_line_error(capsys)
    assert cli.main(["train", "--model", "transformer", "--hidden", "8", "--n-heads", "2", "--train-limit", "8", "--out", out]) == 0
    assert (seen["model"].config()["hidden"], seen["model"].config()["n_heads"]) == (8, 2)
    capsys.readouterr()
    assert cli.main(["train", "--model", "transformer", "--d-model", "16", "--train-limit", "8", "--out", out]) == 2
    assert "error: --d-model is now --hidden, one name for the width of every model: give --hidden 16" in one_line_error(capsys)
    assert cli.main(["train", "--model", "transformer", "--hidden", "10", "--n-heads", "4", "--train-limit", "8", "--out", out]) == 2
    assert "hidden must be divisible by n_heads" in one_line_error(capsys)


# ----------------------------------------------------------------------------- issue 12: bad values, one-line errors


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


TRAIN = ["train", "--profile", "quick", "--out", "unused.pt"]
SAMPLE = ["sample", "unused.pt"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (TRAIN + ["--epochs", "0"], "argument --epochs: must be an int >= 1, got 0"),
        (TRAIN + ["--batch-size", "-4"], "argument --batch-size: must be an int >= 1, got -4"),
        (TRAIN + ["--batch-size", "0"], "argument --batch-size: must be an int >= 1, got 0"),
        (TRAIN + ["--hidden", "0"], "argument --hidden: must be an int >= 1, got 0"),
        (TRAIN + ["--n-layers", "0"], "argument --n-layers: must be an int >= 1, got 0"),
        (TRAIN + ["--kernel-size", "0"], "argument --kernel-size: must be an int >= 1, got 0"),
        (TRAIN + ["--n-mix", "0"], "argument --n-mix: must be an int >= 1, got 0"),
        (TRAIN + ["--train-limit", "-10"], "argument --train-limit: must be an int >= 1, got -10"),
        (TRAIN + ["--levels", "0"], "argument --levels: must be an int >= 2, got 0"),
        (TRAIN + ["--levels", "1"], "argument --levels: must be an int >= 2, got 1"),
        (TRAIN + ["--hidden", "8.5"], "argument --hidden: must be an int >= 1, got '8.5'"),
        (TRAIN + ["--lr", "0"], "argument --lr: must be a finite number > 0, got 0.0"),
        (TRAIN + ["--lr", "nan"], "argument --lr: must be a finite number > 0, got nan"),
        (TRAIN + ["--clip-grad", "-1"], "argument --clip-grad: must be a finite number >= 0 (0 disables clipping), got -1.0"),
        (TRAIN + ["--warmup", "1"], "argument --warmup: must be a fraction in [0, 1), got 1.0"),
        (TRAIN + ["--ema", "1"], "argument --ema: must be a decay in (0, 1), e.g. 0.999, got 1.0"),
        (TRAIN + ["--schedule", "linear"], "argument --schedule: invalid choice: 'linear'"),
        (TRAIN + ["--device", "gpu"], "argument --device: 'gpu' is not a device; use cpu, cuda, cuda:N or mps"),
        (TRAIN + ["--dilations", "1,x"], "dilations must be comma-separated integers"),
        (SAMPLE + ["--n", "0"], "argument --n: must be an int >= 1, got 0"),
        (SAMPLE + ["--nrow", "0"], "argument --nrow: must be an int >= 1, got 0"),
        (SAMPLE + ["--temperature", "-1"], "argument --temperature: temperature must be a finite number > 0, got -1.0"),
        (SAMPLE + ["--temperature", "inf"], "argument --temperature: temperature must be a finite number > 0, got inf"),
        (["evaluate", "unused.pt", "--batch-size", "0"], "argument --batch-size: must be an int >= 1, got 0"),
    ],
)
def test_bad_values_are_rejected_when_the_arguments_are_read(argv, message, capsys, monkeypatch) -> None:
    """``--epochs 0`` used to mean the profile's epochs, ``--batch-size -4`` a ZeroDivisionError and
    ``--train-limit -10`` training on all but the last 10 images."""
    monkeypatch.setattr(cli.data, "load_dataset", lambda *args, **kwargs: pytest.fail("loaded data"))
    monkeypatch.setattr(cli.train, "load_model", lambda *args, **kwargs: pytest.fail("loaded a model"))
    assert cli.main(argv) == 2
    err = one_line_error(capsys)
    assert err.startswith("error: ") and message in err


def spy_on_fit(monkeypatch) -> dict:
    """Replace train.fit by a spy that records the model and its arguments (no training)."""
    seen: dict = {}

    def fit(model, train_set, test_set, **kwargs):
        seen.update(kwargs, model=model, train_set=train_set)
        return train.History()

    monkeypatch.setattr(cli.train, "fit", fit)
    return seen


def test_the_profile_fills_in_only_what_was_left_out(tmp_path, monkeypatch, capsys) -> None:
    seen = spy_on_fit(monkeypatch)
    argv = ["train", "--profile", "quick", "--train-limit", "8", "--out", str(tmp_path / "a.pt"), "--no-progress"]
    assert cli.main(argv) == 0
    assert (seen["epochs"], seen["batch_size"], seen["lr"], seen["clip_grad"]) == (2, 64, 2e-3, 1.0)
    assert seen["model"].config()["hidden"] == 32 and len(seen["train_set"]) == 8
    assert cli.main(argv + ["--clip-grad", "0", "--epochs", "1", "--lr", "0.5", "--hidden", "6"]) == 0
    assert (seen["epochs"], seen["lr"], seen["clip_grad"]) == (1, 0.5, None)  # 0 disables clipping
    assert seen["model"].config()["hidden"] == 6
    assert (seen["schedule"], seen["warmup"], seen["ema"]) == ("constant", 0.0, None)  # fit's defaults
    assert cli.main(argv + ["--schedule", "cosine", "--warmup", "0.05", "--ema", "0.99"]) == 0
    assert (seen["schedule"], seen["warmup"], seen["ema"]) == ("cosine", 0.05, 0.99)
    assert seen["mixed_precision"] is False
    assert cli.main(argv + ["--mixed-precision"]) == 0
    assert seen["mixed_precision"] is True


@pytest.mark.parametrize("dataset", ["colored-mnist", "cifar10"])
def test_a_colour_dataset_without_levels_gets_the_profiles_colour_levels(dataset, tmp_path, monkeypatch, capsys) -> None:
    """``--dataset colored-mnist`` used to get the grey profile's levels=2 and binarise the colours."""
    seen = spy_on_fit(monkeypatch)
    loaded = []
    monkeypatch.setattr(cli.data, "load_dataset", lambda name, split, levels, **kwargs: loaded.append(levels) or
                        data.ImageDataset(torch.zeros(4, 3, 4, 4), torch.zeros(4, dtype=torch.long), levels, name))
    argv = ["train", "--profile", "quick", "--dataset", dataset, "--hidden", "6", "--out", str(tmp_path / "c.pt")]
    assert cli.main(argv) == 0
    assert loaded == [4, 4] and seen["model"].levels == 4  # the quick profile's color_levels
    assert cli.main(argv + ["--levels", "8"]) == 0
    assert seen["model"].levels == 8


def test_cuda_on_a_machine_without_it_fails_before_any_data_is_loaded(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(cli.data, "load_dataset", lambda *args, **kwargs: pytest.fail("loaded data"))
    assert cli.main(["train", "--device", "cuda", "--out", str(tmp_path / "x.pt")]) == 2
    assert "argument --device: cuda needs CUDA, but this PyTorch sees no CUDA device" in one_line_error(capsys)
    assert cli.main(["evaluate", str(tmp_path / "x.pt"), "--device", "cuda:1"]) == 2
    assert "argument --device: cuda:1 needs CUDA, but this PyTorch sees no CUDA device" in one_line_error(capsys)


@pytest.mark.parametrize("restart", [[], ["--restart"]])
def test_train_out_may_not_be_a_folder(restart, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(cli.data, "load_dataset", lambda *args, **kwargs: pytest.fail("loaded data"))
    assert cli.main(["train", "--out", str(tmp_path), *restart]) == 2
    assert f"--out {tmp_path} is a folder; give a file name such as {tmp_path / 'model.pt'}" in one_line_error(capsys)
    assert tmp_path.is_dir()


def test_sample_checks_where_it_writes_before_sampling(checkpoint, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(cli.sampling, "sample", lambda *args, **kwargs: pytest.fail("sampled"))
    assert cli.main(["sample", str(checkpoint), "--out", str(tmp_path / "x.jpg")]) == 2
    assert "--out must end in .png (the grid is written as PNG), got" in one_line_error(capsys)
    assert cli.main(["sample", str(checkpoint), "--out", str(tmp_path)]) == 2
    assert "is a folder" in one_line_error(capsys)
    blocker = tmp_path / "file.txt"
    blocker.write_text("")
    assert cli.main(["sample", str(checkpoint), "--out", str(blocker / "grid.png")]) == 2
    assert f"--out {blocker / 'grid.png'} cannot be written: {blocker} is not a folder" in one_line_error(capsys)


def _tiny_train(out, *extra: str) -> list[str]:
    return ["train", "--profile", "quick", "--levels", "2", "--hidden", "8", "--n-layers", "1", "--epochs", "2",
            "--train-limit", "96", "--batch-size", "32", "--out", str(out), "--no-progress", *extra]


def test_ctrl_c_says_where_it_saved_and_the_same_command_resumes(tmp_path, capsys, monkeypatch) -> None:
    import signal

    original, calls = torch.optim.Adam.step, [0]

    def step_then_ctrl_c(self, *args, **kwargs):
        calls[0] += 1
        out = original(self, *args, **kwargs)
        if calls[0] == 4:  # batch 1 of epoch 2
            signal.raise_signal(signal.SIGINT)
        return out

    monkeypatch.setattr(torch.optim.Adam, "step", step_then_ctrl_c)
    out = tmp_path / "run.pt"
    assert cli.main(_tiny_train(out)) == 130
    err = capsys.readouterr().err.strip()
    assert err == f"stopped by SIGINT: saved to {out} after epoch 1, batch 1; run the same command to resume"
    monkeypatch.undo()
    assert cli.main(_tiny_train(out)) == 0
    assert "resuming from" in capsys.readouterr().out
    state = train.load_checkpoint(out)
    assert state["epoch"] == 2 and state["step"] == 6


def test_a_second_ctrl_c_still_says_how_to_resume(tmp_path, capsys, monkeypatch) -> None:
    original, calls = torch.optim.Adam.step, [0]

    def ctrl_c_on_the_second_step(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 2:
            raise KeyboardInterrupt  # raw: what a second Ctrl-C raises at once
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", ctrl_c_on_the_second_step)
    out = tmp_path / "run.pt"
    assert cli.main(_tiny_train(out)) == 130
    assert capsys.readouterr().err.strip() == f"interrupted; {out} holds every finished batch: run the same command to resume"
    assert train.load_checkpoint(out)["step"] == 1


def test_training_on_from_an_exported_checkpoint_warns_in_one_line(checkpoint, tmp_path, capsys) -> None:
    """The defect: resuming from an exported checkpoint ended in KeyError: 'optimizer'."""
    exported = train.export_checkpoint(checkpoint, tmp_path / "exported.pt")
    args = ["train", "--levels", "2", "--hidden", "8", "--n-layers", "1", "--epochs", "2", "--train-limit", "64",
            "--batch-size", "32", "--out", str(exported), "--no-progress", "--profile", "quick"]
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert f"warning: {exported} holds no optimizer state (an exported checkpoint): Adam starts afresh\n" in err
    assert "Traceback" not in err and train.load_checkpoint(exported)["epoch"] == 2


def test_a_transformer_without_sizes_gets_the_profiles(tmp_path, monkeypatch, capsys):
    built = {}

    def build_only(model, *args, **kwargs):
        built["model"] = model
        raise ValueError("stopped after building the model")

    monkeypatch.setattr(cli.train, "fit", build_only)
    monkeypatch.setattr(cli.data, "load_dataset", lambda name, split, levels, **kwargs:
                        data.ImageDataset(torch.zeros(4, 1, 28, 28), torch.zeros(4, dtype=torch.long), levels, name))
    assert cli.main(["train", "--model", "transformer", "--profile", "quick", "--levels", "2", "--out", str(tmp_path / "t.pt")]) == 2
    assert "stopped after building the model" in capsys.readouterr().err
    quick, config = profiles.PROFILES["quick"], built["model"].config()
    assert (config["hidden"], config["n_layers"], config["n_heads"]) == (quick.transformer_hidden, quick.transformer_layers, 4)
    assert sum(p.numel() for p in built["model"].parameters()) == 15_986  # about the quick Gated PixelCNN's 16,022
