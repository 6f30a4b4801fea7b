"""Likelihood as a score: the inputs made offline, the compressor's bits/dim, AUROC against its definition."""

from __future__ import annotations

import itertools
import zlib

import pytest
import torch

from pixelcnn_edu import data, receptive_field, sampling, scores, viz
from pixelcnn_edu.models import GatedPixelCNN, PixelCNN


def brute_force_auroc(a: torch.Tensor, b: torch.Tensor) -> float:
    """P(out > in) + P(out == in) / 2 over every pair: the definition."""
    pairs = [(1.0 if y > x else 0.5 if y == x else 0.0) for x, y in itertools.product(a.tolist(), b.tolist())]
    return sum(pairs) / len(pairs)


@pytest.mark.parametrize("seed", range(5))
def test_auroc_matches_the_pairwise_definition_with_ties(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    a = torch.randint(0, 6, (13,), generator=g).float()  # few distinct values: many ties
    b = torch.randint(2, 8, (9,), generator=g).float()
    assert scores.auroc(a, b) == pytest.approx(brute_force_auroc(a, b), abs=1e-12)


def test_auroc_extremes_and_errors() -> None:
    assert scores.auroc(torch.tensor([0.0, 1.0]), torch.tensor([2.0, 3.0])) == 1.0
    assert scores.auroc(torch.tensor([2.0, 3.0]), torch.tensor([0.0, 1.0])) == 0.0
    assert scores.auroc(torch.ones(4), torch.ones(3)) == 0.5
    with pytest.raises(ValueError, match="at least one score"):
        scores.auroc(torch.tensor([]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match="finite"):
        scores.auroc(torch.tensor([float("nan")]), torch.tensor([1.0]))


def test_compressed_bits_per_dim_counts_the_compressed_bytes() -> None:
    images = torch.zeros(2, 1, 8, 8)
    images[1] = torch.randint(256, (1, 8, 8), generator=torch.Generator().manual_seed(0)).float() / 255
    raw = torch.round(images * 255).to(torch.uint8)
    z = scores.compressed_bits_per_dim(images, 256, "zlib")
    expected = [len(zlib.compress(raw[k, 0].numpy().tobytes(), 9)) * 8 / 64 for k in range(2)]
    assert z.tolist() == pytest.approx(expected)
    png = scores.compressed_bits_per_dim(images, 256, "png")
    assert png[1] > png[0] and z[1] > z[0]  # noise costs more than a blank image
    rgb = scores.compressed_bits_per_dim(torch.zeros(1, 3, 8, 8), 256, "png")
    assert rgb.shape == (1,)


def test_compressed_bits_per_dim_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="method must be"):
        scores.compressed_bits_per_dim(torch.zeros(1, 1, 4, 4), 256, "gzip")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="levels must be <= 256"):
        scores.compressed_bits_per_dim(torch.zeros(1, 1, 4, 4), 1024)
    with pytest.raises(ValueError, match="PNG stores 1"):
        scores.compressed_bits_per_dim(torch.zeros(1, 2, 4, 4), 4)
    with pytest.raises(ValueError, match="grid"):
        scores.compressed_bits_per_dim(torch.full((1, 1, 4, 4), 0.3), 4)


def test_ood_inputs_are_on_the_grid_and_do_what_they_say() -> None:
    digits = data.load_dataset(data.EMBEDDED, "test", levels=4).images[:6]
    colored = data.load_dataset("colored-mnist", "test", levels=4).images[:6]
    kinds = scores.ood_inputs(digits, 4, colored=colored, generator=torch.Generator().manual_seed(0))
    assert set(kinds) == {"uniform noise", "inverted digits", "shifted digits", "rotated digits", "blank images",
                          "constant images", "coloured digits, grey"}
    for name, x in kinds.items():
        assert x.shape == digits.shape, name
        assert torch.equal(x * 3, (x * 3).round()) and x.min() >= 0 and x.max() <= 1, name
    assert torch.allclose(kinds["inverted digits"], 1 - digits)
    assert torch.equal(kinds["shifted digits"][:, :, 6:, 6:], digits[:, :, :-6, :-6])
    assert torch.equal(torch.rot90(kinds["rotated digits"], -1, dims=(2, 3)), digits)
    assert (kinds["blank images"] == 0).all()
    constant = kinds["constant images"]
    assert (constant == constant[:, :, :1, :1]).all() and (constant > 0).all()
    with pytest.raises(ValueError, match="colored must have shape"):
        scores.ood_inputs(digits, 4, colored=digits)


