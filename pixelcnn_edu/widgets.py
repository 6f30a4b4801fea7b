"""Interactive front ends (ipywidgets 8) over data computed in a plain notebook cell.

Each widget is a ``VBox`` whose sliders are the single source of truth: an observer on a
slider swaps the PNG bytes of ``ipywidgets.Image`` views and the text of a readout, so
setting ``slider.value`` from Python (as the tests do) updates everything at once. A
``Play`` button is linked to the slider in the browser with ``jslink``. No Output widget,
``interact`` or ``clear_output`` is involved, so the widgets behave the same under nbval.

    trace = sampling.sampling_trace(model, 4, (28, 28), generator=g)
    widgets.SamplingStepper(trace)          # step through the drawing of trace's image 0
    widgets.ReceptiveFieldExplorer()        # pick an output pixel and a depth
    widgets.MixtureExplorer(levels=16)      # shape a discretised logistic mixture by hand
"""

from __future__ import annotations

import html
import math
from typing import Literal, Sequence

try:
    import ipywidgets as ipw
except ModuleNotFoundError as err:  # a core install: the widgets come with the course's extra
    raise ModuleNotFoundError(
        'pixelcnn_edu.widgets needs ipywidgets, which the notebooks extra installs: pip install "pixelcnn-edu[notebooks]"'
    ) from err
import torch
from torch import nn

from . import receptive_field as rf
from . import viz
from .checks import check_image_size
from .likelihoods import DiscretizedLogisticMixture
from .sampling import SamplingTrace

CHANNEL_NAMES = ("R", "G", "B")
WIDGET_CLASS = "pixelcnn-widget"  # CSS class on the root view of every widget below


def _probability_text(p: float) -> str:
    return f"{p:.2f}" if p >= 0.01 else f"{p:.1e}"


