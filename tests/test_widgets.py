"""Tests of pixelcnn_edu.widgets, driven the way the browser drives them: by setting slider values."""

from __future__ import annotations

import math

import pytest
import torch
from ipywidgets.widgets.widget_link import Link

from pixelcnn_edu import models, receptive_field, sampling, viz, widgets


@pytest.fixture(scope="module")
def model() -> models.PixelCNN:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return models.PixelCNN(levels=2, hidden=8, n_layers=1)


@pytest.fixture(scope="module")
def trace(model: models.PixelCNN) -> sampling.SamplingTrace:
    """Two 4x4 binary images drawn step by step (16 steps)."""
    return sampling.sampling_trace(model, 2, (4, 4), generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def stepper(trace: sampling.SamplingTrace) -> widgets.SamplingStepper:
    return widgets.SamplingStepper(trace, index=1, scale=4)


def test_stepper_slider_range_and_play_link(stepper: widgets.SamplingStepper) -> None:
    assert (stepper.slider.min, stepper.slider.max) == (0, 16)
    assert (stepper.play.min, stepper.play.max) == (0, 16)
    assert isinstance(stepper.link, Link)  # a jslink: browser-side, no kernel round trip
    assert stepper.link.source == (stepper.play, "value")
    assert stepper.link.target == (stepper.slider, "value")


@pytest.mark.parametrize("t", [1, 6, 16, 0])
def test_stepper_shows_the_right_step(stepper: widgets.SamplingStepper, trace: sampling.SamplingTrace, t: int) -> None:
    stepper.slider.value = t
    c, i, j = trace.positions[max(t, 1) - 1]
    assert stepper.image.value == viz.image_to_png(trace.frame(t, 1), scale=4, highlight=(i, j))
    if t == 0:
        assert stepper.readout.value == f"step 0/16 · blank canvas · next: pixel ({i}, {j})"
        assert stepper.chart.value == viz.distribution_to_png(trace.probs[0, 1], title="p(pixel (0, 0) | earlier)")
    else:
        level = int(trace.values[t - 1, 1].item())
        p = trace.probs[t - 1, 1, level].item()
        assert stepper.readout.value.startswith(f"step {t}/16 · pixel ({i}, {j}) · drew {level} with p = {p:.2f}")
        assert stepper.chart.value == viz.distribution_to_png(
            trace.probs[t - 1, 1], value=level, title=f"p(pixel ({i}, {j}) | earlier)"
        )


def test_stepper_changes_with_the_slider(stepper: widgets.SamplingStepper) -> None:
    seen = set()
    for t in (3, 4):
        stepper.slider.value = t
        seen.add((stepper.image.value, stepper.chart.value, stepper.readout.value))
    assert len(seen) == 2


def test_stepper_frames_figure_shows_the_canvas_at_the_asked_steps(stepper: widgets.SamplingStepper, trace: sampling.SamplingTrace) -> None:
    fig = stepper.frames_figure()
    assert [ax.get_title() for ax in fig.axes] == ["step 0", "step 4", "step 8", "step 12", "step 16"]
    assert torch.equal(torch.as_tensor(fig.axes[-1].images[0].get_array()), trace.frame(16, 1)[0])
    assert fig.get_suptitle() == "Sampled image 2 after 0, 4, 8, 12, 16 of 16 steps"
    assert len(stepper.frames_figure([0, 16]).axes) == 2
    for bad in ([], [17], [-1], [True]):
        with pytest.raises(ValueError, match="steps must be"):
            stepper.frames_figure(bad)


def test_stepper_static_figure_shows_each_steps_distribution_with_its_draw(stepper: widgets.SamplingStepper, trace: sampling.SamplingTrace) -> None:
    fig = stepper.frames_figure([0, 5, 16], distributions=True)
    frames, charts = fig.axes[:3], fig.axes[3:]
    assert [ax.get_title() for ax in frames] == ["step 0: blank", f"step 5: {stepper._where(4)}", f"step 16: {stepper._where(15)}"]
    assert torch.equal(torch.as_tensor(frames[2].images[0].get_array()), trace.frame(16, 1)[0])
    assert not charts[0].patches and charts[0].texts[0].get_text() == "nothing drawn yet"
    for ax, t in zip(charts[1:], (5, 16)):  # the bars are the distribution the widget's chart shows at step t
        heights = torch.tensor([bar.get_height() for bar in ax.patches], dtype=torch.float32)
        assert torch.allclose(heights, trace.probs[t - 1, 1].float())
        assert f"drawn value: {int(stepper.levels_drawn[t - 1])}" in ax.get_legend().get_texts()[0].get_text()
    assert fig.get_suptitle().endswith("each with p(sub-pixel | earlier)")
    with pytest.raises(TypeError, match="distributions must be True or False"):
        stepper.frames_figure(distributions=1)


def test_stepper_total_bits_equal_the_log_likelihood(model: models.PixelCNN, trace: sampling.SamplingTrace) -> None:
    x = trace.frame(-1)
    scored = widgets.SamplingStepper(sampling.scoring_trace(model, x), kind="scored")
    scored.slider.value = 16
    bits = -model.log_prob(x)[0].sum().item() / math.log(2)
    assert scored.bits[-1].item() == pytest.approx(bits, rel=1e-5)
    assert "true value" in scored.readout.value
    assert scored.readout.value.endswith(f"total {scored.bits[-1].item():.2f} bits")


def test_stepper_names_the_colour_channel() -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        rgb = models.PixelCNN(in_channels=3, levels=2, hidden=8, n_layers=1)
    trace = sampling.sampling_trace(rgb, 1, (2, 2), generator=torch.Generator().manual_seed(0))
    stepper = widgets.SamplingStepper(trace)
    names = []
    for t in (1, 2, 3, 4):
        stepper.slider.value = t
        names.append(stepper.readout.value.split(" · ")[1])
    assert names == ["pixel (0, 0) R", "pixel (0, 0) G", "pixel (0, 0) B", "pixel (0, 1) R"]


def test_reprs_are_short(stepper: widgets.SamplingStepper, explorer: widgets.ReceptiveFieldExplorer) -> None:
    assert repr(stepper) == "SamplingStepper(16 steps, image 2 of 2, 1x4x4)"
    assert repr(explorer) == "ReceptiveFieldExplorer(3 layers, 6x6 image)"


def test_stepper_bad_arguments(trace: sampling.SamplingTrace) -> None:
    with pytest.raises(TypeError, match="SamplingTrace"):
        widgets.SamplingStepper(trace.values)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"index must be an int in \[0, 1\]"):
        widgets.SamplingStepper(trace, index=2)
    with pytest.raises(ValueError, match="kind must be"):
        widgets.SamplingStepper(trace, kind="drawn")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def explorer() -> widgets.ReceptiveFieldExplorer:
    return widgets.ReceptiveFieldExplorer(image_size=(6, 6), max_layers=3)


