"""models: shapes, configs that rebuild identical models, and clear errors for bad arguments."""

from __future__ import annotations

import json
import math
from typing import Any, Callable

import pytest
import torch

from pixelcnn_edu import likelihoods, models, receptive_field

TINY: dict[str, tuple[type[models.AutoregressiveModel], dict[str, Any]]] = {
    "pixelcnn": (models.PixelCNN, dict(in_channels=3, levels=4, hidden=24, n_layers=2, kernel_size=5,
                                       input_kernel_size=3, dilations=[1, 2], norm="layer")),
    "gated": (models.GatedPixelCNN, dict(in_channels=3, levels=4, hidden=6, n_layers=2, kernel_size=5,
                                         input_kernel_size=3, dilations=[1, 2], skip_channels=9)),
    "made": (models.MADE, dict(in_channels=3, levels=4, image_size=(5, 6), hidden=16, n_layers=2)),
    "independent": (models.IndependentPixels, dict(in_channels=3, levels=4, image_size=(5, 6))),
    "transformer": (models.PixelTransformer, dict(in_channels=3, levels=4, hidden=16, n_layers=2, n_heads=4, dropout=0.1,
                                                  image_size=(6, 7))),
}


@pytest.mark.parametrize("name", list(TINY))
def test_output_shapes(name: str, make_model, make_images: Callable[..., torch.Tensor]) -> None:
    cls, kwargs = TINY[name]
    model = make_model(cls, **kwargs)
    x = make_images(n=2, channels=3, size=(5, 6), levels=4)
    assert model(x).shape == (2, 3 * 4, 5, 6)
    log_prob = model.log_prob(x)
    assert log_prob.shape == (2, 3, 5, 6)
    assert (log_prob <= 0).all() and torch.isfinite(log_prob).all()
    assert model.levels == 4 and model.in_channels == 3
    assert isinstance(model.likelihood, likelihoods.Categorical)


@pytest.mark.parametrize("size", [(4, 4), (7, 3), (1, 1)])
def test_pixelcnn_works_at_any_size(size: tuple[int, int], make_pixelcnn, make_images) -> None:
    model = make_pixelcnn(levels=2)
    assert model.log_prob(make_images(size=size)).shape == (2, 1, *size)


@pytest.mark.parametrize("name", list(TINY))
def test_config_rebuilds_an_identical_model(name: str, make_model, make_images: Callable[..., torch.Tensor]) -> None:
    cls, kwargs = TINY[name]
    model = make_model(cls, **kwargs)
    with torch.no_grad():  # make the baseline's zero logits non-trivial
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(3)))
    assert models.model_name(model) == name
    config = model.config()
    assert json.loads(json.dumps(config)) == config  # plain Python values only
    rebuilt = models.from_config(models.model_name(model), config)
    assert type(rebuilt) is cls
    assert rebuilt.config() == config
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}
    rebuilt.load_state_dict(model.state_dict())
    x = make_images(n=2, channels=3, size=(5, 6), levels=4)
    model.eval(), rebuilt.eval()
    assert torch.equal(rebuilt.log_prob(x), model.log_prob(x))


def test_config_records_every_pixelcnn_argument() -> None:
    model = models.PixelCNN(in_channels=3, levels=4, hidden=8, n_layers=3, kernel_size=5, input_kernel_size=3,
                            dilations=(1, 2, 3), norm="batch", color_convention="interleaved", n_classes=10)
    assert model.config() == dict(in_channels=3, levels=4, hidden=8, n_layers=3, kernel_size=5, input_kernel_size=3,
                                  dilations=[1, 2, 3], norm="batch", color_groups=3, color_convention="interleaved",
                                  n_classes=10, residual=True, class_maps=0, likelihood={"name": "categorical", "levels": 4})


def test_residual_false_drops_only_the_identity_path() -> None:
    """Same weights, so the only difference between the two models is the "+ x" of every block."""
    torch.manual_seed(0)
    with_identity = models.PixelCNN(levels=4, hidden=8, n_layers=2)
    without = models.PixelCNN(levels=4, hidden=8, n_layers=2, residual=False)
    assert without.config()["residual"] is False
    without.load_state_dict(with_identity.state_dict())
    x = torch.randint(4, (2, 1, 6, 6)).float() / 3
    features = with_identity.input_conv(x)
    block = with_identity.blocks[0]
    assert torch.allclose(without.blocks[0](features), block(features) - features, atol=1e-6)
    assert not torch.allclose(without.log_prob(x), with_identity.log_prob(x))
    rebuilt = models.from_config("pixelcnn", without.config())
    assert rebuilt.blocks[0].residual is False
    with pytest.raises(TypeError, match="residual must be True or False"):
        models.PixelCNN(levels=4, hidden=8, residual="no")