class SamplingStepper(ipw.VBox):
    """Step through a sampling (or scoring) trace one sub-pixel at a time.

    Args:
        trace: from ``sampling.sampling_trace`` or ``sampling.scoring_trace``.
        index: which image of the trace's batch to show.
        scale: screen pixels per image pixel.
        kind: "sampled" (the values were drawn) or "scored" (they are a real image's own
            values, revealed one by one); only the wording of the readout differs.

    At slider value t (0..T) the image shows the canvas after t steps with the sub-pixel of
    step t framed, the chart shows the distribution it was drawn from with the drawn value
    highlighted, and the readout says where, what and how likely, with the running total of
    -log2 p in bits. At t = 0 the canvas is blank and the first sub-pixel is the next one.

    A trace of a class-conditional model (``trace.labels`` set) gets a class picker:
    ``picker`` (ToggleButtons, one per image, labelled by its class) switches the image shown
    and keeps the step.

    Attributes: ``slider`` (IntSlider 0..T), ``play`` (Play, jslinked to the slider as
    ``link``), ``image`` and ``chart`` (Image, PNG bytes), ``readout`` (HTML), ``picker``
    (ToggleButtons or None).
    """

    def __init__(
        self,
        trace: SamplingTrace,
        *,
        index: int = 0,
        scale: int = 8,
        kind: Literal["sampled", "scored"] = "sampled",
    ) -> None:
        if not isinstance(trace, SamplingTrace):
            raise TypeError(f"trace must be a sampling.SamplingTrace, got {type(trace).__name__}")
        if len(trace) == 0:
            raise ValueError("trace has no steps")
        batch = trace.shape[0]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < batch:
            raise ValueError(f"index must be an int in [0, {batch - 1}] (the trace holds {batch} images), got {index!r}")
        if kind not in ("sampled", "scored"):
            raise ValueError(f"kind must be 'sampled' or 'scored', got {kind!r}")
        super().__init__()
        self.add_class(WIDGET_CLASS)  # lets a browser test find the package's widgets
        self.trace, self.scale, self.kind = trace, scale, kind
        steps = len(trace)
        self._select(index)

        self.slider = ipw.IntSlider(value=0, min=0, max=steps, description="step", layout=ipw.Layout(width="480px"))
        self.play = ipw.Play(value=0, min=0, max=steps, interval=150, description="play")
        self.link = ipw.jslink((self.play, "value"), (self.slider, "value"))
        self.image = ipw.Image(format="png")
        self.chart = ipw.Image(format="png")
        self.readout = ipw.HTML()
        self.slider.observe(self._on_step, names="value")
        self.chart.layout.margin = "0 0 0 16px"
        top_aligned = ipw.Layout(align_items="flex-start")  # keep the image at its own size, not stretched
        self.picker = None
        controls = [ipw.HBox([self.play, self.slider])]
        if trace.labels is not None:
            options = [(f"{int(label)}", k) for k, label in enumerate(trace.labels)]
            self.picker = ipw.ToggleButtons(
                options=options, value=index, description="class", style={"button_width": "36px"}
            )
            self.picker.observe(self._on_pick, names="value")
            controls.insert(0, self.picker)
        self.children = [*controls, ipw.HBox([self.image, self.chart], layout=top_aligned), self.readout]
        self._render(0)

    def _select(self, index: int) -> None:
        """Show image ``index`` of the trace: its drawn levels, their probabilities, running bits."""
        trace = self.trace
        self.index = index
        self.levels_drawn = (trace.values[:, index] * (trace.levels - 1)).round().long()  # (T,)
        self.p_drawn = trace.probs[:, index].gather(1, self.levels_drawn[:, None])[:, 0]  # (T,)
        self.bits = torch.cumsum(-torch.log2(self.p_drawn.double()), 0)  # (T,) running -log2 p
        self._images: dict[int, bytes] = {}
        self._charts: dict[int, bytes] = {}

    def __repr__(self) -> str:  # short: Jupyter shows it as text/plain beside the widget view
        n, c, h, w = self.trace.shape
        return f"SamplingStepper({len(self.trace)} steps, image {self.index + 1} of {n}, {c}x{h}x{w})"

    def _where(self, step: int) -> str:
        """'pixel (i, j)', with the channel named for colour images, of step ``step`` (0-based)."""
        c, i, j = self.trace.positions[step]
        channels = self.trace.shape[1]
        if channels == 1:
            return f"pixel ({i}, {j})"
        name = CHANNEL_NAMES[c] if channels == 3 else f"channel {c}"
        return f"pixel ({i}, {j}) {name}"

    def frame_png(self, t: int) -> bytes:
        """PNG of the canvas after ``t`` steps, the sub-pixel of step t (or the next one at t=0) framed."""
        if t not in self._images:
            _, i, j = self.trace.positions[max(t, 1) - 1]
            frame = self.trace.frame(t, self.index)
            self._images[t] = viz.image_to_png(frame, scale=self.scale, highlight=(i, j))
        return self._images[t]

    def chart_png(self, t: int) -> bytes:
        """PNG bar chart of the distribution at step ``t`` (before any draw at t = 0)."""
        if t not in self._charts:
            step = max(t, 1) - 1
            value = int(self.levels_drawn[step]) if t > 0 else None
            label = "drawn value" if self.kind == "sampled" else "true value"
            title = f"p({self._where(step)} | earlier)"
            self._charts[t] = viz.distribution_to_png(self.trace.probs[step, self.index], value=value, title=title, value_label=label)
        return self._charts[t]

    def readout_text(self, t: int) -> str:
        """The readout line at slider value ``t``."""
        steps = len(self.trace)
        label = "" if self.trace.labels is None else f"class {int(self.trace.labels[self.index])} · "
        if t == 0:
            return f"{label}step 0/{steps} · blank canvas · next: {self._where(0)}"
        step = t - 1
        level, p = int(self.levels_drawn[step]), float(self.p_drawn[step])
        verb = f"drew {level} with" if self.kind == "sampled" else f"true value {level} had"
        bits = -math.log2(p) if p > 0 else math.inf
        total = float(self.bits[step])
        return (
            f"{label}step {t}/{steps} · {self._where(step)} · {verb} p = {_probability_text(p)}"
            f" · −log₂ p = {bits:.2f} bits · total {total:.2f} bits"
        )

    def frames_figure(self, steps: Sequence[int] | None = None, *, distributions: bool = False):
        """A static matplotlib figure of the canvas at ``steps`` (default: 0, a quarter, half,
        three quarters and all of the steps), for readers of a static copy of the notebook, who
        see no live widget. ``distributions=True`` adds under each canvas the distribution its
        last step was drawn (or scored) from, as the widget's chart shows it."""
        total = len(self.trace)
        steps = [round(total * k / 4) for k in range(5)] if steps is None else list(steps)
        if not steps or any(isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= total for t in steps):
            raise ValueError(f"steps must be a non-empty list of ints in [0, {total}], got {steps!r}")
        if not isinstance(distributions, bool):
            raise TypeError(f"distributions must be True or False, got {distributions!r}")
        frames = torch.stack([self.trace.frame(t, self.index) for t in steps])
        label = "" if self.trace.labels is None else f" (class {int(self.trace.labels[self.index])})"
        title = f"{self.kind.capitalize()} image {self.index + 1}{label} after {', '.join(map(str, steps))} of {total} steps"
        if not distributions:
            return viz.image_grid(frames, nrow=len(steps), labels=[f"step {t}" for t in steps], title=title)
        labels = [f"step {t}: {self._where(t - 1)}" if t > 0 else "step 0: blank" for t in steps]
        probs = [self.trace.probs[t - 1, self.index] if t > 0 else None for t in steps]
        values = [int(self.levels_drawn[t - 1]) if t > 0 else None for t in steps]
        return viz.plot_steps_with_distributions(
            frames, probs, values, labels=labels, title=title + ", each with p(sub-pixel | earlier)",
            value_label="drawn value" if self.kind == "sampled" else "true value",
        )

    def _render(self, t: int) -> None:
        self.image.value = self.frame_png(t)
        self.chart.value = self.chart_png(t)
        self.readout.value = html.escape(self.readout_text(t))

    def _on_step(self, change: dict) -> None:
        self._render(change["new"])

    def _on_pick(self, change: dict) -> None:
        self._select(change["new"])
        self._render(self.slider.value)


