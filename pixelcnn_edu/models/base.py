"""What every model shares: ``AutoregressiveModel`` (input checks, ``log_prob``, the config) and the
checks of the constructor arguments that several models take."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Sequence

import torch
from torch import nn

from .. import likelihoods
from ..checks import check_follows_model, check_images, check_int, check_labels, check_levels, check_positive_int
from ..likelihoods import Likelihood
from ..masks import check_color_convention, check_kernel_size

LikelihoodArg = Likelihood | dict[str, Any] | None  # an object, its config() dict, or None for the model's default
OLD_NAMES = {"d_model": "hidden", "max_size": "image_size", "n_resnet": "n_layers"}  # renamed in version 0.3


def _positive_ints(name: str, values: Sequence[int]) -> list[int]:
    """``values`` (a list or tuple) as a list of ints >= 1; ``name`` names it in the error."""
    if not isinstance(values, (list, tuple)):
        raise TypeError(f"{name} must be a list or tuple of ints, got {type(values).__name__} {values!r}")
    return [check_positive_int(name, v) for v in values]


def _dilations(dilations: Sequence[int] | None, n_layers: int) -> list[int]:
    """One dilation per layer, each an int >= 1 (a float such as 1.7 would be cut to 1); default all 1."""
    if dilations is None:
        return [1] * n_layers
    dilations = _positive_ints("dilations", dilations)
    if len(dilations) != n_layers:
        raise ValueError(f"dilations must have one entry per layer ({n_layers}), got {len(dilations)}")
    return dilations


def _dropout(dropout: float) -> float:
    """``dropout`` as a float in [0, 1): the fraction of features zeroed in training mode."""
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
        raise TypeError(f"dropout must be a number in [0, 1), got {type(dropout).__name__} {dropout!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    return float(dropout)


def _class_maps(class_maps: int, n_classes: int | None) -> int:
    """``class_maps``: an int >= 0, and 0 unless the model is class-conditional (the maps belong to the labels)."""
    check_int("class_maps", class_maps, 0)
    if class_maps and n_classes is None:
        raise ValueError(f"class_maps={class_maps} needs class labels: set n_classes")
    return class_maps


def _input_kernel_size(kernel_size: int) -> int:
    """The first layer's kernel: odd, and >= 3 because a 1x1 mask-A first layer sees no pixel."""
    check_kernel_size(kernel_size, "input_kernel_size")
    if kernel_size < 3:
        raise ValueError(f"input_kernel_size must be >= 3 (a 1x1 mask-A first layer sees no pixel), got {kernel_size}")
    return kernel_size


def _color_groups(in_channels: int, color_groups: int | None, convention: str, likelihood: Likelihood) -> int:
    """Validate ``color_groups`` (None -> one group per channel, R -> G -> B) and the convention.

    A likelihood that couples the channels of a pixel (PixelCNN++'s mixture) orders them itself, so
    every parameter of a pixel must come from earlier pixels only: one colour group, whose mask A
    hides the whole current pixel.
    """
    if color_groups is not None:
        check_positive_int("color_groups", color_groups)
    if likelihood.couples_channels:
        if color_groups not in (None, 1):
            raise ValueError(
                f"{likelihood!r} couples the channels of a pixel itself, so the masks must hide the whole "
                f"current pixel: use color_groups=1 (or None), got {color_groups}"
            )
        check_color_convention(convention)
        return 1
    groups = in_channels if color_groups is None else color_groups
    if groups not in (1, in_channels):
        raise ValueError(
            f"color_groups must be 1 (channels independent) or in_channels={in_channels} "
            f"(each channel after the earlier ones), got {color_groups}"
        )
    check_color_convention(convention)
    return groups