def test_explorer_sliders(explorer: widgets.ReceptiveFieldExplorer) -> None:
    assert (explorer.row.max, explorer.col.max) == (5, 5)
    assert (explorer.depth.min, explorer.depth.max) == (1, 3)


def test_explorer_follows_row_col_and_depth(explorer: widgets.ReceptiveFieldExplorer) -> None:
    seen = set()
    for row, col, depth in [(3, 3, 3), (3, 3, 1), (2, 4, 1), (5, 0, 2)]:
        explorer.row.value, explorer.col.value, explorer.depth.value = row, col, depth
        field = receptive_field.layerwise_receptive_fields(explorer.stack, (6, 6), (row, col))[depth - 1]
        blind = int(receptive_field.blind_spot(field, (row, col)).sum())
        assert torch.equal(explorer.field, field)
        assert explorer.image.value == viz.receptive_field_to_png(field, (row, col))
        assert explorer.readout.value.startswith(f"pixel ({row}, {col}), {depth} layer")
        assert explorer.readout.value.endswith(f"blind spot: {blind}")
        seen.add((explorer.image.value, explorer.readout.value))
    assert len(seen) == 4


def test_explorer_static_figure_shows_the_current_pixel_at_each_depth(explorer: widgets.ReceptiveFieldExplorer) -> None:
    explorer.row.value, explorer.col.value = 4, 2
    fig = explorer.static_figure()
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["1 layer", "2 layers", "3 layers"]
    for ax, field in zip(panels, explorer.fields_at(4, 2)):
        assert ax.get_xlabel() == viz.describe_receptive_field(field, (4, 2), short=True)
    assert fig.get_suptitle() == "Receptive field of pixel (4, 2) after 1, 2, 3 layers"
    assert [ax.get_title() for ax in explorer.static_figure([3]).axes if ax.get_visible()] == ["3 layers"]
    for bad in ([], [0], [4], [True]):
        with pytest.raises(ValueError, match="depths must be"):
            explorer.static_figure(bad)


