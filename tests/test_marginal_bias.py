"""recipe.start_at_marginal: a categorical model that starts at the training images' level histogram."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pixelcnn_edu import cli, data, likelihoods, models, recipe, train


def images_with_channel_histograms(levels: int, channels: int, n: int = 12, size: int = 4) -> torch.Tensor:
    """Images whose channels have clearly different level histograms (a mixed-up order would show)."""
    g = torch.Generator().manual_seed(0)
    rows = []
    for c in range(channels):
        weights = torch.arange(1, levels + 1, dtype=torch.float) ** (c + 1) if c % 2 else torch.arange(levels, 0, -1).float() ** 2
        rows.append(torch.multinomial(weights, n * size * size, replacement=True, generator=g).view(n, 1, size, size))
    return torch.cat(rows, 1).float() / (levels - 1)


def laplace_frequencies(images: torch.Tensor, levels: int) -> torch.Tensor:
    """(C, levels): (count + 1) / (N H W + levels) per channel, counted with a loop."""
    index = (images * (levels - 1)).round().long()
    out = torch.zeros(images.shape[1], levels, dtype=torch.float64)
    for c in range(images.shape[1]):
        for k in range(levels):
            out[c, k] = ((index[:, c] == k).sum() + 1) / (index[:, c].numel() + levels)
    return out


def output_layer(model: torch.nn.Module) -> torch.nn.Conv2d:
    return model.head[-1] if isinstance(model.head, torch.nn.Sequential) else model.head


MODELS = {
    "gated, grey, 256 levels": lambda: models.GatedPixelCNN(1, 256, hidden=4, n_layers=1),
    "pixelcnn, R -> G -> B, 4 levels": lambda: models.PixelCNN(3, 4, hidden=6, n_layers=1),
    "pixelcnn, R -> G -> B interleaved, 4 levels": lambda: models.PixelCNN(3, 4, hidden=6, n_layers=1, color_convention="interleaved"),
    "gated, R -> G -> B, 5 levels": lambda: models.GatedPixelCNN(3, 5, hidden=6, n_layers=1),
    "pixelcnn++, grey, 8 levels": lambda: models.PixelCNNPlusPlus(1, 8, hidden=4, n_layers=1, likelihood=likelihoods.Categorical(8)),
}


@pytest.mark.parametrize("build", MODELS.values(), ids=MODELS.keys())
def test_with_zero_output_weights_every_sub_pixel_gets_the_level_histogram(build) -> None:
    torch.manual_seed(0)
    model = build().eval()
    images = images_with_channel_histograms(model.levels, model.in_channels)
    expected = laplace_frequencies(images, model.levels)  # (C, levels)
    log_freq = recipe.start_at_marginal(model, images)
    torch.testing.assert_close(log_freq.double().exp(), expected, rtol=1e-6, atol=0)
    with torch.no_grad():
        output_layer(model).weight.zero_()  # the network's own contribution gone: the bias alone remains
        probs = model.likelihood.probs(model(images[:2]))  # (2, C, levels, H, W)
    torch.testing.assert_close(probs.double(), expected[None, :, :, None, None].expand_as(probs), rtol=1e-5, atol=1e-7)


def test_a_fresh_gated_model_scores_near_the_histograms_entropy_before_any_step() -> None:
    train_set = data.load_dataset(data.EMBEDDED, "train", levels=256).subset(300)
    torch.manual_seed(0)
    model = models.GatedPixelCNN(1, 256, hidden=8, n_layers=2)
    uniform = train.evaluate(model, train_set)
    log_freq = recipe.start_at_marginal(model, train_set.images)
    entropy_bits = -(log_freq.exp() * log_freq).sum().item() / torch.log(torch.tensor(2.0)).item()
    started = train.evaluate(model, train_set)
    assert uniform > 7.5  # near log2(256) = 8: a softmax of small random numbers
    assert started == pytest.approx(entropy_bits, abs=0.15) and started < 2.5  # most of a digit is background


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: models.GatedPixelCNN(1, 16, hidden=4, n_layers=1, likelihood=likelihoods.DiscretizedLogisticMixture(2, 16)),
         TypeError, "needs a model with a Categorical likelihood"),
        (lambda: models.PixelTransformer(1, 4, hidden=8, n_heads=2, n_layers=1, image_size=(5, 5)), TypeError,
         "which PixelTransformer does not have"),
        (lambda: models.MADE(1, 4, hidden=8, image_size=(5, 5)), TypeError, "which MADE does not have"),
    ],
)
def test_models_it_cannot_start_are_refused(build, error, message) -> None:
    model = build()
    with pytest.raises(error, match=message):
        recipe.start_at_marginal(model, torch.zeros(2, 1, 5, 5))


def test_images_that_do_not_fit_the_model_are_refused() -> None:
    model = models.PixelCNN(3, 4, hidden=6, n_layers=1)
    with pytest.raises(ValueError, match="images"):
        recipe.start_at_marginal(model, torch.zeros(2, 1, 5, 5))  # one channel for an RGB model
    with pytest.raises(ValueError, match="images"):
        recipe.start_at_marginal(model, torch.full((2, 3, 5, 5), 0.5))  # between the levels 1/3 and 2/3
    for nothing in (torch.zeros(0, 3, 5, 5), [[0.0]]):
        with pytest.raises(ValueError, match="needs a tensor of training images"):
            recipe.start_at_marginal(model, nothing)


def test_fit_starts_a_fresh_run_at_the_histogram_and_leaves_a_resumed_one_alone(make_pixelcnn, digit_crops, tmp_path: Path) -> None:
    first_bias = []
    original = torch.optim.Adam.step

    def step(self: torch.optim.Adam, *args: object, **kwargs: object) -> object:
        if not first_bias:
            first_bias.append(output_layer(model).bias.detach().clone())
        return original(self, *args, **kwargs)

    model, path = make_pixelcnn(), tmp_path / "run.pt"
    expected = recipe.start_at_marginal(make_pixelcnn(), digit_crops.images).flatten()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch.optim.Adam, "step", step)
        train.fit(model, digit_crops, epochs=1, batch_size=64, progress=False, checkpoint=path, marginal_bias=True)
    torch.testing.assert_close(first_bias[0][model.output_order], expected)
    trained = output_layer(model).bias.detach().clone()
    assert not torch.allclose(trained, first_bias[0])  # the steps moved it
    resumed = make_pixelcnn(seed=1)  # from scratch it would end elsewhere
    train.fit(resumed, digit_crops, epochs=1, batch_size=64, progress=False, checkpoint=path, marginal_bias=True)
    torch.testing.assert_close(output_layer(resumed).bias, trained)  # the checkpoint's bias, not the histogram again


def test_fit_with_ema_averages_from_the_histogram(make_pixelcnn, digit_crops) -> None:
    model = make_pixelcnn()
    expected = recipe.start_at_marginal(make_pixelcnn(), digit_crops.images).flatten()
    with pytest.MonkeyPatch.context() as mp:  # no step: the average keeps the weights it started from
        mp.setattr(torch.optim.Adam, "step", lambda self, *a, **k: None)
        train.fit(model, digit_crops, epochs=1, batch_size=64, progress=False, ema=0.5, marginal_bias=True)
    torch.testing.assert_close(output_layer(model).bias[model.output_order], expected)


@pytest.mark.parametrize("flag", [1, "yes", None])
def test_fit_refuses_a_marginal_bias_that_is_not_a_bool(make_pixelcnn, digit_crops, flag: object) -> None:
    with pytest.raises(TypeError, match="marginal_bias"):
        train.fit(make_pixelcnn(), digit_crops, epochs=1, progress=False, marginal_bias=flag)


def test_the_cli_trains_with_a_marginal_bias_and_refuses_it_where_it_does_not_apply(tmp_path: Path, capsys) -> None:
    path = tmp_path / "gated.pt"
    code = cli.main([
        "train", "--model", "gated", "--levels", "4", "--hidden", "4", "--n-layers", "1", "--epochs", "1",
        "--train-limit", "32", "--batch-size", "32", "--marginal-bias", "--out", str(path), "--no-progress",
    ])
    assert code == 0
    assert "--marginal-bias" in train.load_checkpoint(path)["command"]
    out = str(tmp_path / "x.pt")
    for extra in (["--likelihood", "logistic"], ["--model", "transformer"], ["--model", "made"]):
        assert cli.main(["train", *extra, "--marginal-bias", "--epochs", "1", "--out", out]) == 2
        assert "--marginal-bias works with --likelihood categorical and --model pixelcnn, gated or pixelcnn++" in capsys.readouterr().err