class AutoregressiveModel(nn.Module):
    """Base class: input checks, ``log_prob`` and the config every model keeps.

    ``n_classes`` is None for an unconditional model; a class-conditional model takes labels
    ``y`` (B,) in [0, n_classes) in ``forward``, ``log_prob`` and sampling.

    ``can_cache`` promises that this class's ``network`` runs unchanged on a region of the image while
    its layers hold caches (:mod:`incremental`), so ``sampling`` may compute one pixel at a time. Only
    the class that defines ``network`` can promise it: a subclass with its own ``network`` samples with
    the naive loop until it sets ``can_cache = True`` itself.

    The same argument means the same thing in every model: ``hidden`` is the width of the network
    (channels, units or features per token), ``n_layers`` the number of blocks it repeats after its
    input layer, ``image_size`` the (H, W) a model is built for (the transformer: the largest it takes). ``config()`` reads every constructor
    argument back from the attribute of the same name, so a model's config cannot drift from its
    signature.
    """

    can_cache: bool = False
    cache_state = None  # set while a sampling loop runs the model with caches (incremental.caching)

    def __init__(
        self, in_channels: int, levels: int, *, likelihood: LikelihoodArg = None, n_classes: int | None = None
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.n_classes = None if n_classes is None else check_positive_int("n_classes", n_classes)
        check_levels(levels)
        if likelihood is None:
            likelihood = likelihoods.Categorical(levels)
        elif isinstance(likelihood, dict):
            likelihood = likelihoods.from_config(likelihood)
        elif not isinstance(likelihood, Likelihood):
            raise TypeError(
                f"likelihood must be a likelihood object such as likelihoods.Categorical(levels) or "
                f"likelihoods.DiscretizedLogisticMixture(n_mix, levels) (or its config() dict), "
                f"got {type(likelihood).__name__} {likelihood!r}"
            )
        if likelihood.levels != levels:
            raise ValueError(
                f"likelihood has {likelihood.levels} levels but the model has levels={levels}; pass the same number to both"
            )
        self.likelihood: Likelihood = likelihood

    @property
    def levels(self) -> int:
        """Number of values each sub-pixel can take."""
        return self.likelihood.levels

    @property
    def hides_current_pixel(self) -> bool:
        """True if the parameters of pixel (i, j) depend on no sub-pixel of (i, j), so one pass gives
        the parameters of all its channels and the sampler runs the network once per pixel instead of
        once per sub-pixel. For one channel a causal model always hides it; for colour it depends on
        the masks, and False (a pass per channel) is always correct, only slower."""
        return self.in_channels == 1

    def config(self) -> dict[str, Any]:
        """The constructor arguments (plain Python values) that rebuild this model: each argument of
        ``type(self).__init__`` read back from the attribute of the same name (tuples as lists)."""
        config: dict[str, Any] = {}
        for name in list(inspect.signature(type(self).__init__).parameters)[1:]:
            if name == "likelihood":
                config[name] = self.likelihood.config()
            elif name == "levels":
                config[name] = self.levels
            elif hasattr(self, name):
                value = getattr(self, name)
                config[name] = list(value) if isinstance(value, tuple) else value
            else:
                raise AttributeError(
                    f"{type(self).__name__}.config() reads each constructor argument back from the attribute of the "
                    f"same name; set self.{name} in __init__"
                )
        return config

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Distribution parameters (B, P, H, W) for images ``x`` (B, C, H, W) in [0, 1]."""
        if self.cache_state is not None:
            raise RuntimeError(
                "this model is inside a cached sampling loop, which computes one region at a time; "
                "finish or close() that loop before calling the model on whole images"
            )
        check_images(x, in_channels=self.in_channels, levels=self.levels)
        check_follows_model(x, self)
        check_labels(y, batch_size=x.shape[0], n_classes=self.n_classes)
        self.check_image_size(tuple(x.shape[2:]))
        return self.network(2.0 * x - 1.0, y)  # the network sees inputs centred on 0, in [-1, 1]

    def register_output_order(self, order: torch.Tensor) -> None:
        """Keep ``order``, the indices that gather a head's maps into the likelihood's layout (R's
        parameters, then G's, then B's); :meth:`in_output_order` skips the gather when it is the identity."""
        self.register_buffer("output_order", order, persistent=False)
        self._checked_order: torch.Tensor | None = None

    def in_output_order(self, out: torch.Tensor) -> torch.Tensor:
        """(B, P, H, W) head maps -> the same maps in the likelihood's layout."""
        order = self.output_order
        if order is not self._checked_order:  # looked at once per tensor (a new device, a new order)
            self._checked_order, self._reorders = order, not torch.equal(order.cpu(), torch.arange(len(order)))
        return out[:, order] if self._reorders else out

    def check_image_size(self, size: tuple[int, int]) -> None:
        """Raise a ValueError if the model cannot take images of ``size`` (H, W); any size by default."""

    def network(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """The network proper: (B, C, H, W) in [-1, 1] -> distribution parameters (B, P, H, W)."""
        raise NotImplementedError(f"{type(self).__name__} defines no network(x, y)")

    def params(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """The old name of :meth:`network`, kept working: calling it, and overriding it in a subclass."""
        for cls in type(self).__mro__:  # the nearest network that is not a subclass's params under the new name
            method = cls.__dict__.get("network")
            if method is not None and not getattr(method, "is_old_params", False):
                return method(self, x, y)
        raise NotImplementedError(f"{type(self).__name__} defines no network(x, y)")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass written for the old name (it defines ``params``) gets it as its ``network``, and a
        constructor called with an argument's name from before version 0.3 says the new one."""
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            init = cls.__dict__["__init__"]
            renamed = OLD_NAMES.keys() - inspect.signature(init).parameters.keys()  # read once, at class creation

            @functools.wraps(init)
            def checked_init(self: AutoregressiveModel, *args: Any, **kwargs: Any) -> None:
                old = next((name for name in kwargs if name in renamed), None)
                if old is not None:
                    raise TypeError(f"{cls.__name__} takes {OLD_NAMES[old]}= (called {old} before version 0.3), got {old}=")
                init(self, *args, **kwargs)

            cls.__init__ = checked_init  # type: ignore[method-assign]
        if "params" in cls.__dict__ and "network" not in cls.__dict__:
            old = cls.__dict__["params"]

            def network(self: AutoregressiveModel, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
                return old(self, x, y)

            network.is_old_params = True  # type: ignore[attr-defined]
            cls.network = network  # type: ignore[method-assign]

    def log_prob(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """log p(x_(c,i,j) | earlier sub-pixels) in nats, shape (B, C, H, W).

        Under :func:`torch.autocast` (``fit(mixed_precision=True)``) only the network runs in the
        lower precision: its parameters are cast back to the images' dtype and the likelihood's
        log-sum-exps are computed there (bfloat16 keeps 8 significant bits: a log-probability of
        about -5 would be rounded to steps of 1/32)."""
        params = self(x, y)
        with torch.autocast(params.device.type, enabled=False):
            return self.likelihood.log_prob(params.to(x.dtype), x)