def test_layerwise_dependents_is_the_transpose_of_the_receptive_field() -> None:
    """Output q depends on input p exactly when p is in the receptive field of q."""
    stack = receptive_field.masked_conv_stack(3, 3)
    size, p = (6, 6), (2, 3)
    cones = receptive_field.layerwise_dependents(stack, size, p)
    assert cones.shape == (3, 6, 6) and cones.dtype == torch.bool
    for q in itertools.product(range(6), range(6)):
        fields = receptive_field.layerwise_receptive_fields(stack, size, q)
        assert torch.equal(cones[:, q[0], q[1]], fields[:, p[0], p[1]] != 0)
    assert (cones[-1].flatten()[: 2 * 6 + 4] == 0).all()  # nothing up to and including p itself changes


def test_positions_per_step_counts_the_work() -> None:
    model = PixelCNN(1, 2, hidden=8, n_layers=1, input_kernel_size=3)
    naive = sampling.positions_per_step(model, (4, 5), cache=False)
    cached = sampling.positions_per_step(model, (4, 5), cache=True)
    assert naive.tolist() == [20] * 20
    assert cached.tolist() == [5 + 1, 2, 2, 2, 2] + [10 + 1, 2, 2, 2, 2] * 3  # row pass (two rows after the first) + pixels


def test_positions_per_step_counts_a_gated_block() -> None:
    """The first layer of a Gated PixelCNN is a block returning (v, h, skip): its region is counted."""
    model = GatedPixelCNN(1, 2, hidden=4, n_layers=1, input_kernel_size=3)
    cached = sampling.positions_per_step(model, (4, 5), cache=True)
    assert cached.tolist() == [5 + 1, 2, 2, 2, 2] + [10 + 1, 2, 2, 2, 2] * 3


def test_notebook_06_figures() -> None:
    cones = receptive_field.layerwise_dependents(receptive_field.masked_conv_stack(2, 3), (5, 5), (1, 1))
    assert len(viz.plot_dependents(cones, (1, 1)).axes) == 2
    with pytest.raises(ValueError, match="cones must have shape"):
        viz.plot_dependents(torch.zeros(5, 5), (1, 1))
    rows = {"T = 0.5": torch.rand(3, 1, 4, 4), "T = 1": torch.rand(2, 1, 4, 4)}
    fig = viz.plot_image_rows(rows, title="rows", col_labels=["a", "b", "c"])
    assert len(fig.axes) == 6 and fig.axes[0].texts[0].get_text() == "T = 0.5" and fig.axes[3].texts[0].get_text() == "T = 1"
    with pytest.raises(TypeError, match="non-empty mapping"):
        viz.plot_image_rows({})
    fig = viz.plot_score_histograms({"digits": torch.rand(20), "noise": torch.rand(20) + 1}, xlabel="bits/dim")
    assert "median" in fig.axes[0].get_legend().get_texts()[0].get_text()
    source = viz.show_source(scores.auroc)
    header, code = source.data.split("\n\n", 1)
    first = scores.auroc.__code__.co_firstlineno
    assert header.startswith(f"`auroc`, from `pixelcnn_edu/scores.py`, lines {first}–")
    assert code.startswith("```python\ndef auroc(") and code.endswith("```")
    with pytest.raises(TypeError, match="function, method or class written in Python"):
        viz.show_source(torch.zeros)


def test_ood_inputs_follow_the_digits_dtype_so_a_float64_model_can_score_them() -> None:
    digits = data.load_dataset(data.EMBEDDED, "test", levels=4).images[:2].double()
    kinds = scores.ood_inputs(digits, 4, colored=torch.rand(2, 3, 28, 28), generator=torch.Generator().manual_seed(0))
    assert {x.dtype for x in kinds.values()} == {torch.float64}
    model = PixelCNN(1, 4, hidden=4, n_layers=1).double()
    assert all(model.log_prob(x).dtype == torch.float64 for x in kinds.values())
