"""Output distributions: how a model's parameters score and draw sub-pixel values.

A likelihood turns the model's output ``params`` (B, P, H, W) into per-sub-pixel
log-probabilities (B, C, H, W) and draws samples. Every likelihood offers

* ``param_channels(in_channels) -> P``: how many output maps the model must produce;
* ``log_prob(params, x) -> (B, C, H, W)`` in nats;
* ``sample(params, temperature=1.0, generator=None) -> (B, C, H, W)`` in [0, 1] on the level grid;
* ``probs(params, temperature=1.0, x=None) -> (B, C, levels, H, W)``: the distribution of every
  sub-pixel over the levels given the earlier channels of its pixel, read from ``x`` by a likelihood
  that couples channels (for the sampler, plots and widgets);
* ``couples_channels``: False if each channel is scored from its own slice of the parameters (the
  model must then order the channels with R -> G -> B masks), True if the likelihood itself models the
  channels of a pixel jointly (the model must then hide the whole current pixel);
* ``config()`` and ``likelihoods.from_config(cfg)`` so checkpoints can rebuild it.

:class:`Likelihood` writes this contract down; the models and the sampler use nothing else.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn.functional as F

from .checks import check_bool, check_levels, check_temperature


@runtime_checkable
class Likelihood(Protocol):
    """What a model and the sampler need from an output distribution (see the module docstring).

    ``isinstance(obj, Likelihood)`` checks that every member is there, so a model can tell a
    likelihood object from a name or a class passed by mistake.
    """

    @property
    def levels(self) -> int:
        """Values per sub-pixel."""

    @property
    def couples_channels(self) -> bool:
        """True if the likelihood orders the channels of a pixel itself (the model must hide the whole pixel)."""

    def param_channels(self, in_channels: int) -> int:
        """Output maps P the model must produce for ``in_channels`` image channels."""

    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(B, P, H, W) params and (B, C, H, W) images in [0, 1] -> (B, C, H, W) nats."""

    def probs(self, params: torch.Tensor, temperature: float = 1.0, x: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, levels, H, W): each sub-pixel's distribution given the earlier channels of ``x``."""

    def sample(self, params: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """(B, C, H, W) draws in [0, 1] on the level grid."""

    def config(self) -> dict[str, Any]:
        """Plain values that :func:`from_config` rebuilds it from."""


class Categorical:
    """A softmax over ``levels`` values for every sub-pixel.

    Parameter layout: ``params[:, c * levels + k]`` is the logit of level k for channel c
    (contiguous blocks, one per channel).
    """

    name = "categorical"
    couples_channels = False

    def __init__(self, levels: int = 256) -> None:
        self.levels = check_levels(levels)

    def __repr__(self) -> str:
        return f"Categorical(levels={self.levels})"

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "levels": self.levels}

    def param_channels(self, in_channels: int) -> int:
        """Output maps the model needs: one logit per level per channel."""
        return in_channels * self.levels

    def logits(self, params: torch.Tensor) -> torch.Tensor:
        """Reshape (B, C*levels, H, W) parameters to logits (B, C, levels, H, W)."""
        if params.dim() != 4 or params.shape[1] % self.levels:
            raise ValueError(
                f"params must have shape (B, C*{self.levels}, H, W) for Categorical(levels={self.levels}), "
                f"got {tuple(params.shape)}"
            )
        b, p, h, w = params.shape
        return params.view(b, p // self.levels, self.levels, h, w)

    def probs(self, params: torch.Tensor, temperature: float = 1.0, x: torch.Tensor | None = None) -> torch.Tensor:
        """Probabilities of every level, (B, C, levels, H, W); each sums to 1 over dim 2.

        ``x`` is not needed: each channel's logits already hold everything it conditions on.
        """
        return tempered_softmax(self.logits(params), temperature, dim=2)

    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x) per sub-pixel in nats, (B, C, H, W). ``x`` is (B, C, H, W) float in [0, 1]."""
        logits = self.logits(params)
        if x.shape != logits.shape[:2] + logits.shape[3:]:
            raise ValueError(f"x has shape {tuple(x.shape)} but params describe {tuple(logits.shape[:2] + logits.shape[3:])}")
        index = to_level_index(x, self.levels)  # (B, C, H, W) long
        log_p = F.log_softmax(logits, dim=2)  # log softmax over the levels
        return log_p.gather(2, index.unsqueeze(2)).squeeze(2)

    def sample(
        self, params: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Draw one value per sub-pixel, (B, C, H, W) float in [0, 1] on the level grid."""
        probs = self.probs(params, temperature)  # (B, C, L, H, W)
        flat = probs.movedim(2, -1).reshape(-1, self.levels)
        index = torch.multinomial(flat, 1, generator=generator)
        shape = probs.movedim(2, -1).shape[:-1]
        return index.view(shape).to(params.dtype) / (self.levels - 1)