def test_explorer_caches_fields_per_pixel(explorer: widgets.ReceptiveFieldExplorer) -> None:
    explorer.row.value, explorer.col.value = 1, 1
    fields = explorer.fields_at(1, 1)
    for depth in (1, 2, 3):
        explorer.depth.value = depth
    assert explorer.fields_at(1, 1) is fields


def test_explorer_uses_a_given_stack() -> None:
    stack = receptive_field.masked_conv_stack(2, kernel_size=5)
    explorer = widgets.ReceptiveFieldExplorer(stack, image_size=(5, 5))
    assert explorer.stack is stack and explorer.depth.max == 2
    assert "blind spot:" in explorer.readout.value


def test_explorer_bad_arguments() -> None:
    with pytest.raises(TypeError, match="nn.Sequential"):
        widgets.ReceptiveFieldExplorer(torch.nn.Identity())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one input channel"):
        widgets.ReceptiveFieldExplorer(torch.nn.Sequential(torch.nn.Conv2d(3, 1, 3)))
    with pytest.raises(ValueError, match="image_size"):
        widgets.ReceptiveFieldExplorer(image_size=(0, 4))


@pytest.fixture(scope="module")
def conditional_trace() -> sampling.SamplingTrace:
    """Three 3x3 binary images of a class-conditional gated model, labels 4, 0, 7."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = models.GatedPixelCNN(levels=2, hidden=4, n_layers=1, input_kernel_size=3, n_classes=10)
    return sampling.sampling_trace(model, 3, (3, 3), y=torch.tensor([4, 0, 7]), generator=torch.Generator().manual_seed(0))


def test_stepper_has_no_class_picker_without_labels(stepper: widgets.SamplingStepper) -> None:
    assert stepper.picker is None and "class" not in stepper.readout.value


def test_class_picker_switches_the_image_and_keeps_the_step(conditional_trace: sampling.SamplingTrace) -> None:
    stepper = widgets.SamplingStepper(conditional_trace, index=0, scale=4)
    assert stepper.picker is not None and stepper.picker in stepper.children
    assert [label for label, _ in stepper.picker.options] == ["4", "0", "7"]
    stepper.slider.value = 5
    assert stepper.readout.value.startswith("class 4 · step 5/9")
    stepper.picker.value = 2  # the button labelled "7"
    assert stepper.index == 2 and stepper.slider.value == 5
    assert stepper.readout.value.startswith("class 7 · step 5/9")
    assert stepper.image.value == viz.image_to_png(conditional_trace.frame(5, 2), scale=4, highlight=conditional_trace.positions[4][1:])
    drawn = int(round(float(conditional_trace.values[4, 2])))
    assert stepper.levels_drawn[4] == drawn


def test_mixture_explorer_sums_to_one_and_responds() -> None:
    explorer = widgets.MixtureExplorer(levels=16, n_components=3)
    assert any(explorer.chart in getattr(child, "children", ()) for child in explorer.children)
    assert "= 1.0000000000 (sums to 1)" in explorer.readout.value
    first = explorer.chart.value
    explorer.means[0].value = -1.4  # push a component into the lower tail
    assert explorer.chart.value != first
    assert explorer.probs().sum().item() == pytest.approx(1.0, abs=1e-12)
    assert explorer.probs()[0] > 0.1  # the lowest level collects the tail
    explorer.edge_bins.value = False
    assert "short of 1" in explorer.readout.value and explorer.probs().sum() < 0.95
    for weight in explorer.weights:
        weight.value = 0.0
    assert explorer.probs().sum().item() < 1  # equal weights, still without edge bins
    assert repr(explorer) == "MixtureExplorer(3 components, 16 levels)"
    titles = [ax.get_title() for ax in explorer.static_figure().axes]  # both settings, whatever the checkbox says
    assert titles == [f"with edge bins: sum = {explorer.probs(True).sum().item():.6f}",
                      f"edge bins forgotten: sum = {explorer.probs(False).sum().item():.6f}"]
    assert titles[0].endswith("1.000000") and not titles[1].endswith("1.000000")
    with pytest.raises(ValueError, match="n_components must be 1, 2 or 3"):
        widgets.MixtureExplorer(n_components=4)