def test_likelihood_may_be_given_as_object_or_config() -> None:
    by_object = models.PixelCNN(levels=4, hidden=8, n_layers=1, likelihood=likelihoods.Categorical(4))
    by_config = models.PixelCNN(levels=4, hidden=8, n_layers=1, likelihood={"name": "categorical", "levels": 4})
    assert by_object.config() == by_config.config()


@pytest.mark.parametrize(
    ("cls", "kwargs", "error", "pattern"),
    [
        (models.PixelCNN, dict(levels=1), ValueError, "levels must be >= 2, got 1"),
        (models.PixelCNN, dict(hidden=0), ValueError, "hidden must be >= 1, got 0"),
        (models.PixelCNN, dict(hidden=8.0), TypeError, "hidden must be an int, got float"),
        (models.PixelCNN, dict(n_layers=0), ValueError, "n_layers must be >= 1, got 0"),
        (models.PixelCNN, dict(in_channels=0), ValueError, "in_channels must be >= 1, got 0"),
        (models.PixelCNN, dict(n_layers=3, dilations=[1, 2]), ValueError, r"dilations must have one entry per layer \(3\), got 2"),
        (models.PixelCNN, dict(norm="group"), ValueError, "norm must be .*got 'group'"),
        (models.PixelCNN, dict(kernel_size=4), ValueError, "kernel_size .*got 4"),
        (models.PixelCNN, dict(input_kernel_size=6), ValueError, "kernel_size .*got 6"),
        (models.PixelCNN, dict(levels=2, likelihood=likelihoods.Categorical(4)), ValueError,
         "likelihood has 4 levels but the model has levels=2"),
        (models.PixelCNN, dict(likelihood={"name": "nope"}), ValueError, "unknown likelihood 'nope'"),
        (models.MADE, dict(image_size=(1, 1)), ValueError, r"MADE needs at least 2 sub-pixels, got C\*H\*W = 1"),
        (models.MADE, dict(hidden=0), ValueError, "hidden must be >= 1, got 0"),
        (models.MADE, dict(image_size=(0, 4)), ValueError, "image_size must be >= 1, got 0"),
        (models.IndependentPixels, dict(levels=1), ValueError, "levels must be >= 2"),
        (models.IndependentPixels, dict(in_channels=True), TypeError, "in_channels must be an int, got bool"),
    ],
)
def test_bad_constructor_arguments(cls: type, kwargs: dict, error: type[Exception], pattern: str) -> None:
    defaults = dict(hidden=8, n_layers=1) if cls is models.PixelCNN else {}
    with pytest.raises(error, match=pattern):
        cls(**{**defaults, **kwargs})


@pytest.mark.parametrize("name", list(TINY))
def test_forward_rejects_bad_inputs(name: str, make_model, make_images: Callable[..., torch.Tensor]) -> None:
    cls, kwargs = TINY[name]
    model = make_model(cls, **kwargs)
    good = make_images(n=2, channels=3, size=(5, 6), levels=4)
    with pytest.raises(ValueError, match="x must have 3 channel"):
        model(good[:, :1])
    with pytest.raises(TypeError, match="x must be a float tensor"):
        model((good * 3).long())
    with pytest.raises(ValueError, match=r"x values must lie in \[0, 1\]"):
        model(good * 3)
    with pytest.raises(ValueError, match="grid of 4 levels"):
        model(good * 0.5 + 0.1)
    with pytest.raises(ValueError, match="y was given but the model is unconditional"):
        model(good, torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="y was given"):
        model.log_prob(good, torch.zeros(2, dtype=torch.long))


@pytest.mark.parametrize("name", ["made", "independent"])
def test_fixed_size_models_reject_other_sizes(name: str, make_model, make_images: Callable[..., torch.Tensor]) -> None:
    cls, kwargs = TINY[name]
    model = make_model(cls, **kwargs)
    with pytest.raises(ValueError, match=r"built for images of size \(5, 6\), got \(6, 5\)"):
        model(make_images(channels=3, size=(6, 5), levels=4))


