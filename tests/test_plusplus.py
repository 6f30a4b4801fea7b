"""PixelCNN++: shifted convolutions read only what they should; the whole U-Net is causal by autograd,
sees every earlier sub-pixel once deep enough, and rejects bad settings clearly."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from pixelcnn_edu import cli, layers, models, sampling, train
from pixelcnn_edu import receptive_field as rf
from pixelcnn_edu.likelihoods import Categorical, DiscretizedLogisticMixture


def field(module: torch.nn.Module, size: tuple[int, int], position: tuple[int, int], channels: int = 1) -> torch.Tensor:
    """(H, W) bool: which inputs reach output ``position`` of ``module``."""
    i, j = position
    return rf.input_gradient(module, torch.randn(2, channels, *size), lambda out: out[:, :, i, j]).sum(0) != 0


def test_down_convolution_reads_rows_up_to_its_own() -> None:
    reach = field(layers.ShiftedConv2d(1, 2, (2, 3), "down"), (6, 6), (3, 2))
    expected = torch.zeros(6, 6, dtype=torch.bool)
    expected[2:4, 1:4] = True
    assert torch.equal(reach, expected)


def test_down_right_convolution_reads_up_and_left() -> None:
    reach = field(layers.ShiftedConv2d(1, 2, (2, 2), "downright"), (6, 6), (3, 2))
    expected = torch.zeros(6, 6, dtype=torch.bool)
    expected[2:4, 1:3] = True
    assert torch.equal(reach, expected)


def test_shifts_move_by_one() -> None:
    x = torch.arange(9.0).view(1, 1, 3, 3)
    assert torch.equal(layers.down_shift(x)[0, 0], torch.tensor([[0.0, 0, 0], [0, 1, 2], [3, 4, 5]]))
    assert torch.equal(layers.right_shift(x)[0, 0], torch.tensor([[0.0, 0, 1], [0, 3, 4], [0, 6, 7]]))


@pytest.mark.parametrize("shift, kernel", [("down", (2, 3)), ("downright", (2, 2))])
def test_strided_and_transposed_shapes(shift: str, kernel: tuple[int, int]) -> None:
    x = torch.randn(2, 3, 8, 12)
    small = layers.ShiftedConv2d(3, 5, kernel, shift, stride=2)(x)
    assert small.shape == (2, 5, 4, 6)
    assert layers.ShiftedConvTranspose2d(5, 3, kernel, shift)(small).shape == (2, 3, 8, 12)


@pytest.mark.parametrize("shift", ["down", "downright"])
def test_shrink_then_grow_never_reads_below(shift: str) -> None:
    kernel = (2, 3) if shift == "down" else (2, 2)
    pair = torch.nn.Sequential(layers.ShiftedConv2d(1, 4, kernel, shift, stride=2), layers.ShiftedConvTranspose2d(4, 1, kernel, shift))
    for i, j in ((5, 4), (2, 7), (7, 0)):
        reach = field(pair, (8, 8), (i, j))
        assert not reach[i + 1 :].any(), "no later row"
        if shift == "downright":
            assert not reach[i, j + 1 :].any(), "no later column in the row"


def reference_pair_window(shift: str, size: int, i: int, j: int) -> torch.Tensor:
    """(size, size) bool: what output (i, j) of a stride-2 shifted convolution followed by its
    transposed convolution reads, with the padding and cropping of the reference PixelCNN++ code
    (Salimans et al.; pad top k_h - 1, crop the transposed output's last rows and, for "down", one
    column each side). Written from that arithmetic, not from this package's layers."""
    window = torch.zeros(size, size, dtype=torch.bool)
    r = i // 2  # the coarse row whose transposed taps cover fine rows 2r and 2r + 1
    rows = slice(max(2 * r - 1, 0), 2 * r + 1)
    if shift == "down":  # 1 x 3 taps: coarse column c reaches fine 2c - 1 .. 2c + 1 and reads the same span
        for c in range(size // 2):
            if 2 * c - 1 <= j <= 2 * c + 1:
                window[rows, max(2 * c - 1, 0) : 2 * c + 2] = True
    else:  # 2 x 2 taps: coarse column j // 2 reads fine columns 2c - 1 .. 2c
        c = j // 2
        window[rows, max(2 * c - 1, 0) : 2 * c + 1] = True
    return window


@pytest.mark.parametrize("shift", ["down", "downright"])
def test_shrink_then_grow_is_aligned_like_the_reference(shift: str) -> None:
    """An off-by-one that stays causal would still cost quality (directional streaks); the U-Net's
    pair reads exactly the reference's window, so the nearest allowed rows are not lost."""
    kernel = (2, 3) if shift == "down" else (2, 2)
    torch.manual_seed(0)
    pair = torch.nn.Sequential(layers.ShiftedConv2d(1, 4, kernel, shift, stride=2), layers.ShiftedConvTranspose2d(4, 1, kernel, shift))
    for i in range(8):
        for j in range(8):
            assert torch.equal(field(pair, (8, 8), (i, j)), reference_pair_window(shift, 8, i, j)), (i, j)


def test_bad_layer_arguments() -> None:
    with pytest.raises(ValueError, match="shift must be 'down' or 'downright'"):
        layers.ShiftedConv2d(1, 1, (2, 3), "up")
    with pytest.raises(ValueError, match="odd kernel width"):
        layers.ShiftedConv2d(1, 1, (2, 2), "down")
    block = layers.GatedResNet(4, "down", aux_channels=4)
    with pytest.raises(ValueError, match="pass aux"):
        block(torch.randn(1, 4, 4, 4))


def plusplus(seed: int = 0, **overrides: Any) -> models.PixelCNNPlusPlus:
    kwargs: dict[str, Any] = dict(in_channels=1, levels=4, hidden=8, n_layers=2, likelihood=DiscretizedLogisticMixture(2, 4))
    kwargs.update(overrides)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = models.PixelCNNPlusPlus(**kwargs)
        for module in model.modules():
            if isinstance(module, torch.nn.Embedding):
                torch.nn.init.normal_(module.weight)
            if isinstance(module, layers.ClassBias) and module.mix is not None:
                torch.nn.init.normal_(module.mix.weight)
    return model


CASES = [
    dict(),
    dict(in_channels=3),
    dict(in_channels=3, likelihood=DiscretizedLogisticMixture(2, 4, coupled=False)),
    dict(n_classes=3),
    dict(likelihood=Categorical(4)),
    dict(in_channels=3, n_classes=3, class_maps=2),
]


@pytest.mark.parametrize("case", CASES, ids=["grey", "rgb-coupled", "rgb-uncoupled", "conditional", "categorical", "rgb-class-maps"])
def test_plusplus_is_causal_and_sees_every_earlier_sub_pixel(case: dict[str, Any]) -> None:
    model = plusplus(**case).eval()
    y = torch.arange(4) % 3 if model.n_classes else None
    report = rf.check_causality(model, (8, 8), n_probes=4, y=y, generator=torch.Generator().manual_seed(0))
    assert report.leaks == 0
    if case.get("likelihood") is None or getattr(case["likelihood"], "coupled", False) or model.in_channels == 1:
        assert report.missed_past == 0
    else:  # an uncoupled likelihood on RGB: the channels of a pixel are independent given the past
        assert report.missed_past == 3 * 64  # G misses R, B misses R and G, at each of the 64 pixels


def test_plusplus_with_dropout_is_causal_in_training_mode() -> None:
    model = plusplus(in_channels=3, dropout=0.5).train()
    report = rf.check_causality(model, (8, 8), n_probes=2, generator=torch.Generator().manual_seed(0))
    assert report.leaks == 0


def test_one_block_per_stage_misses_the_far_corner() -> None:
    """With n_layers=1 an 8x8 image is not yet fully covered: pixel (1, 0) misses (0, 7)."""
    model = plusplus(n_layers=1)
    x = rf.model_inputs(model, 4, (8, 8), torch.Generator().manual_seed(0))
    dep = rf.log_prob_dependencies(model, x, (0, 1, 0))[0]
    assert dep[0, 7] == 0 and dep[0, :7].ne(0).all()


def test_bad_plusplus_settings() -> None:
    with pytest.raises(ValueError, match="divisible by 4"):
        plusplus()(torch.zeros(1, 1, 6, 8))
    with pytest.raises(ValueError, match="dropout must be in"):
        models.PixelCNNPlusPlus(dropout=1.0)
    with pytest.raises(ValueError, match="n_layers must be >= 1"):
        models.PixelCNNPlusPlus(n_layers=0)
    with pytest.raises(ValueError, match="n_mix must be >= 1"):
        models.PixelCNNPlusPlus(n_mix=0)
    with pytest.raises(ValueError, match="likelihood has 4 levels but the model has levels=256"):
        models.PixelCNNPlusPlus(likelihood=DiscretizedLogisticMixture(2, 4))


def test_config_rebuilds_and_samples_are_on_the_grid() -> None:
    model = plusplus(in_channels=3, n_classes=10, n_layers=1)
    rebuilt = models.from_config("pixelcnn++", model.config())
    rebuilt.load_state_dict(model.state_dict())
    x = rf.model_inputs(model, 2, (4, 4), torch.Generator().manual_seed(0))
    y = torch.tensor([2, 5])
    model.eval(), rebuilt.eval()
    assert torch.equal(model.log_prob(x, y), rebuilt.log_prob(x, y))
    images = sampling.sample(model, 2, (4, 4), y=y, generator=torch.Generator().manual_seed(0))
    assert images.shape == (2, 3, 4, 4) and torch.allclose(images * 3, (images * 3).round())


def test_cli_trains_pixelcnn_plus_plus_with_the_mixture_by_default(tmp_path) -> None:
    path = tmp_path / "pp.pt"
    code = cli.main([
        "train", "--model", "pixelcnn++", "--dataset", "colored-mnist", "--levels", "4", "--hidden", "4", "--n-mix", "2",
        "--epochs", "1", "--train-limit", "16", "--batch-size", "16", "--out", str(path), "--no-progress",
    ])
    assert code == 0
    state = train.load_checkpoint(path)
    assert state["name"] == "pixelcnn++" and state["config"]["likelihood"]["name"] == "logistic_mixture"
    assert state["config"]["n_layers"] == 1 and state["config"]["in_channels"] == 3
    assert cli.main(["train", "--model", "gated", "--dropout", "0.5", "--out", str(tmp_path / "g.pt")]) == 2


def test_n_mix_that_conflicts_with_the_likelihood_is_rejected() -> None:
    mixture = DiscretizedLogisticMixture(5, 4)
    with pytest.raises(ValueError, match=r"n_mix=3 conflicts with the likelihood's n_mix=5"):
        models.PixelCNNPlusPlus(1, 4, hidden=4, n_mix=3, likelihood=mixture)
    with pytest.raises(ValueError, match="n_mix applies to the default logistic mixture"):
        models.PixelCNNPlusPlus(1, 4, hidden=4, n_mix=3, likelihood=Categorical(4))
    model = models.PixelCNNPlusPlus(1, 4, hidden=4, likelihood=mixture)
    assert model.config()["n_mix"] == 5 and model.likelihood.n_mix == 5
    assert models.PixelCNNPlusPlus(1, 4, hidden=4, n_mix=5, likelihood=mixture).config() == model.config()
    assert models.PixelCNNPlusPlus(1, 4, hidden=4).likelihood.n_mix == 10  # the default
    assert models.PixelCNNPlusPlus(1, 4, hidden=4, likelihood=Categorical(4)).config()["n_mix"] is None
    rebuilt = models.from_config("pixelcnn++", model.config())
    assert rebuilt.config() == model.config()


def test_stream_windows_are_the_down_and_down_right_shifted_windows() -> None:
    model = plusplus(hidden=4)
    windows = rf.stream_windows(model, (8, 8), (4, 4), generator=torch.Generator().manual_seed(0)) > 0
    u = torch.zeros(8, 8, dtype=torch.bool)
    u[2:4, 3:6] = True  # 2 x 3, strictly above: rows 2-3, columns j-1..j+1
    ul = torch.zeros(8, 8, dtype=torch.bool)
    ul[3, 3:6] = True  # the row above (1 x 3) ...
    ul[4, 3] = True  # ... and the pixel to the left (the 2 x 1 window shifted right)
    assert torch.equal(windows[0], u) and torch.equal(windows[1], ul)
