"""Which model takes which ``train`` option (issue 28): every model option on every model either reaches
the model's config with the given value or is refused in one line (exit code 2, before any data is
loaded), exactly as the table in ``cli_options`` says; the table is the one in docs/cli.md and ``train --help``."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any, Callable

import pytest
import torch

from pixelcnn_edu import cli, data, models, profiles, train

MODELS = ["pixelcnn", "gated", "pixelcnn++", "made", "independent", "transformer"]
CONVOLUTIONAL, CONDITIONAL = {"pixelcnn", "gated"}, {"pixelcnn", "gated", "pixelcnn++", "transformer"}
SIZED = {"pixelcnn", "gated", "pixelcnn++", "made", "transformer"}
EXPECTED: dict[str, set[str]] = {  # written out here, not read from the code: option -> the models that take it
    "--hidden": SIZED, "--n-layers": SIZED, "--n-heads": {"transformer"},
    "--kernel-size": CONVOLUTIONAL, "--input-kernel-size": CONVOLUTIONAL, "--dilations": CONVOLUTIONAL,
    "--norm": {"pixelcnn"}, "--no-residual": {"pixelcnn"},
    "--color-groups": CONVOLUTIONAL, "--color-convention": CONVOLUTIONAL,
    "--dropout": {"pixelcnn++", "transformer"},
    "--conditional": CONDITIONAL, "--class-maps": CONDITIONAL - {"transformer"},
    "--likelihood": set(MODELS), "--n-mix": set(MODELS), "--log-scale-min": set(MODELS), "--uncoupled": set(MODELS),
}
QUICK = profiles.PROFILES["quick"]


def _dilations(model: str) -> list[str]:
    blocks = QUICK.gated_layers if model == "gated" else QUICK.n_layers  # one dilation per block
    return ["--dilations", ",".join("12"[i % 2] for i in range(blocks))]


def _logistic(*extra: str) -> Callable[[str], list[str]]:
    return lambda model: ["--likelihood", "logistic", *extra]


# option -> (the arguments that give it, with what it needs; what the built model's config then holds)
CASES: dict[str, tuple[Callable[[str], list[str]], Callable[[dict[str, Any], str], bool]]] = {
    "--hidden": (lambda m: ["--hidden", "8"], lambda c, m: c["hidden"] == 8),
    "--n-layers": (lambda m: ["--n-layers", "2"], lambda c, m: c["n_layers"] == 2),
    "--n-heads": (lambda m: ["--n-heads", "3"], lambda c, m: c["n_heads"] == 3),
    "--kernel-size": (lambda m: ["--kernel-size", "5"], lambda c, m: c["kernel_size"] == 5),
    "--input-kernel-size": (lambda m: ["--input-kernel-size", "5"], lambda c, m: c["input_kernel_size"] == 5),
    "--dilations": (_dilations, lambda c, m: c["dilations"] == [int(d) for d in _dilations(m)[1].split(",")]),
    "--norm": (lambda m: ["--norm", "layer"], lambda c, m: c["norm"] == "layer"),
    "--no-residual": (lambda m: ["--no-residual"], lambda c, m: c["residual"] is False),
    "--color-groups": (lambda m: ["--color-groups", "1"], lambda c, m: c["color_groups"] == 1),
    "--color-convention": (lambda m: ["--color-convention", "interleaved"], lambda c, m: c["color_convention"] == "interleaved"),
    "--dropout": (lambda m: ["--dropout", "0.25"], lambda c, m: c["dropout"] == 0.25),
    "--conditional": (lambda m: ["--conditional"], lambda c, m: c["n_classes"] == 10),
    "--class-maps": (lambda m: ["--conditional", "--class-maps", "2"], lambda c, m: c["class_maps"] == 2 and c["n_classes"] == 10),
    "--likelihood": (lambda m: ["--likelihood", "categorical" if m == "pixelcnn++" else "logistic"],
                     lambda c, m: c["likelihood"]["name"] == ("categorical" if m == "pixelcnn++" else "logistic_mixture")),
    "--n-mix": (_logistic("--n-mix", "3"), lambda c, m: c["likelihood"]["n_mix"] == 3),
    "--log-scale-min": (_logistic("--log-scale-min", "-9"), lambda c, m: c["likelihood"]["log_scale_min"] == -9.0),
    "--uncoupled": (_logistic("--uncoupled"), lambda c, m: c["likelihood"]["coupled"] is False),
}


def tiny_digits(name: str, split: str, levels: int, **kwargs: Any) -> data.ImageDataset:
    """8 x 8 grey stand-ins for a dataset split: 20 images (10 for test), labels 0, 1, ..., 9 in turn."""
    n = 20 if split == "train" else 10
    images = torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(n)).mul(levels - 1).round().div(levels - 1)
    return data.ImageDataset(images, torch.arange(n) % 10, levels, name)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


@pytest.fixture
def built(monkeypatch) -> dict:
    """``train`` builds its model on tiny data and stops there: ``seen["model"]`` (``seen["loaded"]``: splits loaded)."""
    seen: dict = {"loaded": 0}

    def load(*args, **kwargs):
        seen["loaded"] += 1
        return tiny_digits(*args, **kwargs)

    def fit(model, *args, **kwargs):
        seen["model"] = model
        return train.History()

    monkeypatch.setattr(cli.data, "load_dataset", load)
    monkeypatch.setattr(cli.train, "fit", fit)
    return seen


def _train(model: str, out: Path, *extra: str) -> list[str]:
    return ["train", "--model", model, "--profile", "quick", "--levels", "4", "--epochs", "1", "--batch-size", "8",
            "--out", str(out), "--no-progress", *extra]


def test_the_table_is_the_matrix_of_the_issue() -> None:
    from pixelcnn_edu import cli_options

    assert {option.flag: set(option.models) for option in cli_options.MODEL_OPTIONS} == EXPECTED


def test_the_table_follows_the_constructor_signatures() -> None:
    """A model takes an option exactly when its constructor has the argument the option sets."""
    from pixelcnn_edu import cli_options

    for option in cli_options.MODEL_OPTIONS:
        has = {name for name, cls in models.MODELS.items() if option.argument in inspect.signature(cls.__init__).parameters}
        assert set(option.models) == has, option.flag
    assert set(MODELS) == set(models.MODELS)


@pytest.mark.parametrize("option", list(EXPECTED))
@pytest.mark.parametrize("model", MODELS)
def test_every_option_on_every_model(model: str, option: str, built: dict, tmp_path: Path, capsys) -> None:
    give, holds = CASES[option]
    code = cli.main(_train(model, tmp_path / "m.pt", *give(model)))
    if model in EXPECTED[option]:
        assert code == 0, capsys.readouterr().err
        assert holds(built["model"].config(), model), built["model"].config()
    else:
        assert code == 2
        err = one_line_error(capsys)
        foreign = [flag for flag in EXPECTED if flag in give(model) and model not in EXPECTED[flag]]
        takes = ", ".join(flag for flag in EXPECTED if model in EXPECTED[flag])
        what = f"{foreign[0]} is not an option" if len(foreign) == 1 else f"{', '.join(foreign)} are not options"
        assert err == f"error: {what} of --model {model} (it takes: {takes})"
        assert built["loaded"] == 0  # refused before any data is loaded


@pytest.mark.parametrize("model, given", [
    ("gated", ["--norm", "none"]), ("gated", ["--dropout", "0"]), ("pixelcnn++", ["--input-kernel-size", "7"]),
    ("transformer", ["--conditional", "--class-maps", "0"]), ("made", ["--color-convention", "contiguous"]),
    ("independent", ["--hidden", "512"]),
])
def test_an_option_given_with_its_default_value_is_still_refused(model: str, given: list[str], built: dict, tmp_path: Path, capsys) -> None:
    assert cli.main(_train(model, tmp_path / "m.pt", *given)) == 2
    assert f"is not an option of --model {model} (it takes: " in one_line_error(capsys)


@pytest.mark.parametrize("model, option, need", [
    ("pixelcnn", ["--class-maps", "2"], "--class-maps needs --conditional"),
    ("gated", ["--n-mix", "3"], "--n-mix applies to --likelihood logistic"),
    ("made", ["--uncoupled"], "--uncoupled applies to --likelihood logistic"),
    ("pixelcnn++", ["--likelihood", "categorical", "--log-scale-min", "-9"], "--log-scale-min applies to --likelihood logistic"),
])
def test_an_option_without_the_one_it_needs_is_refused(model: str, option: list[str], need: str, built: dict, tmp_path: Path, capsys) -> None:
    assert cli.main(_train(model, tmp_path / "m.pt", *option)) == 2
    assert need in one_line_error(capsys)
    assert built["loaded"] == 0


def test_pixelcnn_plus_plus_takes_the_mixture_options_without_naming_its_likelihood(built: dict, tmp_path: Path) -> None:
    assert cli.main(_train("pixelcnn++", tmp_path / "m.pt", "--n-mix", "3", "--uncoupled")) == 0
    likelihood = built["model"].config()["likelihood"]
    assert (likelihood["name"], likelihood["n_mix"], likelihood["coupled"]) == ("logistic_mixture", 3, False)


def test_the_profile_sizes_every_model_that_has_sizes(built: dict, tmp_path: Path) -> None:
    """Left out, --hidden and --n-layers come from the profile (MADE's too, which used to keep its class defaults)."""
    sizes = {"pixelcnn": (QUICK.hidden, QUICK.n_layers), "gated": (QUICK.gated_hidden, QUICK.gated_layers),
             "pixelcnn++": (QUICK.pp_hidden, QUICK.pp_layers), "made": (QUICK.made_hidden, QUICK.made_layers),
             "transformer": (QUICK.transformer_hidden, QUICK.transformer_layers)}
    for model, (hidden, n_layers) in sizes.items():
        assert cli.main(_train(model, tmp_path / "m.pt")) == 0
        config = built["model"].config()
        assert (config["hidden"], config["n_layers"]) == (hidden, n_layers), model


E2E = {  # one real run per model, each with options of its own row in the table
    "pixelcnn": ["--hidden", "4", "--n-layers", "1", "--norm", "layer", "--conditional"],
    "gated": ["--hidden", "4", "--n-layers", "1", "--kernel-size", "3", "--color-groups", "1"],
    "pixelcnn++": ["--hidden", "4", "--n-layers", "1", "--dropout", "0.1", "--n-mix", "2"],
    "made": ["--hidden", "16", "--n-layers", "2", "--likelihood", "logistic", "--n-mix", "2"],
    "independent": ["--likelihood", "logistic", "--n-mix", "2"],
    "transformer": ["--hidden", "8", "--n-heads", "2", "--n-layers", "1", "--dropout", "0.1", "--conditional"],
}


@pytest.mark.parametrize("model", MODELS)
def test_train_evaluate_and_sample_every_model(model: str, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(cli.data, "load_dataset", tiny_digits)
    out = tmp_path / f"{model}.pt"
    assert cli.main(_train(model, out, *E2E[model])) == 0, capsys.readouterr().err
    loaded, state = train.load_model(out)
    config = loaded.config()
    for option, value in zip(E2E[model], E2E[model][1:]):
        if option in ("--hidden", "--n-layers", "--n-heads"):
            assert config[option[2:].replace("-", "_")] == int(value)
    assert state["name"] == model and len(state["history"]["test_bpd"]) == 1
    assert cli.main(["evaluate", str(out)]) == 0
    assert cli.main(["sample", str(out), "--n", "2", "--out", str(tmp_path / "grid.png"), "--no-progress"]) == 0
    assert (tmp_path / "grid.png").read_bytes()[:4] == b"\x89PNG"


# ------------------------------------------------------------------------- --conditional with --train-limit


def test_conditional_takes_its_classes_from_the_whole_dataset(tmp_path: Path, monkeypatch, capsys) -> None:
    """The first 8 embedded training digits hold no 9: n_classes came out as 9."""
    seen = {}
    monkeypatch.setattr(cli.train, "fit", lambda model, *args, **kwargs: seen.update(model=model) or train.History())
    assert int(data.load_dataset("mnist-embedded", "train", 2).labels[:8].max()) == 8
    assert cli.main(["train", "--model", "gated", "--profile", "quick", "--dataset", "mnist-embedded", "--conditional",
                     "--train-limit", "8", "--out", str(tmp_path / "g.pt"), "--no-progress"]) == 0
    assert seen["model"].n_classes == 10


def test_a_conditional_run_on_a_few_images_evaluates(tmp_path: Path, monkeypatch, capsys) -> None:
    """With labels 0..3 in the first 4 images, the model had 4 classes and failed on the test set's 9s."""
    monkeypatch.setattr(cli.data, "load_dataset", tiny_digits)
    out = tmp_path / "c.pt"
    assert cli.main(_train("gated", out, "--conditional", "--hidden", "4", "--n-layers", "1", "--train-limit", "4")) == 0, \
        capsys.readouterr().err
    state = train.load_checkpoint(out)
    assert state["config"]["n_classes"] == 10 and len(state["history"]["test_bpd"]) == 1


# ----------------------------------------------------------------------------------- help and docs/cli.md


def test_train_help_prints_the_table(capsys) -> None:
    from pixelcnn_edu import cli_options

    assert cli.main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert cli_options.text_table() in out
    assert "--d-model" not in out  # refused with its new name, not offered


def test_the_program_is_called_pixelcnn_edu(capsys) -> None:
    assert cli.main(["--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: pixelcnn-edu ")
    assert cli.main(["train", "--out", "x.pt", "--hidden", "zero"]) == 2
    assert "(see pixelcnn-edu train --help)" in one_line_error(capsys)


def test_docs_cli_md_prints_the_codes_table() -> None:
    from pixelcnn_edu import cli_options

    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    assert cli_options.markdown_table() in text, (
        "docs/cli.md's table is not the code's; print it with python -c 'from pixelcnn_edu import cli_options; "
        "print(cli_options.markdown_table())'"
    )


def test_docs_cli_md_names_every_command_and_option() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    parser = cli._parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        assert f"pixelcnn-edu {name}" in text, name
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert re.search(rf"`{re.escape(flag)}\b", text), f"{name} {flag}"