def test_independent_pixels_starts_uniform(make_images: Callable[..., torch.Tensor]) -> None:
    model = models.IndependentPixels(in_channels=1, levels=4, image_size=(3, 3))
    log_prob = model.log_prob(make_images(size=(3, 3), levels=4))
    assert torch.allclose(log_prob, torch.full_like(log_prob, -math.log(4)))


def test_made_connectivity_is_strictly_autoregressive() -> None:
    model = models.MADE(in_channels=1, levels=2, image_size=(2, 2), hidden=3)
    masks = [layer.mask for layer in model.net if hasattr(layer, "mask")]
    total = masks[0]
    for mask in masks[1:]:
        total = mask @ total  # paths from input sub-pixel to output unit
    per_output = total.view(4, model.per_dim, 4).sum(1)  # (output sub-pixel, input sub-pixel)
    assert torch.equal(per_output != 0, torch.ones(4, 4).tril(-1).bool())


def test_model_name_and_from_config_errors() -> None:
    class Unregistered(models.PixelCNN):
        pass

    with pytest.raises(ValueError, match="Unregistered is not a registered model"):
        models.model_name(Unregistered(hidden=8, n_layers=1))
    with pytest.raises(ValueError, match="unknown model 'pixelsnail'.*'gated'.*'made'"):
        models.from_config("pixelsnail", {})


def test_pixelcnn_rejects_a_first_layer_that_sees_nothing() -> None:
    with pytest.raises(ValueError, match="input_kernel_size"):
        models.PixelCNN(hidden=8, n_layers=1, input_kernel_size=1)


# ----------------------------------------------------------------------------- issue 12: validation gaps


@pytest.mark.parametrize(
    ("cls", "kwargs", "error", "pattern"),
    [
        (models.PixelCNN, dict(n_layers=1, dilations=[1.7]), TypeError, "dilations must be an int, got float 1.7"),
        (models.PixelCNN, dict(n_layers=2, dilations=[1, True]), TypeError, "dilations must be an int, got bool"),
        (models.PixelCNN, dict(n_layers=1, dilations=[0]), ValueError, "dilations must be >= 1, got 0"),
        (models.PixelCNN, dict(n_layers=1, dilations=2), TypeError, "dilations must be a list or tuple of ints, got int 2"),
        (models.GatedPixelCNN, dict(n_layers=1, dilations=[2.0]), TypeError, "dilations must be an int, got float"),
        (models.MADE, dict(hidden=16.7), TypeError, "hidden must be an int, got float 16.7"),
        (models.MADE, dict(hidden=[16]), TypeError, r"hidden must be an int, got list \[16\]"),
        (models.MADE, dict(n_layers=0), ValueError, "n_layers must be >= 1, got 0"),
        (models.PixelCNN, dict(input_kernel_size="7"), TypeError, "input_kernel_size must be an int, got str '7'"),
        (models.GatedPixelCNN, dict(input_kernel_size=7.0), TypeError, "input_kernel_size must be an int, got float"),
        (models.PixelCNN, dict(kernel_size="3"), TypeError, "kernel_size must be an int, got str '3'"),
        (models.GatedPixelCNN, dict(kernel_size=3.0), TypeError, "kernel_size must be an int, got float"),
        (models.PixelCNN, dict(likelihood="categorical"), TypeError,
         r"likelihood must be a likelihood object such as likelihoods.Categorical\(levels\).*got str 'categorical'"),
        (models.GatedPixelCNN, dict(likelihood=likelihoods.Categorical), TypeError, "likelihood must be a likelihood object"),
        (models.PixelCNNPlusPlus, dict(likelihood=3), TypeError, "likelihood must be a likelihood object"),
        (models.MADE, dict(image_size="28"), TypeError, r"image_size must be an int or a pair \(H, W\) of ints, got str '28'"),
        (models.MADE, dict(image_size=(28.0, 28)), TypeError, "image_size must be an int, got float 28.0"),
        (models.MADE, dict(image_size=(4, 4, 4)), ValueError, r"image_size must be an int or a pair \(H, W\), got \(4, 4, 4\)"),
        (models.IndependentPixels, dict(image_size=None), TypeError, "image_size must be an int or a pair"),
    ],
)
def test_bad_constructor_arguments_get_clear_errors(cls: type, kwargs: dict, error: type[Exception], pattern: str) -> None:
    defaults = dict(hidden=8, n_layers=1) if cls in (models.PixelCNN, models.GatedPixelCNN) else {}
    with pytest.raises(error, match=pattern):
        cls(**{**defaults, **kwargs})