def _legend_html() -> str:
    """A small colour key for the receptive-field picture (same colours as ``viz``)."""
    items = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;background:{colour};'
        f'border:1px solid #999;margin-right:6px;vertical-align:middle"></span>{html.escape(label)}</div>'
        for label, colour in viz.FIELD_CLASSES
    )
    return f'<div style="font-size:12px;line-height:1.6;margin-left:12px">{items}</div>'


class ReceptiveFieldExplorer(ipw.VBox):
    """Pick an output pixel and a depth; see which inputs reach it, and the blind spot.

    Args:
        stack: an ``nn.Sequential`` of one-channel layers; default
            ``receptive_field.masked_conv_stack(max_layers, kernel_size)`` (mask A then B,
            all weights 1, so the picture shows exactly what the masks allow).
        image_size: (H, W) of the probe image (an int n means (n, n)).
        max_layers, kernel_size: the default stack's depth and kernel (ignored with ``stack``).
        scale: screen pixels per image pixel.

    Sliders ``row``, ``col`` (the output pixel) and ``depth`` (layers used); ``image`` (PNG of
    the field, target dark, blind spot pink) and ``readout`` (HTML). Fields for every depth
    are computed once per (row, col) and cached, so moving ``depth`` only picks a layer.
    """

    def __init__(
        self,
        stack: nn.Sequential | None = None,
        *,
        image_size: int | Sequence[int] = (12, 12),
        max_layers: int = 6,
        kernel_size: int = 3,
        scale: int = 20,
    ) -> None:
        if stack is None:
            stack = rf.masked_conv_stack(max_layers, kernel_size)
        if not isinstance(stack, nn.Sequential) or len(stack) == 0:
            raise TypeError(f"stack must be a non-empty nn.Sequential of one-channel layers, got {stack!r}")
        if getattr(stack[0], "in_channels", 1) != 1:
            raise ValueError(f"stack must take one input channel, its first layer takes {stack[0].in_channels}")
        size = check_image_size(image_size)
        super().__init__()
        self.add_class(WIDGET_CLASS)  # lets a browser test find the package's widgets
        self.stack, self.image_size, self.scale = stack, size, scale
        h, w = size
        n_layers = len(stack)
        self._fields: dict[tuple[int, int], torch.Tensor] = {}

        self.row = ipw.IntSlider(value=h // 2, min=0, max=h - 1, description="row i")
        self.col = ipw.IntSlider(value=w // 2, min=0, max=w - 1, description="column j")
        self.depth = ipw.IntSlider(value=n_layers, min=1, max=n_layers, description="layers")
        self.image = ipw.Image(format="png")
        self.readout = ipw.HTML()
        for slider in (self.row, self.col, self.depth):
            slider.observe(self._on_change, names="value")
        picture = ipw.HBox([self.image, ipw.HTML(_legend_html())], layout=ipw.Layout(align_items="flex-start"))
        self.children = [self.row, self.col, self.depth, picture, self.readout]
        self._render()

    def __repr__(self) -> str:
        h, w = self.image_size
        return f"ReceptiveFieldExplorer({len(self.stack)} layers, {h}x{w} image)"

    def fields_at(self, row: int, col: int) -> torch.Tensor:
        """(L, H, W): the receptive field of (row, col) after each layer of the stack (cached)."""
        if (row, col) not in self._fields:
            self._fields[(row, col)] = rf.layerwise_receptive_fields(self.stack, self.image_size, (row, col))
        return self._fields[(row, col)]

    @property
    def field(self) -> torch.Tensor:
        """(H, W): the field currently shown."""
        return self.fields_at(self.row.value, self.col.value)[self.depth.value - 1]

    def static_figure(self, depths: Sequence[int] | None = None):
        """A static matplotlib figure of what the explorer shows: the field of its current pixel
        after each of ``depths`` layers (default: every depth), for readers of a static copy."""
        n = len(self.stack)
        depths = list(range(1, n + 1)) if depths is None else list(depths)
        if not depths or any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= n for d in depths):
            raise ValueError(f"depths must be a non-empty list of ints in [1, {n}], got {depths!r}")
        position = (self.row.value, self.col.value)
        fields = self.fields_at(*position)[[d - 1 for d in depths]]  # (len(depths), H, W)
        titles = [f"{d} layer{'s' if d > 1 else ''}" for d in depths]
        return viz.plot_receptive_fields(fields, position, titles=titles,
                                         title=f"Receptive field of pixel {position} after {', '.join(map(str, depths))} layers")

    def _render(self) -> None:
        position = (self.row.value, self.col.value)
        field = self.field
        self.image.value = viz.receptive_field_to_png(field, position, scale=self.scale)
        layers = f"{self.depth.value} layer{'s' if self.depth.value > 1 else ''}"
        text = f"pixel {position}, {layers}: {viz.describe_receptive_field(field, position)}"
        self.readout.value = html.escape(text)

    def _on_change(self, change: dict) -> None:
        self._render()


class MixtureExplorer(ipw.VBox):
    """Shape a discretised logistic mixture with sliders and watch its probabilities over the levels.

    Args:
        levels: values of the sub-pixel (bins on [-1, 1]).
        n_components: logistic components (1 to 3), each with a ``mean`` (on [-1, 1]'s scale, may lie
            outside it), a ``log_scale`` and a ``weight`` slider (weights are normalised to sum to 1).
        scale_range: (min, max) of the log-scale sliders.

    ``edge_bins`` (Checkbox) switches the edge bins off to show the common mistake: the mass in
    the tails is lost and the sum falls below 1. ``chart`` (Image) shows the bars, ``readout``
    (HTML) the sum of the probabilities, computed in float64. ``probs()`` returns them.
    """

    def __init__(self, levels: int = 16, n_components: int = 2, scale_range: tuple[float, float] = (-5.0, 1.0)) -> None:
        if isinstance(n_components, bool) or not isinstance(n_components, int) or not 1 <= n_components <= 3:
            raise ValueError(f"n_components must be 1, 2 or 3, got {n_components!r}")
        super().__init__()
        self.add_class(WIDGET_CLASS)  # lets a browser test find the package's widgets
        self.mixture = DiscretizedLogisticMixture(n_components, levels)
        starts = [-0.4, 0.5, 0.95][:n_components]
        self.means = [ipw.FloatSlider(value=m, min=-1.5, max=1.5, step=0.01, description=f"mean {k + 1}") for k, m in enumerate(starts)]
        self.log_scales = [ipw.FloatSlider(value=-2.0, min=scale_range[0], max=scale_range[1], step=0.05,
                                           description=f"log-scale {k + 1}") for k in range(n_components)]
        self.weights = [ipw.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.01, description=f"weight {k + 1}") for k in range(n_components)]
        self.edge_bins = ipw.Checkbox(value=True, description="edge bins take the tails")
        self.chart = ipw.Image(format="png")
        self.readout = ipw.HTML()
        rows = [ipw.HBox([m, s, w]) for m, s, w in zip(self.means, self.log_scales, self.weights)]
        for control in [*self.means, *self.log_scales, *self.weights, self.edge_bins]:
            control.observe(self._on_change, names="value")
        natural_size = ipw.Layout(align_items="flex-start")  # an Image alone in a VBox would stretch to full width
        self.children = [*rows, self.edge_bins, ipw.HBox([self.chart], layout=natural_size), self.readout]
        self._render()

    def __repr__(self) -> str:
        return f"MixtureExplorer({len(self.means)} components, {self.mixture.levels} levels)"

    def probs(self, edge_bins: bool | None = None) -> torch.Tensor:
        """(levels,) float64 probabilities of the mixture the sliders describe; ``edge_bins``
        overrides the checkbox (None: as it is ticked)."""
        edge_bins = self.edge_bins.value if edge_bins is None else edge_bins
        weights = torch.tensor([w.value for w in self.weights], dtype=torch.float64)
        if weights.sum() <= 0:
            weights = torch.ones_like(weights)  # all weights at 0: treat them as equal
        weights = weights / weights.sum()
        means = torch.tensor([m.value for m in self.means], dtype=torch.float64)
        log_scales = torch.tensor([s.value for s in self.log_scales], dtype=torch.float64)
        levels = torch.arange(self.mixture.levels)[:, None]  # (L, 1) against (M,) components
        mass = self.mixture.log_bin_mass(levels, means, log_scales, edge_bins=edge_bins).exp()  # (L, M)
        return (mass * weights).sum(1)

    def static_figure(self):
        """A static matplotlib figure of the mixture the sliders describe, with edge bins and with
        them forgotten side by side, each sum in its title: for readers of a static copy."""
        fig = viz.CourseFigure(figsize=(9.0, 3.0), layout="constrained")
        for ax, edge_bins in zip(fig.subplots(1, 2), (True, False)):
            p = self.probs(edge_bins)
            words = "with edge bins" if edge_bins else "edge bins forgotten"
            viz.plot_distribution(p.float(), ax=ax, check_sum=False, title=f"{words}: sum = {float(p.sum()):.6f}")
        fig.suptitle(f"The explorer's mixture: {len(self.means)} components over {self.mixture.levels} levels")
        return fig

    def _render(self) -> None:
        p = self.probs()
        total = float(p.sum())
        title = "with edge bins" if self.edge_bins.value else "edge bins forgotten: the tails are lost"
        self.chart.value = viz.distribution_to_png(p.float(), title=title, check_sum=False)
        verdict = "sums to 1" if abs(total - 1) < 1e-9 else f"short of 1 by {1 - total:.3g}"
        self.readout.value = html.escape(f"sum of the {len(p)} probabilities = {total:.10f} ({verdict})")

    def _on_change(self, change: dict) -> None:
        self._render()