LOG_SCALE_LIMIT = 80.0
"""The widest log-scale bounds a :class:`DiscretizedLogisticMixture` accepts: [-80, 80]. A bin edge is
(x - mean) * exp(-log_scale) and float32 ends at 3.4e38 = exp(88.7). At exp(80) = 5.5e34 the edges stay
finite for any mean within +-6,000 of the data's [-1, 1] (the network's means are not bounded); below
about -88 even a mean inside the data overflows, inf - inf turns the bin masses into NaN. At the other
end exp(-80) = 1.8e-35 is still a normal float32, so the bin widths and their gradients stay finite."""


class DiscretizedLogisticMixture:
    """A mixture of ``n_mix`` logistic distributions per sub-pixel, discretised into ``levels`` bins
    (PixelCNN++, Salimans et al. 2017).

    Values live on [-1, 1] (``2x - 1``), cut into bins of width 2 / (levels - 1) centred on the levels.
    A component with mean mu and scale s gives level k the logistic mass of its bin,
    sigmoid((upper - mu) / s) - sigmoid((lower - mu) / s). The lowest bin takes all the mass below it
    and the highest all the mass above it, so the probabilities of the levels sum to exactly 1.
    Everything is computed in log space without subtracting two probabilities:
    log(sigmoid(a) - sigmoid(b)) = a + log(-expm1(b - a)) - softplus(a) - softplus(b), with
    b - a = -bin width / s taken exactly, and log-scales kept smoothly within
    [``log_scale_min``, ``log_scale_max``], both within +-:data:`LOG_SCALE_LIMIT` (80), where float32
    stays finite. The lower bound caps how sure one component can be of an interior level: at most
    tanh(1 / (2 (levels - 1) exp(log_scale_min))) of its mass, 0.973 at
    256 levels and PixelCNN++'s -7. The edge levels take whole tails and have no such cap, so grey
    digits on a background of exactly 0 never meet it; coloured digits, whose backgrounds are interior
    levels, do (README, "the log-scale bound").

    ``coupled=True`` (PixelCNN++): one set of mixture weights per pixel, shared by its channels; the
    mean of channel c is shifted by tanh-squashed coefficients times the current values of the
    channels before it (G by alpha * R, B by beta * R + gamma * G). ``log_prob`` still returns the
    per-sub-pixel conditionals log p(x_c | x_<c, earlier pixels), as differences of cumulative
    log-sum-exps over the components. ``coupled=False``: an independent mixture per channel.

    Parameter layout, M = n_mix, C channels. Coupled: M mixture logits, then C*M means, C*M
    log-scales and C(C-1)/2*M coefficients (10 M for RGB, 3 M for grey). Uncoupled: one block of
    (M logits, M means, M log-scales) per channel, R's block first.
    """

    name = "logistic_mixture"

    def __init__(
        self,
        n_mix: int = 10,
        levels: int = 256,
        coupled: bool = True,
        log_scale_min: float = -7.0,
        log_scale_max: float = 5.0,
    ) -> None:
        if isinstance(n_mix, bool) or not isinstance(n_mix, int) or n_mix < 1:
            raise ValueError(f"n_mix must be an int >= 1 (the number of logistic components), got {n_mix!r}")
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in (log_scale_min, log_scale_max)):
            raise ValueError(f"log_scale_min and log_scale_max must be finite numbers, got {log_scale_min!r} and {log_scale_max!r}")
        if not log_scale_min < log_scale_max:
            raise ValueError(f"log_scale_min must be below log_scale_max, got {log_scale_min} and {log_scale_max}")
        if not (-LOG_SCALE_LIMIT <= log_scale_min and log_scale_max <= LOG_SCALE_LIMIT):
            raise ValueError(
                f"log_scale_min and log_scale_max must lie in [-{LOG_SCALE_LIMIT:g}, {LOG_SCALE_LIMIT:g}], got {log_scale_min} "
                f"and {log_scale_max}: beyond, float32 overflows (a bin edge (x - mean) * exp(-log_scale) below -{LOG_SCALE_LIMIT:g}) "
                f"and the bin masses or their gradients become NaN"
            )
        self.levels = check_levels(levels)
        self.n_mix, self.coupled = n_mix, check_bool("coupled", coupled)
        self.log_scale_min, self.log_scale_max = float(log_scale_min), float(log_scale_max)

    @property
    def couples_channels(self) -> bool:
        """True when the channels of a pixel share mixture weights and shift each other's means."""
        return self.coupled

    def __repr__(self) -> str:
        return f"DiscretizedLogisticMixture(n_mix={self.n_mix}, levels={self.levels}, coupled={self.coupled})"

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name, "n_mix": self.n_mix, "levels": self.levels, "coupled": self.coupled,
            "log_scale_min": self.log_scale_min, "log_scale_max": self.log_scale_max,
        }

    def param_channels(self, in_channels: int) -> int:
        """Output maps the model needs for ``in_channels`` image channels (see the class docstring)."""
        c = in_channels
        return self.n_mix * (1 + 2 * c + c * (c - 1) // 2) if self.coupled else 3 * self.n_mix * c

    def _channels(self, params: torch.Tensor) -> int:
        if params.dim() != 4:
            raise ValueError(f"params must have shape (B, P, H, W), got {tuple(params.shape)}")
        for c in range(1, params.shape[1] + 1):
            if self.param_channels(c) == params.shape[1]:
                return c
        expected = ", ".join(f"{self.param_channels(c)} for {c}" for c in (1, 2, 3))
        raise ValueError(
            f"params have {params.shape[1]} channels, which fits no image for {self!r}; expected {expected} image channel(s)"
        )

    def split(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(logits, means, log_scales, coefficients) from params (B, P, H, W).

        logits (B, 1 or C, M, H, W); means and bounded log_scales (B, C, M, H, W); coefficients
        (B, C(C-1)/2, M, H, W) in (-1, 1), or None without coupling.
        """
        c, m = self._channels(params), self.n_mix
        b, _, h, w = params.shape
        if self.coupled:
            logits = params[:, :m].view(b, 1, m, h, w)
            means = params[:, m : m + c * m].view(b, c, m, h, w)
            raw_scales = params[:, m + c * m : m + 2 * c * m].view(b, c, m, h, w)
            coeffs = torch.tanh(params[:, m + 2 * c * m :].reshape(b, c * (c - 1) // 2, m, h, w))
        else:
            blocks = params.view(b, c, 3, m, h, w)
            logits, means, raw_scales, coeffs = blocks[:, :, 0], blocks[:, :, 1], blocks[:, :, 2], None
        return logits, means, self.bound_log_scales(raw_scales), coeffs

    def bound_log_scales(self, raw_scales: torch.Tensor) -> torch.Tensor:
        """A smooth clamp of the raw log-scales to (log_scale_min, log_scale_max): the identity in
        between, with a gradient everywhere (a hard clamp at -7, as in the reference code, has none below)."""
        low, high = self.log_scale_min, self.log_scale_max
        return high - F.softplus(high - (low + F.softplus(raw_scales - low)))

    def pack(
        self,
        logits: torch.Tensor,
        means: torch.Tensor,
        log_scales: torch.Tensor,
        coeffs: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The inverse of :meth:`split`: params (B, P, H, W) that describe the given mixture.

        Shapes as ``split`` returns them: logits (B, 1, M, H, W) when coupled, else (B, C, M, H, W);
        means and log_scales (B, C, M, H, W), log-scales strictly inside the bounds; coefficients
        (B, C(C-1)/2, M, H, W) in (-1, 1) when coupled (None or zeros without channels to couple).
        Lets a notebook or a test write down a mixture by hand and hand it to ``log_prob``.
        """
        if means.dim() != 5 or means.shape[2] != self.n_mix:
            raise ValueError(f"means must have shape (B, C, {self.n_mix}, H, W), got {tuple(means.shape)}")
        b, c, m, h, w = means.shape
        if log_scales.shape != means.shape:
            raise ValueError(f"log_scales must have the shape of means {tuple(means.shape)}, got {tuple(log_scales.shape)}")
        low, high = self.log_scale_min, self.log_scale_max
        if not bool(((log_scales > low) & (log_scales < high)).all()):
            raise ValueError(f"log_scales must lie strictly between {low} and {high}")
        raw_scales = low + _inverse_softplus(high - _inverse_softplus(high - log_scales) - low)  # undo split's clamp
        groups = 1 if self.coupled else c
        if logits.shape != (b, groups, m, h, w):
            raise ValueError(f"logits must have shape {(b, groups, m, h, w)}, got {tuple(logits.shape)}")
        if not self.coupled:
            return torch.stack([logits, means, raw_scales], 2).reshape(b, 3 * c * m, h, w)
        pairs = c * (c - 1) // 2
        coeffs = means.new_zeros(b, pairs, m, h, w) if coeffs is None else coeffs
        if coeffs.shape != (b, pairs, m, h, w):
            raise ValueError(f"coeffs must have shape {(b, pairs, m, h, w)}, got {tuple(coeffs.shape)}")
        if not bool((coeffs.abs() < 1).all()):
            raise ValueError("coeffs must lie strictly between -1 and 1 (they pass through tanh)")
        parts = [logits, means, raw_scales, torch.atanh(coeffs)]
        return torch.cat([part.reshape(b, -1, h, w) for part in parts], 1)

    def _shifted_means(self, means: torch.Tensor, coeffs: torch.Tensor | None, values: torch.Tensor) -> torch.Tensor:
        """Means (B, C, M, H, W) with channel c shifted by its coefficients times the values (B, C, H, W)
        in [-1, 1] of the channels before it."""
        if coeffs is None or means.shape[1] == 1:
            return means
        shifted, pair = [means[:, 0]], 0
        for c in range(1, means.shape[1]):
            mean = means[:, c]
            for earlier in range(c):
                mean = mean + coeffs[:, pair] * values[:, earlier, None]
                pair += 1
            shifted.append(mean)
        return torch.stack(shifted, 1)

    def log_bin_mass(
        self, level: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor, *, edge_bins: bool = True
    ) -> torch.Tensor:
        """log P(level) of one logistic component; broadcasts its arguments.

        ``level`` holds integer levels 0..levels-1, ``mean`` and ``log_scale`` live on [-1, 1]'s scale.
        ``edge_bins=False`` reproduces a common mistake, for demonstration only: the lowest and
        highest levels get only their own bin, the tails beyond are lost and the levels no longer
        sum to 1.
        """
        upper, lower = _standard_bin_edges(level, mean, log_scale, self.levels)  # a and b
        width = 2.0 / (self.levels - 1) * torch.exp(-log_scale)  # a - b, exactly
        inside = upper + torch.log(-torch.expm1(-width)) - F.softplus(upper) - F.softplus(lower)
        lowest = -F.softplus(-upper)  # log sigmoid(a): all the mass below the upper edge
        highest = -F.softplus(lower)  # log (1 - sigmoid(b)): all the mass above the lower edge
        if not edge_bins:
            return inside
        return torch.where(level == 0, lowest, torch.where(level == self.levels - 1, highest, inside))

    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x_c | x_<c in the pixel, earlier pixels) per sub-pixel in nats, (B, C, H, W)."""
        logits, means, log_scales, coeffs = self.split(params)
        if x.shape != means.shape[:2] + means.shape[3:]:
            raise ValueError(f"x has shape {tuple(x.shape)} but params describe {tuple(means.shape[:2] + means.shape[3:])}")
        index = to_level_index(x, self.levels)  # the scored values, as levels (no gradient)
        means = self._shifted_means(means, coeffs, 2 * x - 1)  # earlier channels enter with their gradient
        log_mass = self.log_bin_mass(index[:, :, None], means, log_scales)  # (B, C, M, H, W)
        return torch.logsumexp(self._posterior(logits, log_mass) + log_mass, dim=2)

    def _posterior(self, logits: torch.Tensor, log_mass: torch.Tensor) -> torch.Tensor:
        """log weights of the components for channel c given the pixel's channels before it, (B, C, M, H, W).

        Without coupling these are the mixture weights. With coupling, the weight of component m for
        channel c is proportional to pi_m * P_m(x_1) ... P_m(x_(c-1)), from the log masses (B, C, M, H, W)
        of the observed values. Then log p(x_c | x_<c) = logsumexp_m(posterior + log P_m(x_c)), which is
        the difference of the cumulative log-sum-exps log p(x_1..x_c) - log p(x_1..x_(c-1)), computed
        after normalising so that no two large numbers are subtracted.
        """
        log_weights = F.log_softmax(logits, dim=2)
        if not self.coupled:
            return log_weights
        earlier = F.pad(torch.cumsum(log_mass, dim=1)[:, :-1], (0, 0, 0, 0, 0, 0, 1, 0))  # sum over channels before c
        return F.log_softmax(log_weights + earlier, dim=2)

    def probs(self, params: torch.Tensor, temperature: float = 1.0, x: torch.Tensor | None = None) -> torch.Tensor:
        """p(x_c = k | x_<c, earlier pixels) for every level k, (B, C, levels, H, W), summing to 1 over k.

        With coupling, channel c's distribution depends on the current values of the channels before
        it, read from ``x`` (B, C, H, W); only those channels of ``x`` are used. ``temperature`` T
        reshapes each distribution to p^(1/T), renormalised.
        """
        return tempered_softmax(self.level_log_probs(params, x), temperature, dim=2)

    def level_log_probs(self, params: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """log p(x_c = k | x_<c, earlier pixels) for every level k, (B, C, levels, H, W), computed
        directly (not renormalised): their log-sum-exp over the levels is 0 up to rounding."""
        logits, means, log_scales, coeffs = self.split(params)
        b, c, m, h, w = means.shape
        if self.coupled and c > 1:
            if x is None:
                raise ValueError("a coupled mixture needs x: G's and B's distributions depend on the current R (and G)")
            if x.shape != (b, c, h, w):
                raise ValueError(f"x must have shape {(b, c, h, w)}, got {tuple(x.shape)}")
            means = self._shifted_means(means, coeffs, 2 * x - 1)
        levels = torch.arange(self.levels, device=params.device).view(1, 1, 1, -1, 1, 1)
        log_mass = self.log_bin_mass(levels, means[:, :, :, None], log_scales[:, :, :, None])  # (B, C, M, L, H, W)
        if self.coupled and c > 1:  # component weights given the earlier channels' actual values
            actual = self.log_bin_mass(to_level_index(x, self.levels)[:, :, None], means, log_scales)  # (B, C, M, H, W)
            posterior = self._posterior(logits, actual)
        else:
            posterior = F.log_softmax(logits, dim=2)
        return torch.logsumexp(posterior[:, :, :, None] + log_mass, dim=2)  # (B, C, L, H, W)

    def sample(
        self, params: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Draw every pixel at once, (B, C, H, W) in [0, 1] on the level grid.

        A component by a categorical draw from the mixture weights, then for R, G, B in turn an
        inverse-CDF logistic draw mu + s * log(u / (1 - u)) (with G's and B's means shifted by the
        values just drawn), clamped to [-1, 1] and snapped to the nearest level: exactly the
        distribution that ``log_prob`` scores. ``sampling.sample`` handles temperatures.
        """
        if temperature != 1.0:
            raise ValueError("DiscretizedLogisticMixture.sample draws at temperature 1; use sampling.sample(..., temperature=T)")
        logits, means, log_scales, coeffs = self.split(params)
        b, c, m, h, w = means.shape
        flat = F.softmax(logits, dim=2).movedim(2, -1).reshape(-1, m)  # (B*G*H*W, M), G = 1 or C
        component = torch.multinomial(flat, 1, generator=generator).view(b, logits.shape[1], 1, h, w)
        drawn = component.expand(b, c, 1, h, w)
        mean, log_scale = means.gather(2, drawn), log_scales.gather(2, drawn)  # (B, C, 1, H, W): the drawn component
        coeff = None if coeffs is None else coeffs.gather(2, component[:, :1].expand(-1, coeffs.shape[1], -1, -1, -1))
        values = torch.zeros(b, c, h, w, device=means.device, dtype=means.dtype)
        u = torch.rand(values.shape, generator=generator, device=values.device, dtype=values.dtype).clamp(1e-5, 1 - 1e-5)
        noise = torch.log(u) - torch.log1p(-u)  # a standard logistic draw
        for channel in range(c):
            mu = self._shifted_means(mean, coeff, values)[:, channel, 0]  # shifted by the channels drawn so far
            y = (mu + torch.exp(log_scale[:, channel, 0]) * noise[:, channel]).clamp(-1.0, 1.0)
            level = ((y + 1) / 2 * (self.levels - 1)).round()
            values[:, channel] = level * 2 / (self.levels - 1) - 1
        return (values + 1) / 2


def tempered_softmax(logits: torch.Tensor, temperature: float, dim: int) -> torch.Tensor:
    """softmax(logits / T) along ``dim``: p_T(k) proportional to p(k)^(1/T), for any finite T > 0.

    Below T = 1 the logits are first shifted so that the largest is 0 (softmax does not change), so
    dividing by T can only send the others towards -inf, never overflow upwards: a temperature as small
    as 1e-45 gives the most likely level (ties share), not inf / inf = NaN. T is held within
    [tiny, 1 / tiny] of the dtype (1.2e-38 to 8.5e37 in float32), where both T and 1 / T are finite
    numbers, which changes nothing a float32 probability can show.
    """
    check_temperature(temperature)
    if temperature == 1.0:
        return F.softmax(logits, dim=dim)
    finfo = torch.finfo(logits.dtype)
    t = min(max(temperature, finfo.tiny), 1.0 / finfo.tiny)
    if t < 1.0:
        logits = logits - logits.amax(dim, keepdim=True)  # the largest at 0, the rest <= 0
    return F.softmax(logits / t, dim=dim)


def naive_log_bin_mass(
    level: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor, levels: int, eps: float = 1e-12
) -> torch.Tensor:
    """The textbook shortcut, kept only to show what goes wrong (notebook 05): log(P + eps) with P a
    difference of two sigmoids computed as probabilities (as in the blog post "Autoregressive
    models - PixelCNN"), edge bins included.

    Where P is smaller than about 1e-7 in float32 (1e-16 in float64) the difference rounds to 0 and
    the result sticks at log(eps): the value is wrong and the gradient is lost. Use
    :meth:`DiscretizedLogisticMixture.log_bin_mass`, which stays exact in log space.
    """
    upper, lower = _standard_bin_edges(level, mean, log_scale, check_levels(levels))
    below_upper, below_lower = torch.sigmoid(upper), torch.sigmoid(lower)
    p = torch.where(level == 0, below_upper, torch.where(level == levels - 1, 1 - below_lower, below_upper - below_lower))
    return torch.log(p + eps)


def _standard_bin_edges(
    level: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor, levels: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The upper and lower edges of ``level``'s bin on [-1, 1], in the component's standard units
    (x - mean) / scale: the arguments of the two sigmoids whose difference is the bin's mass."""
    half = 1.0 / (levels - 1)
    centre = level.to(mean.dtype) * (2 * half) - 1.0
    inv_scale = torch.exp(-log_scale)
    return (centre + half - mean) * inv_scale, (centre - half - mean) * inv_scale


def _inverse_softplus(y: torch.Tensor) -> torch.Tensor:
    """x with softplus(x) = y, for y > 0."""
    return y + torch.log(-torch.expm1(-y))


def to_level_index(x: torch.Tensor, levels: int) -> torch.Tensor:
    """Map values on the grid {0, 1/(levels-1), ..., 1} to integer levels {0, ..., levels-1}."""
    return (x.detach() * (levels - 1)).round().long().clamp_(0, levels - 1)


def bits_per_dim(log_prob: torch.Tensor) -> torch.Tensor:
    """Average negative log-likelihood in bits per sub-pixel.

    ``log_prob`` is (B, C, H, W) in nats; returns a scalar tensor
    ``-sum(log_prob) / (B * C * H * W * ln 2)``, the mean of :func:`bits_per_dim_per_image`.
    An empty batch (B = 0) has no mean and raises a ValueError (the mean of nothing would be NaN).
    """
    per_image = bits_per_dim_per_image(log_prob)
    if per_image.numel() == 0:
        raise ValueError(f"bits_per_dim of an empty batch (log_prob of shape {tuple(log_prob.shape)}) is undefined; "
                         f"use bits_per_dim_per_image, which gives one value per image (none here)")
    return per_image.mean()


def bits_per_dim_per_image(log_prob: torch.Tensor) -> torch.Tensor:
    """Each image's negative log-likelihood in bits per sub-pixel, (B,): a score for one image
    (lower = more likely under the model). ``log_prob`` is (B, C, H, W) in nats; an empty batch
    gives an empty (0,) tensor."""
    if log_prob.dim() != 4:
        raise ValueError(f"log_prob must have shape (B, C, H, W), got {tuple(log_prob.shape)}")
    return -log_prob.sum((1, 2, 3)) / (log_prob.shape[1:].numel() * math.log(2))


_LIKELIHOODS = {Categorical.name: Categorical, DiscretizedLogisticMixture.name: DiscretizedLogisticMixture}


def from_config(config: dict[str, Any]) -> Likelihood:
    """Rebuild a likelihood from its ``config()`` dict."""
    cfg = dict(config)
    name = cfg.pop("name", None)
    if name not in _LIKELIHOODS:
        raise ValueError(f"unknown likelihood {name!r}; known: {sorted(_LIKELIHOODS)}")
    return _LIKELIHOODS[name](**cfg)