@pytest.mark.parametrize("cls", [models.MADE, models.IndependentPixels])
def test_fixed_size_models_take_an_int_image_size_as_a_square(cls: type) -> None:
    model = cls(levels=2, image_size=3)
    assert model.image_size == (3, 3) and model.config()["image_size"] == [3, 3]


@pytest.mark.parametrize("cls", [models.PixelCNN, models.GatedPixelCNN, models.PixelCNNPlusPlus, models.MADE,
                                 models.IndependentPixels, models.PixelTransformer, models.AutoregressiveModel])
def test_constructor_arguments_after_in_channels_and_levels_are_keyword_only(cls: type) -> None:
    import inspect

    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [p.name for p in parameters[:2]] == ["in_channels", "levels"]
    assert all(p.kind is p.KEYWORD_ONLY for p in parameters[2:]), [p.name for p in parameters[2:] if p.kind is not p.KEYWORD_ONLY]


@pytest.mark.parametrize("name", list(TINY))
def test_forward_names_a_dtype_mismatch_with_the_model(name: str, make_model, make_images) -> None:
    cls, kwargs = TINY[name]
    model = make_model(cls, **kwargs)
    x = make_images(n=2, channels=3, size=(5, 6), levels=4)
    with pytest.raises(TypeError, match=r"x has dtype torch.float64 but the model's parameters are torch.float32.*x.float\(\).*model.double\(\)"):
        model(x.double())
    with pytest.raises(TypeError, match="x has dtype torch.float64"):
        model.log_prob(x.double())
    model.double()
    with pytest.raises(TypeError, match=r"x has dtype torch.float32 but the model's parameters are torch.float64.*x.double\(\)"):
        model(x)
    assert model.log_prob(x.double()).dtype == torch.float64


def test_hides_current_pixel_says_whether_one_pass_gives_every_channel_of_a_pixel() -> None:
    """True exactly when no parameter of pixel (i, j) depends on any sub-pixel of (i, j), checked by autograd."""
    mixture = likelihoods.DiscretizedLogisticMixture(2, 4)
    torch.manual_seed(0)  # the initial weights, so the check does not depend on the tests run before it
    built = {
        "pixelcnn grey": models.PixelCNN(1, 4, hidden=8, n_layers=1),
        "pixelcnn rgb": models.PixelCNN(3, 4, hidden=12, n_layers=1),
        "pixelcnn rgb, channels independent": models.PixelCNN(3, 4, hidden=12, n_layers=1, color_groups=1),
        "pixelcnn rgb, coupled mixture": models.PixelCNN(3, 4, hidden=12, n_layers=1, likelihood=mixture),
        "gated rgb": models.GatedPixelCNN(3, 4, hidden=6, n_layers=1),
        "gated rgb, channels independent": models.GatedPixelCNN(3, 4, hidden=6, n_layers=1, color_groups=1),
        "pixelcnn++ rgb": models.PixelCNNPlusPlus(3, 4, hidden=4, n_mix=2),
        "made grey": models.MADE(1, 4, image_size=(4, 4), hidden=64),
        "made rgb": models.MADE(3, 4, image_size=(4, 4), hidden=64),
        "independent rgb": models.IndependentPixels(3, 4, image_size=(4, 4)),
        "transformer grey": models.PixelTransformer(1, 4, hidden=8, n_heads=2, n_layers=1),
        "transformer rgb": models.PixelTransformer(3, 4, hidden=8, n_heads=2, n_layers=1),
        "transformer rgb, coupled mixture": models.PixelTransformer(3, 4, hidden=8, n_heads=2, n_layers=1, likelihood=mixture),
    }
    expected = {name: "rgb" not in name or "independent" in name or "coupled" in name or "++" in name for name in built}
    x = torch.randint(4, (2, 3, 4, 4), generator=torch.Generator().manual_seed(0)).float() / 3
    for name, model in built.items():
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1)))
        grad = receptive_field.input_gradient(model, x[:, : model.in_channels], lambda out: out[:, :, 2, 1])
        sees_its_pixel = bool(grad[:, 2, 1].ne(0).any())
        assert model.hides_current_pixel is expected[name] is not sees_its_pixel, name
