"""Notebook 02's exercise checks 2 and 3: the blind spot as the pixels no depth reaches (not the
bounding-box wedge of one depth), and feedback on the causal layers that shows the student's answer and
a hint without giving the answer away."""

from __future__ import annotations

import contextlib
import io

import pytest
import torch
from torch import nn

from pixelcnn_edu import exercises, layers, receptive_field


def run(check, *args, **kwargs) -> tuple[bool, str]:
    """Call a check and return (its result, what it printed)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = check(*args, **kwargs)
    return result, buffer.getvalue()


# --- 02.2 the blind spot: earlier pixels no depth reaches ---------------------------------------------


@pytest.mark.parametrize("image_size, position, expected", [((20, 20), (15, 12), 21), ((12, 12), (8, 6), 10),
                                                            ((20, 30), (15, 12), 135), ((6, 6), (5, 0), 10)])
def test_blind_spot_is_what_no_depth_reaches(image_size, position, expected):
    """(20, 30): a 10-layer field's bounding box holds only 45 of the 135 (the old, depth-bound answer)."""
    assert run(exercises.check_blind_spot_size, expected, image_size=image_size, position=position)[0] is True
    assert int(receptive_field.never_reached(image_size, position).sum()) == expected


def test_the_default_is_the_notebooks_question():
    assert run(exercises.check_blind_spot_size, 21)[0] is True


@pytest.mark.parametrize(
    "answer, hint",
    [
        (10, "bounding box of the field after 5 layers"),  # the wedge one depth's picture shows
        (15, "does not depend on the depth"),
        (28, "one pixel too many per row"),  # or the later pixels of the output's own row
        (40, "too many"),
        (5, "too few"),
        ("21", "whole number"),
    ],
)
def test_blind_spot_explains_typical_slips(answer, hint):
    ok, out = run(exercises.check_blind_spot_size, answer)
    assert ok is False and out.startswith("❌ Not yet:") and hint in out


def test_blind_spot_recognises_pixels_not_reached_yet():
    size, position = (20, 20), (15, 12)
    field = receptive_field.layerwise_receptive_fields(receptive_field.masked_conv_stack(3), size, position)[-1]
    earlier = 15 * 20 + 12
    not_yet = earlier - int((field != 0).sum())
    ok, out = run(exercises.check_blind_spot_size, not_yet)
    assert ok is False and "do not reach yet" in out and f"{not_yet} is not" in out


def test_blind_spot_unanswered():
    assert run(exercises.check_blind_spot_size, None)[1].startswith("Not answered yet:")


# --- 02.3 layers that keep a PixelCNN causal ------------------------------------------------------------


def test_causal_layers_agree_with_autograd():
    """The names the check accepts are exactly the candidates with no gradient from the future."""
    causal = set()
    for name, layer in exercises.causal_layer_candidates(channels=8).items():
        stack = nn.Sequential(layers.MaskedConv2d(1, 8, 3, "A"), nn.ReLU(), layer, layers.MaskedConv2d(8, 1, 3, "B")).train()
        x = torch.rand(2, 1, 7, 7, generator=torch.Generator().manual_seed(0))
        field = receptive_field.input_gradient(stack, x, lambda out: out[:, :, 3, 3])
        if not receptive_field.future_leak(field, (3, 3)).any():
            causal.add(name)
    assert run(exercises.check_causal_layers, causal)[0] is True


@pytest.mark.parametrize(
    "answer, shown, counts",
    [
        ({"instance"}, "{'instance'}", ["1 of its layers lets", "2 layers that keep the model causal are missing"]),
        ({"dropout", "conv1x1", "avgpool"}, "{'avgpool', 'conv1x1', 'dropout'}", ["1 of its layers lets"]),
        ({"dropout"}, "{'dropout'}", ["1 layer that keeps the model causal is missing"]),
        (["Group", "conv1x1", "avgpool"], "{'avgpool', 'conv1x1', 'group'}", ["2 of its layers let", "1 layer that keeps"]),
        (set(), "set()", ["2 layers that keep the model causal are missing"]),
    ],
)
def test_causal_layers_show_the_answer_given_and_a_hint(answer, shown, counts):
    ok, out = run(exercises.check_causal_layers, answer)
    assert ok is False and out.startswith("❌ Not yet:") and f"your answer {shown}" in out
    assert all(count in out for count in counts) and "Hint:" in out and "input_gradient" in out


@pytest.mark.parametrize("answer", [{"instance"}, {"dropout"}, {"conv1x1", "group"}, set(), {"avgpool", "dropout"}])
def test_causal_layers_never_give_the_answer_away(answer):
    """A wrong answer learns nothing about a layer it did not name, and no layer's verdict is spelled out."""
    out = run(exercises.check_causal_layers, answer)[1]
    told = out.split("Hint:")[0]
    for name in {"instance", "group", "avgpool", "dropout", "conv1x1"} - answer:
        assert name not in out
    assert "leaks" not in told and "causal too" not in told


@pytest.mark.parametrize("answer, hint", [({"batch"}, "unknown names"), ("dropout", "set of names"), ([1, 2], "set of names")])
def test_causal_layers_reject_malformed_answers(answer, hint):
    ok, out = run(exercises.check_causal_layers, answer)
    assert ok is False and out.startswith("❌ Not yet:") and hint in out


def test_causal_layers_explain_every_layer_once_right():
    ok, out = run(exercises.check_causal_layers, ["Dropout", "conv1x1"])
    assert ok is True and all(name in out for name in ("instance", "group", "avgpool", "dropout", "conv1x1"))
    assert run(exercises.check_causal_layers, None)[1].startswith("Not answered yet:")


# --- worked solutions -------------------------------------------------------------------------------------


@pytest.mark.parametrize("number, check", [(1, exercises.check_kept_weights), (2, exercises.check_blind_spot_size),
                                           (3, exercises.check_causal_layers)])
def test_each_worked_solution_passes_its_check(number, check):
    from solutions import nb02

    assert run(check, getattr(nb02, f"exercise_{number}")())[0] is True
