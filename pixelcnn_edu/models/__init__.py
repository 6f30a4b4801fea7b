"""Autoregressive image models that share one interface.

Every model here

* takes a float batch ``x`` (B, C, H, W) in [0, 1] on the level grid and returns
  distribution parameters (B, P, H, W) from ``model(x, y=None)``;
* scores images with ``model.log_prob(x, y=None) -> (B, C, H, W)`` nats, where entry
  (c, i, j) depends only on sub-pixels before (c, i, j) in raster order;
* exposes ``levels``, ``in_channels``, ``likelihood`` (a :class:`likelihoods.Likelihood`),
  ``hides_current_pixel`` (whether one pass gives every channel of a pixel, for the sampler) and
  ``config()`` (its constructor arguments, so a checkpoint can rebuild it with ``models.from_config``);
* takes ``in_channels`` and ``levels`` first and every other constructor argument by keyword.

The models live in one module each; import them from here (``from pixelcnn_edu import models;
models.PixelCNN(...)``), together with the registry that names them:

* ``base``: ``AutoregressiveModel``, the interface above (``LikelihoodArg``), and the argument
  checks the models share;
* ``pixelcnn``: ``PixelCNN``, the residual PixelCNN;
* ``gated``: ``GatedPixelCNN``, two stacks and gates;
* ``plusplus``: ``PixelCNNPlusPlus``, shifted streams and a logistic mixture;
* ``made``: ``MADE``, a masked MLP, and the ``IndependentPixels`` baseline;
* ``transformer``: ``PixelTransformer``, causal self-attention over the raster sequence;
* here: ``MODELS`` (name -> class), ``model_name`` and ``from_config``, which rebuild a model from a checkpoint
  (``upgrade_config`` reads a config written before the arguments got one meaning each).
"""

from __future__ import annotations

from typing import Any

from .base import AutoregressiveModel, LikelihoodArg
from .gated import GatedPixelCNN
from .made import MADE, IndependentPixels
from .pixelcnn import PixelCNN
from .plusplus import PixelCNNPlusPlus
from .transformer import PixelTransformer

__all__ = [
    "MADE", "MODELS", "AutoregressiveModel", "GatedPixelCNN", "IndependentPixels", "LikelihoodArg", "PixelCNN",
    "PixelCNNPlusPlus", "PixelTransformer", "from_config", "model_name",
]

MODELS: dict[str, type[AutoregressiveModel]] = {
    "pixelcnn": PixelCNN,
    "gated": GatedPixelCNN,
    "pixelcnn++": PixelCNNPlusPlus,
    "made": MADE,
    "independent": IndependentPixels,
    "transformer": PixelTransformer,
}


def model_name(model: AutoregressiveModel) -> str:
    """The registry name of a model's class (the key in ``MODELS``)."""
    for name, cls in MODELS.items():
        if type(model) is cls:
            return name
    raise ValueError(f"{type(model).__name__} is not a registered model; known: {sorted(MODELS)}")


RENAMED = {"pixelcnn++": {"n_resnet": "n_layers"}, "transformer": {"d_model": "hidden", "max_size": "image_size"}}
"""Arguments renamed in version 0.3 so that each name means one thing in every model: {model: {old: new}}."""


def upgrade_config(name: str, config: dict[str, Any]) -> dict[str, Any]:
    """A config written before version 0.3 in today's names (others unchanged): PixelCNN++'s ``n_resnet``
    is ``n_layers``, the transformer's ``d_model`` and ``max_size`` are ``hidden`` and ``image_size``,
    and MADE's list of equal widths ``hidden=[w, ..., w]`` is ``hidden=w, n_layers=len(list)``."""
    config = {RENAMED.get(name, {}).get(key, key): value for key, value in config.items()}
    widths = config.get("hidden")
    if name == "made" and isinstance(widths, (list, tuple)):
        if not widths or len(set(widths)) != 1:
            raise ValueError(f"MADE's hidden layers now share one width (hidden=w, n_layers=n); this config has widths {list(widths)}")
        config["hidden"], config["n_layers"] = widths[0], len(widths)
    return config


def from_config(name: str, config: dict[str, Any]) -> AutoregressiveModel:
    """Rebuild a model from its registry name and ``config()`` (a config from before version 0.3 too)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    return MODELS[name](**upgrade_config(name, config))
