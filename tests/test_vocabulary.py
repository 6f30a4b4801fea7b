"""One vocabulary (issue 28): each constructor argument means one thing in every model, a model's
config is its signature read back, the old names still load, and ``params`` still works as ``network``."""

from __future__ import annotations

import inspect

import pytest
import torch

from pixelcnn_edu import checkpoints, models

SMALL = {
    "pixelcnn": dict(hidden=8, n_layers=1, input_kernel_size=3),
    "gated": dict(hidden=4, n_layers=1, input_kernel_size=3),
    "pixelcnn++": dict(hidden=4, n_layers=1, n_mix=2),
    "made": dict(image_size=(2, 2), hidden=6, n_layers=2),
    "independent": dict(image_size=(2, 2)),
    "transformer": dict(hidden=8, n_layers=1, n_heads=2, image_size=(4, 4)),
}


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_config_keys_are_the_constructors_arguments(name: str) -> None:
    cls = models.MODELS[name]
    model = cls(**SMALL[name])
    assert list(model.config()) == list(inspect.signature(cls.__init__).parameters)[1:]
    assert models.from_config(name, model.config()).config() == model.config()


@pytest.mark.parametrize("name", sorted(set(models.MODELS) - {"independent"}))
def test_every_network_takes_hidden_and_n_layers_and_one_channel_by_default(name: str) -> None:
    parameters = inspect.signature(models.MODELS[name].__init__).parameters
    assert {"hidden", "n_layers"} <= set(parameters)
    assert parameters["in_channels"].default == 1
    assert not {"d_model", "n_resnet", "max_size"} & set(parameters)


def test_a_subclass_that_forgets_an_attribute_gets_a_named_error() -> None:
    class Extra(models.PixelCNN):
        def __init__(self, gain: float = 2.0, **kwargs) -> None:
            super().__init__(**kwargs)

    with pytest.raises(AttributeError, match="set self.gain in __init__"):
        Extra(hidden=8, n_layers=1).config()


OLD = {  # configs as version 0.2 wrote them, and the same model in today's names
    "transformer": (
        dict(in_channels=1, levels=2, d_model=8, n_layers=1, n_heads=2, dropout=0.0, max_size=[4, 4], n_classes=None),
        dict(hidden=8, image_size=[4, 4]),
    ),
    "pixelcnn++": (dict(in_channels=1, levels=256, hidden=4, n_resnet=2, n_mix=2, dropout=0.0, n_classes=None, class_maps=0), dict(n_layers=2)),
    "made": (dict(in_channels=1, levels=2, image_size=[2, 2], hidden=[6, 6]), dict(hidden=6, n_layers=2)),
}


@pytest.mark.parametrize("name", sorted(OLD))
def test_a_checkpoint_with_the_old_argument_names_loads(name: str, tmp_path) -> None:
    old, renamed = OLD[name]
    model = models.from_config(name, old)
    assert {k: model.config()[k] for k in renamed} == renamed
    state = {
        "format": checkpoints.FORMAT, "name": name, "config": old, "model": model.state_dict(), "epoch": 1, "step": 1,
        "history": {"train_bpd": [], "test_bpd": [], "images_per_s": [], "seconds": []},
        "versions": {"pixelcnn_edu": "0.2.0", "torch": str(torch.__version__)},
    }
    path = tmp_path / "old.pt"
    torch.save(state, path)
    loaded, stored = checkpoints.load_model(path)
    assert {k: stored["config"][k] for k in renamed} == renamed and set(stored["config"]) <= set(loaded.config())
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))


def test_made_widths_that_differ_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"share one width.*\[6, 4\]"):
        models.from_config("made", dict(in_channels=1, levels=2, image_size=[2, 2], hidden=[6, 4]))


def test_the_shipped_pixelcnnpp_checkpoint_is_read_in_todays_names() -> None:
    model, state = checkpoints.load_model(checkpoints.bundled_checkpoint("pixelcnnpp_colored_mnist"))
    assert "n_resnet" not in state["config"] and state["config"] == model.config()


def _model() -> models.PixelCNN:
    torch.manual_seed(0)
    return models.PixelCNN(levels=2, hidden=8, n_layers=1, input_kernel_size=3)


def test_params_is_the_old_name_of_network() -> None:
    model, x = _model(), torch.rand(2, 1, 4, 4)
    assert torch.equal(model.params(x, None), model.network(x, None))


def test_a_subclass_written_for_params_is_still_used_by_forward() -> None:
    class Doubled(models.PixelCNN):
        def params(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
            return 2 * super().params(x, y)

    class Tripled(Doubled):  # an old-style subclass of an old-style subclass
        def params(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
            return 1.5 * super().params(x, y)

    base, x = _model(), torch.zeros(1, 1, 4, 4)
    for cls, factor in ((Doubled, 2), (Tripled, 3)):
        model = cls(levels=2, hidden=8, n_layers=1, input_kernel_size=3)
        model.load_state_dict(base.state_dict())
        assert torch.allclose(model(x), factor * base(x))


WRONG_TYPES = ("seven", 2.5, True, [1], None)


def _arguments(name: str) -> list[str]:
    skip = {"likelihood", "dilations", "image_size", "n_classes", "n_mix", "color_groups", "skip_channels"}  # None is valid there
    return [a for a in list(inspect.signature(models.MODELS[name].__init__).parameters)[1:] if a not in skip]


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_a_wrong_type_is_a_type_error_and_a_wrong_value_a_value_error_naming_the_argument(name: str) -> None:
    """One exception type per kind of mistake, for every constructor argument of every model."""
    for argument in _arguments(name):
        default = inspect.signature(models.MODELS[name].__init__).parameters[argument].default
        for wrong in WRONG_TYPES:
            if type(wrong) is type(default) or (isinstance(default, float) and type(wrong) is float):
                continue  # the right type: a flag's True, a name, a float rate
            with pytest.raises(TypeError, match=argument):
                models.MODELS[name](**{**SMALL[name], argument: wrong})
        wrong_value = {str: "seven", bool: None}.get(type(default), -3)
        if wrong_value is not None:
            with pytest.raises(ValueError, match=argument):
                models.MODELS[name](**{**SMALL[name], argument: wrong_value})
    for argument, wrong in (("color_groups", 2.5), ("n_classes", "ten"), ("skip_channels", "8")):
        if argument in inspect.signature(models.MODELS[name].__init__).parameters:
            with pytest.raises(TypeError, match=argument):
                models.MODELS[name](**{**SMALL[name], argument: wrong})


def test_class_maps_without_labels_is_refused_by_its_own_name() -> None:
    with pytest.raises(ValueError, match="class_maps=2 needs class labels"):
        models.GatedPixelCNN(hidden=4, n_layers=1, class_maps=2)


def test_one_spelling_with_the_old_names_kept_working() -> None:
    from pixelcnn_edu import data, viz

    assert data.quantise is data.quantize and data.binarise is data.binarize
    assert {"HIGHLIGHT_COLOR", "BAR_COLOR"} <= set(dir(viz)) and not [n for n in dir(viz) if "COLOUR" in n]


@pytest.mark.parametrize(("cls", "old", "new"), [
    (models.PixelTransformer, "d_model", "hidden"), (models.PixelTransformer, "max_size", "image_size"),
    (models.PixelCNNPlusPlus, "n_resnet", "n_layers"),
])
def test_an_argument_by_its_old_name_is_refused_with_the_new_one(cls, old: str, new: str) -> None:
    with pytest.raises(TypeError, match=f"takes {new}= \\(called {old} before version 0.3\\)"):
        cls(**{old: 8})
