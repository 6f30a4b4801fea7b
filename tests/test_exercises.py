"""The exercise checks accept right answers, explain wrong ones and never crash on None."""

from __future__ import annotations

import contextlib
import io
import math

import pytest
import torch

from pixelcnn_edu import exercises


def run(check, *args, **kwargs) -> tuple[bool, str]:
    """Call a check and return (its result, what it printed)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = check(*args, **kwargs)
    return result, buffer.getvalue()


# --- 01.1 number of conditionals -------------------------------------------------------------


@pytest.mark.parametrize("answer", [3072, 3072.0, torch.tensor(3072)])
def test_number_of_conditionals_accepts_c_h_w(answer):
    ok, out = run(exercises.check_number_of_conditionals, answer)
    assert ok is True
    assert out.startswith("✅ Correct:") and "3072" in out


def test_number_of_conditionals_other_shape():
    assert run(exercises.check_number_of_conditionals, 784, image_shape=(1, 28, 28))[0] is True
    assert run(exercises.check_number_of_conditionals, 3072, image_shape=(1, 28, 28))[0] is False


@pytest.mark.parametrize(
    "answer, hint",
    [
        (1024, "colour channels"),  # pixels, not sub-pixels
        (3071, "p(x_1)"),  # forgot the first factor
        (3072**2, "not possible images"),
        (12, "one factor"),
        ("3072", "whole number"),
        (True, "whole number"),
        (torch.ones(2), "shape (2,)"),
    ],
)
def test_number_of_conditionals_rejects_with_hint(answer, hint):
    ok, out = run(exercises.check_number_of_conditionals, answer)
    assert ok is False
    assert out.startswith("❌ Not yet:") and hint in out


def test_number_of_conditionals_none_is_unanswered():
    ok, out = run(exercises.check_number_of_conditionals, None)
    assert ok is False
    assert out.startswith("Not answered yet:") and "3 x 32 x 32" in out


def test_number_of_conditionals_bad_shape_raises():
    with pytest.raises(ValueError, match="image_shape"):
        exercises.check_number_of_conditionals(10, image_shape=(28, 28))


# --- 01.2 uniform bits/dim ---------------------------------------------------------------------


@pytest.mark.parametrize("levels", [2, 8, 256])
def test_uniform_bits_per_dim_accepts_log2(levels):
    ok, out = run(exercises.check_uniform_bits_per_dim, math.log2(levels), levels=levels)
    assert ok is True and out.startswith("✅ Correct:")
    assert run(exercises.check_uniform_bits_per_dim, torch.tensor(math.log2(levels)), levels=levels)[0] is True


@pytest.mark.parametrize(
    "answer, hint",
    [
        (math.log(8), "nats"),
        (1 / 8, "probability"),
        (8, "number of levels"),
        (2.5, "between 0 and 8"),
        ([3.0], "expected a number"),
    ],
)
def test_uniform_bits_per_dim_rejects_with_hint(answer, hint):
    ok, out = run(exercises.check_uniform_bits_per_dim, answer, levels=8)
    assert ok is False
    assert out.startswith("❌ Not yet:") and hint in out


def test_uniform_bits_per_dim_none_is_unanswered():
    ok, out = run(exercises.check_uniform_bits_per_dim, None, levels=16)
    assert ok is False
    assert out.startswith("Not answered yet:") and "16 levels" in out


def test_uniform_bits_per_dim_bad_levels_raises():
    with pytest.raises(ValueError, match="levels"):
        exercises.check_uniform_bits_per_dim(0.0, levels=1)


# --- 01.3 nats per image -> bits per dimension -------------------------------------------------


def correct(nll_nats, image_shape):
    c, h, w = image_shape
    return nll_nats / (c * h * w * math.log(2))


def test_nll_to_bits_per_dim_accepts_a_correct_function():
    ok, out = run(exercises.check_nll_to_bits_per_dim, correct)
    assert ok is True and out.startswith("✅ Correct:")


def test_nll_to_bits_per_dim_accepts_tensor_results():
    def with_torch(nll_nats, image_shape):
        return torch.tensor(nll_nats) / (math.prod(image_shape) * torch.log(torch.tensor(2.0)))

    assert run(exercises.check_nll_to_bits_per_dim, with_torch)[0] is True


@pytest.mark.parametrize(
    "fn, hint",
    [
        (lambda nll, shape: nll / math.prod(shape), "nats per dimension"),
        (lambda nll, shape: nll / math.log(2), "bits per image"),
        (lambda nll, shape: nll / (shape[1] * shape[2] * math.log(2)), "not H * W"),
        (lambda nll, shape: nll * 2.0 + 1.0, "returned"),
        (lambda nll, shape: "one bit", "should return a number"),
        (lambda nll, shape: 1 / 0, "raised ZeroDivisionError"),
        (3.0, "expected a function"),
    ],
)
def test_nll_to_bits_per_dim_rejects_with_hint(fn, hint):
    ok, out = run(exercises.check_nll_to_bits_per_dim, fn)
    assert ok is False
    assert out.startswith("❌ Not yet:") and hint in out


def test_nll_to_bits_per_dim_none_and_stub_are_unanswered():
    def stub(nll_nats, image_shape):
        return None  # your code here

    for answer in (None, stub):
        ok, out = run(exercises.check_nll_to_bits_per_dim, answer)
        assert ok is False
        assert out.startswith("Not answered yet:") and "image_shape" in out


def test_every_check_prints_exactly_one_line():
    for check, answer in [
        (exercises.check_number_of_conditionals, None),
        (exercises.check_uniform_bits_per_dim, 3.0),
        (exercises.check_nll_to_bits_per_dim, correct),
    ]:
        assert run(check, answer)[1].count("\n") == 1


# --- 02.1 spatial mask -----------------------------------------------------------------------


def test_spatial_mask_accepts_a_correct_builder():
    from pixelcnn_edu import masks

    ok, out = run(exercises.check_spatial_mask, masks.spatial_mask)
    assert ok is True and out.startswith("✅ Correct:")
    ok, _ = run(exercises.check_spatial_mask, lambda k, t: masks.spatial_mask(k, t).int().tolist())
    assert ok is True


def test_spatial_mask_rejects_mask_b_for_both_types_and_shows_the_difference():
    from pixelcnn_edu import masks

    ok, out = run(exercises.check_spatial_mask, lambda k, t: masks.spatial_mask(k, "B"))
    assert ok is False and "my_mask(1, 'A')" in out and "expected:" in out


@pytest.mark.parametrize(
    "fn, hint",
    [
        (lambda k, t: torch.ones(k, k), "differs"),
        (lambda k, t: torch.zeros(k + 1, k + 1), "shape"),
        (lambda k, t: 1 / 0, "ZeroDivisionError"),
        ("not a function", "expected a function"),
    ],
)
def test_spatial_mask_explains_wrong_answers(fn, hint):
    ok, out = run(exercises.check_spatial_mask, fn)
    assert ok is False and out.startswith("❌ Not yet:") and hint in out


def test_spatial_mask_unanswered():
    ok, out = run(exercises.check_spatial_mask, None)
    assert ok is False and out.startswith("Not answered yet:")


# --- 02.2 blind spot size --------------------------------------------------------------------


def test_blind_spot_size_is_computed_not_stored():
    assert run(exercises.check_blind_spot_size, 6)[0] is True  # the depth-4 wedge at (8, 6)
    assert run(exercises.check_blind_spot_size, 3, n_layers=3, image_size=(9, 9), position=(6, 4))[0] is True
    ok, out = run(exercises.check_blind_spot_size, 5)
    assert ok is False and "too few" in out
    ok, out = run(exercises.check_blind_spot_size, 40)
    assert ok is False and "too many" in out
    ok, out = run(exercises.check_blind_spot_size, "six")
    assert ok is False and "whole number" in out
    assert run(exercises.check_blind_spot_size, None)[1].startswith("Not answered yet:")


# --- 02.3 causal normalisations --------------------------------------------------------------


def test_causal_norms():
    assert run(exercises.check_causal_norms, {"none", "layer"})[0] is True
    assert run(exercises.check_causal_norms, ["layer", "none"])[0] is True
    ok, out = run(exercises.check_causal_norms, {"none", "layer", "batch"})
    assert ok is False and "BatchNorm" in out
    ok, out = run(exercises.check_causal_norms, {"none"})
    assert ok is False and "layer" in out
    ok, out = run(exercises.check_causal_norms, "none")
    assert ok is False and "set of names" in out
    assert run(exercises.check_causal_norms, None)[1].startswith("Not answered yet:")
