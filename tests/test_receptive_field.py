"""receptive_field: layer-by-layer growth, the blind spot, and future leaks, checked by hand."""

from __future__ import annotations

import pytest
import torch

from pixelcnn_edu import receptive_field as rf

POSITION = (6, 4)

# Which inputs of a 9x9 image reach output (6, 4) after one and after two 3x3 masked layers.
DEPTH_1 = [
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 1, 1, 1, 0, 0, 0],
    [0, 0, 0, 1, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
]
DEPTH_2 = [
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 1, 1, 1, 1, 1, 0, 0],
    [0, 0, 1, 1, 1, 1, 0, 0, 0],  # (5, 6) is missing already: the blind spot begins
    [0, 0, 1, 1, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
]


def test_masked_conv_stack_structure() -> None:
    stack = rf.masked_conv_stack(3, kernel_size=5)
    assert [layer.mask_type for layer in stack] == ["A", "B", "B"]
    for layer in stack:
        assert layer.bias is None and layer.kernel_size == (5, 5)
        assert torch.equal(layer.weight, torch.ones(1, 1, 5, 5))


def test_layerwise_fields_match_hand_drawn_ones() -> None:
    fields = rf.layerwise_receptive_fields(rf.masked_conv_stack(2), (9, 9), POSITION)
    assert fields.shape == (2, 9, 9)
    assert torch.equal((fields[0] != 0).int(), torch.tensor(DEPTH_1, dtype=torch.int32))
    assert torch.equal((fields[1] != 0).int(), torch.tensor(DEPTH_2, dtype=torch.int32))
    assert (fields >= 0).all()


def test_fields_only_grow_with_depth() -> None:
    fields = rf.layerwise_receptive_fields(rf.masked_conv_stack(4), (9, 9), POSITION) != 0
    for shallow, deep in zip(fields[:-1], fields[1:]):
        assert (deep | shallow).equal(deep) and deep.sum() > shallow.sum()


def test_blind_spot_of_a_depth_4_stack_is_the_wedge() -> None:
    field = rf.layerwise_receptive_fields(rf.masked_conv_stack(4), (9, 9), POSITION)[-1]
    spot = rf.blind_spot(field, POSITION)
    assert spot.dtype == torch.bool
    assert sorted(map(tuple, spot.nonzero().tolist())) == [(3, 8), (4, 7), (4, 8), (5, 6), (5, 7), (5, 8)]
    assert rf.blind_spot(field.unsqueeze(0), POSITION).equal(spot)  # (C, H, W) works too


def test_blind_spot_of_an_empty_field_is_empty() -> None:
    assert not rf.blind_spot(torch.zeros(5, 5), (2, 2)).any()


@pytest.mark.parametrize("depth", [1, 2, 4])
@pytest.mark.parametrize("position", [(0, 0), (6, 4), (8, 8), (3, 0), (0, 8)])
def test_stack_never_reaches_the_future(depth: int, position: tuple[int, int]) -> None:
    field = rf.layerwise_receptive_fields(rf.masked_conv_stack(depth), (9, 9), position)[-1]
    assert not rf.future_leak(field, position).any()


def test_future_leak_flags_the_present_and_the_future() -> None:
    field = torch.zeros(4, 4)
    field[1, 0] = 1.0  # past: fine
    field[2, 1] = 0.5  # the position itself: a leak
    field[3, 0] = -2.0  # a later row: a leak, whatever the sign
    leak = rf.future_leak(field, (2, 1))
    assert sorted(map(tuple, leak.nonzero().tolist())) == [(2, 1), (3, 0)]


@pytest.mark.parametrize("position", [(0, 0), (3, 2), (4, 5)])
def test_pixelcnn_has_no_future_leak(position: tuple[int, int], make_pixelcnn) -> None:
    model = make_pixelcnn(in_channels=3, levels=4, hidden=24, norm="layer")
    field = rf.model_receptive_field(model, (5, 6), position, generator=torch.Generator().manual_seed(0))
    assert field.shape == (3, 5, 6)
    assert not rf.future_leak(field, position).any()
    if position != (0, 0):
        assert field.sum() > 0


def test_model_inputs_lie_on_the_grid(make_pixelcnn) -> None:
    model = make_pixelcnn(in_channels=3, levels=4)
    x = rf.model_inputs(model, 5, (3, 4), generator=torch.Generator().manual_seed(0))
    assert x.shape == (5, 3, 3, 4)
    assert torch.equal(x * 3, (x * 3).round()) and x.min() >= 0 and x.max() <= 1


def test_input_gradient_of_an_unused_input_is_zero() -> None:
    weight = torch.zeros(1, 1, 4, 4, requires_grad=True)  # the output depends on a weight, not on x
    x = torch.ones(2, 3, 4, 4)
    grad = rf.input_gradient(lambda inp: weight.expand(2, -1, -1, -1), x, lambda out: out[:, :, 0, 0])
    assert torch.equal(grad, torch.zeros(3, 4, 4))


def test_the_probes_follow_a_float64_model(make_pixelcnn) -> None:
    model = make_pixelcnn(in_channels=3, levels=4).double()
    assert rf.model_inputs(model, 2, (3, 4)).dtype == torch.float64
    assert rf.model_receptive_field(model, (3, 4), (1, 1)).shape == (3, 3, 4)
    assert rf.channel_receptive_field(model, (3, 4), (1, 1)).shape == (3, 3, 3, 4)
    stack = rf.masked_conv_stack(2).double()
    assert rf.layerwise_receptive_fields(stack, (5, 5), (2, 2)).shape == (2, 5, 5)
    assert rf.layerwise_dependents(stack, (5, 5), (2, 2)).shape == (2, 5, 5)
