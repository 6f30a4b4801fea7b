"""The exercise checks accept right answers, explain wrong ones and never crash on None."""

from __future__ import annotations

import contextlib
import io
import math

import pytest
import torch

from solutions import solution

from pixelcnn_edu import exercises, layers, masks, models, receptive_field


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


# --- 02.1 kernel weights a mask keeps ----------------------------------------------------------


def test_kept_weights_is_the_layers_own_mask():
    layer = layers.MaskedConv2d(4, 8, kernel_size=5, mask_type="B")
    ok, out = run(exercises.check_kept_weights, int(layer.mask.sum()))
    assert ok is True and out.startswith("✅ Correct:") and "416" in out
    assert run(exercises.check_kept_weights, 3 * 5 * 24, in_channels=3, out_channels=5, kernel_size=7, mask_type="A")[0] is True


@pytest.mark.parametrize(
    "answer, hint",
    [
        (384, "that is mask A's count"),  # also the number of weights mask B zeroes
        (13, "that is one kernel"),
        (800, "counts every weight"),
        (424, "you added the 8 biases"),
        (52, "count every (input, output) pair"),
        (160, "the answer for a 3x3 kernel"),
        (417, "count the taps of one 5x5 mask B"),
        (416.5, "whole number"),
        ("416", "whole number"),
    ],
)
def test_kept_weights_explains_typical_slips(answer, hint):
    ok, out = run(exercises.check_kept_weights, answer)
    assert ok is False and out.startswith("❌ Not yet:") and hint in out


def test_kept_weights_for_mask_a_names_mask_b():
    ok, out = run(exercises.check_kept_weights, 4 * 8 * 13, mask_type="A")
    assert ok is False and "that is mask B's count" in out


def test_kept_weights_unanswered_and_bad_settings():
    assert run(exercises.check_kept_weights, None)[1].startswith("Not answered yet:")
    with pytest.raises(ValueError, match="kernel_size"):
        exercises.check_kept_weights(416, kernel_size=4)


# --- 02.2 blind spot size --------------------------------------------------------------------


# --- 02.3 layers that keep a PixelCNN causal -----------------------------------------------------


# --- worked solutions -------------------------------------------------------------------------------

NB02_CHECKS = {1: exercises.check_kept_weights, 2: exercises.check_blind_spot_size, 3: exercises.check_causal_layers}


@pytest.mark.parametrize("number", sorted(NB02_CHECKS))
def test_each_worked_solution_passes_its_check(number):
    from solutions import nb02

    answer = getattr(nb02, f"exercise_{number}")()
    assert run(NB02_CHECKS[number], answer)[0] is True


# The settings of notebooks 03's and 05's exercise cells: the worked solutions answer exactly these.
NOTEBOOK_CHECKS = {
    ("03", 1): (exercises.check_color_mask, dict(in_channels=5, out_channels=6, mask_type="B", convention="contiguous")),
    ("03", 2): (exercises.check_center_inputs, dict(out_index=7, in_channels=5, out_channels=8, mask_type="A", convention="interleaved")),
    ("03", 3): (exercises.check_output_order, dict(levels=5, convention="interleaved")),
    ("05", 2): (exercises.check_param_channels, dict(n_mix=6, in_channels=3, coupled=False)),
    ("05", 3): (exercises.check_level_probs, {}),
}


@pytest.mark.parametrize("notebook, number", sorted(NOTEBOOK_CHECKS))
def test_worked_solutions_of_03_and_05_pass_the_notebooks_checks(notebook, number):
    import importlib

    check, settings = NOTEBOOK_CHECKS[notebook, number]
    worked = getattr(importlib.import_module(f"solutions.nb{notebook}"), f"exercise_{number}")
    answer = worked if (notebook, number) in {("05", 3)} else worked()  # those two ask for a function
    assert run(check, answer, **settings)[0] is True
    assert f"def exercise_{number}(" in solution(notebook, number).data


def test_the_03_2_check_names_each_slip():
    check, settings = NOTEBOOK_CHECKS["03", 2]
    assert "that is mask B" in run(check, {0, 1, 3, 4}, **settings)[1]
    assert "own colour G" in run(check, {0, 1}, **settings)[1]
    assert "see the future" in run(check, {2}, **settings)[1]
    assert "numbered 0..4" in run(check, {9}, **settings)[1]
    assert "1 of your indices is off" in run(check, {0}, **settings)[1]
    assert run(check, "0, 3", **settings)[0] is False
    assert run(check, None, **settings)[1].startswith("Not answered yet:")
    with pytest.raises(ValueError, match="out_index"):
        exercises.check_center_inputs(set(), out_index=8, out_channels=8)


def test_the_05_2_check_names_each_slip():
    check, settings = NOTEBOOK_CHECKS["05", 2]
    assert "count for the coupled mixture" in run(check, 60, **settings)[1]
    assert "count for one channel" in run(check, 18, **settings)[1]
    assert "256-way softmax" in run(check, 768, **settings)[1]
    message = run(check, 55, **settings)[1]
    assert "55 is not it" in message and "a weight, a mean and a log-scale" not in message  # a hint, not the recipe


def test_solution_shows_the_source_of_the_worked_solution():
    shown = solution("02", 2).data
    assert "def exercise_2()" in shown and "from `nb02.py`" in shown and "```python" in shown


@pytest.mark.parametrize("notebook, number, message", [("99", 1, "no worked solutions for notebook '99'"),
                                                       ("2", 1, "no worked solutions"),
                                                       ("02", 4, "has no exercise 4"),
                                                       ("02", "1", "has no exercise '1'")])
def test_solution_rejects_unknown_exercises(notebook, number, message):
    with pytest.raises(ValueError, match=message):
        solution(notebook, number)


# --- 03.1 colour mask at the kernel centre ---------------------------------------------------

# The worked example of Sergei Turukin's blog post "PixelCNN" (2017): 4 input maps -> 7 output maps, interleaved (R G B R / R G B R G B R), mask A.
SEED_004_MASK_A = [
    [0, 0, 0, 0],
    [1, 0, 0, 1],
    [1, 1, 0, 1],
    [0, 0, 0, 0],
    [1, 0, 0, 1],
    [1, 1, 0, 1],
    [0, 0, 0, 0],
]


@pytest.mark.parametrize("answer", [SEED_004_MASK_A, torch.tensor(SEED_004_MASK_A), torch.tensor(SEED_004_MASK_A).bool(), torch.tensor(SEED_004_MASK_A).numpy()])
def test_color_mask_accepts_the_worked_example(answer):
    ok, out = run(exercises.check_color_mask, answer, in_channels=4, out_channels=7, mask_type="A", convention="interleaved")
    assert ok is True and out.startswith("✅ Correct:") and "R G B R G B R" in out


@pytest.mark.parametrize("mask_type", ["A", "B"])
@pytest.mark.parametrize("convention", ["contiguous", "interleaved"])
@pytest.mark.parametrize("shape", [(3, 3), (4, 7), (5, 2 * 3 + 2)])
def test_color_mask_accepts_the_package_mask(mask_type, convention, shape):
    n_in, n_out = shape
    answer = masks.channel_mask(n_in, n_out, mask_type, 3, convention)
    ok, _ = run(exercises.check_color_mask, answer, in_channels=n_in, out_channels=n_out, mask_type=mask_type, convention=convention)
    assert ok is True


@pytest.mark.parametrize(
    "answer, hint",
    [
        (masks.channel_mask(4, 7, "A", 3, "contiguous"), "contiguous convention"),
        (masks.channel_mask(4, 7, "B", 3, "interleaved"), "that is mask B"),
        (torch.tensor(SEED_004_MASK_A).T, "transpose"),
        (torch.zeros(7, 4), "entries differ"),
        (torch.zeros(3, 3), "expected shape (7, 4)"),
        (2 * torch.tensor(SEED_004_MASK_A), "0 (hidden) or 1"),
        ("R G B", "matrix of 0s and 1s"),
        ([[1, 0], [1]], "matrix of 0s and 1s"),
    ],
)
def test_color_mask_explains_wrong_answers(answer, hint):
    ok, out = run(exercises.check_color_mask, answer)
    assert ok is False and out.startswith("❌ Not yet:") and hint in out


def test_color_mask_wrong_mask_b_answer_names_mask_a():
    answer = masks.channel_mask(4, 7, "A", 3, "contiguous")
    ok, out = run(exercises.check_color_mask, answer, mask_type="B", convention="contiguous")
    assert ok is False and "that is mask A" in out


def test_color_mask_unanswered_and_bad_settings():
    ok, out = run(exercises.check_color_mask, None)
    assert ok is False and out.startswith("Not answered yet:") and "interleaved" in out
    with pytest.raises(ValueError, match="mask_type"):
        exercises.check_color_mask(None, mask_type="C")
    with pytest.raises(ValueError, match="color_convention"):
        exercises.check_color_mask(None, convention="thirds")
    with pytest.raises(ValueError, match="colour groups"):
        exercises.check_color_mask(None, in_channels=2)


# --- 03.2 what a colour reads at the current pixel -------------------------------------------


@pytest.mark.parametrize(
    "color, mask_type, answer",
    [("R", "A", set()), ("G", "A", {"R"}), ("B", "A", {"R", "G"}), ("R", "B", {"R"}), ("G", "B", ["G", "R"]), ("B", "B", {"r", "g", "b"})],
)
def test_center_reads_accepts(color, mask_type, answer):
    ok, out = run(exercises.check_center_reads, answer, color=color, mask_type=mask_type)
    assert ok is True and out.startswith("✅ Correct:")


@pytest.mark.parametrize(
    "answer, kwargs, hint",
    [
        ({"R", "B"}, {}, "B comes after G"),
        ({"R", "G"}, {}, "mask A hides G's own maps"),
        (set(), {}, "R comes before G"),
        ({"R"}, {"mask_type": "B"}, "mask B also lets G's maps"),
        ({"G"}, {"color": "B"}, "R comes before B"),
        ({"X"}, {}, "unknown names"),
        ("R", {}, "set of colour names"),
        ({1}, {}, "set of colour names"),
    ],
)
def test_center_reads_explains_wrong_answers(answer, kwargs, hint):
    ok, out = run(exercises.check_center_reads, answer, **kwargs)
    assert ok is False and out.startswith("❌ Not yet:") and hint in out


def test_center_reads_unanswered_and_bad_settings():
    assert run(exercises.check_center_reads, None)[1].startswith("Not answered yet:")
    with pytest.raises(ValueError, match="color"):
        exercises.check_center_reads(None, color="Y")
    with pytest.raises(ValueError, match="mask_type"):
        exercises.check_center_reads(None, mask_type="a")


# --- 03.3 the output head's order --------------------------------------------------------------


@pytest.mark.parametrize("convention", ["contiguous", "interleaved"])
@pytest.mark.parametrize("levels", [2, 4, 8])
def test_output_order_accepts_the_package_order(convention, levels):
    order = masks.color_permutation(3 * levels, 3, convention)
    assert run(exercises.check_output_order, order, levels=levels, convention=convention)[0] is True
    assert run(exercises.check_output_order, order.tolist(), levels=levels, convention=convention)[0] is True


def test_output_order_accepts_any_order_inside_a_block():
    ok, _ = run(exercises.check_output_order, [9, 6, 3, 0, 1, 4, 7, 10, 11, 8, 5, 2])
    assert ok is True


def test_output_order_agrees_with_autograd():
    """An order the check rejects leaks in a real model; one it accepts does not."""
    for order, accepted in (([0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11], True), (list(range(12)), False)):
        model = models.PixelCNN(in_channels=3, levels=4, hidden=12, n_layers=1, color_convention="interleaved")
        model.output_order = torch.tensor(order)
        report = receptive_field.check_causality(model, (3, 3), generator=torch.Generator().manual_seed(0))
        assert report.causal is accepted
        assert run(exercises.check_output_order, order)[0] is accepted


@pytest.mark.parametrize(
    "answer, hint",
    [
        (list(range(12)), "R would see itself"),
        ([1, 4, 7, 10, 0, 3, 6, 9, 2, 5, 8, 11], "R would see itself"),  # R takes G's maps
        ([0, 3, 6, 9, 2, 5, 8, 11, 1, 4, 7, 10], "G would see itself"),
        ([0, 1, 2], "exactly once"),
        ([0] * 12, "exactly once"),
        ("0 3 6 9", "list of 12 map indices"),
        ([0.5] * 12, "list of 12 map indices"),
        ([True] * 12, "list of 12 map indices"),
    ],
)
def test_output_order_explains_wrong_answers(answer, hint):
    ok, out = run(exercises.check_output_order, answer)
    assert ok is False and out.startswith("❌ Not yet:") and hint in out


def test_output_order_unanswered_and_bad_settings():
    ok, out = run(exercises.check_output_order, None)
    assert ok is False and out.startswith("Not answered yet:") and "R G B R G B" in out
    with pytest.raises(ValueError, match="levels"):
        exercises.check_output_order(None, levels=1)
    with pytest.raises(ValueError, match="color_convention"):
        exercises.check_output_order(None, convention="thirds")


# --- 04 Gated PixelCNN -------------------------------------------------------------------------


def test_stack_masks_check():
    from pixelcnn_edu import masks

    assert run(exercises.check_stack_masks, masks.stack_mask)[0] is True
    ok, out = run(exercises.check_stack_masks, lambda k, s, t: masks.stack_mask(k, s, "B"))
    assert ok is False and "my_stack_mask(3, 'vertical', 'A')" in out and "whole rows" in out
    ok, out = run(exercises.check_stack_masks, lambda k, s, t: masks.spatial_mask(k, t))
    assert ok is False and "differs" in out
    assert "raised ZeroDivisionError" in run(exercises.check_stack_masks, lambda k, s, t: 1 / 0)[1]
    assert run(exercises.check_stack_masks, None)[1].startswith("Not answered yet:")
    assert "expected a function" in run(exercises.check_stack_masks, 3)[1]


def test_layers_to_reach_matches_autograd():
    """The check's count is the depth at which autograd first sees (i - 1, W - 1) from (i, 0)."""
    from pixelcnn_edu import models
    from pixelcnn_edu import receptive_field as rf

    def reaches(n_layers: int) -> bool:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = models.GatedPixelCNN(1, 2, hidden=4, n_layers=n_layers, input_kernel_size=5, kernel_size=5)
        x = rf.model_inputs(model, 2, (3, 9), torch.Generator().manual_seed(0))
        return bool(rf.log_prob_dependencies(model, x, (0, 2, 0))[0, 1, 8] != 0)

    assert run(exercises.check_layers_to_reach, 3, width=9, input_kernel_size=5, kernel_size=5)[0] is True
    assert not reaches(2) and reaches(3)
    assert run(exercises.check_layers_to_reach, 24)[0] is True  # 28 wide, 7x7 then 3x3
    ok, out = run(exercises.check_layers_to_reach, 27)
    assert ok is False and "first layer already reaches" in out and "column 27" not in out  # the slip, not the equation
    ok, out = run(exercises.check_layers_to_reach, 25)
    assert ok is False and "counts the first layer too" in out
    ok, out = run(exercises.check_layers_to_reach, 30)
    assert ok is False and "too many" in out
    ok, out = run(exercises.check_layers_to_reach, 8)
    assert ok is False and "too few" in out
    assert "whole number" in run(exercises.check_layers_to_reach, 2.5)[1]
    assert run(exercises.check_layers_to_reach, None)[1].startswith("Not answered yet:")
    with pytest.raises(ValueError):
        exercises.check_layers_to_reach(3, kernel_size=1)


# --- 05 the discretised logistic mixture ------------------------------------------------------------


@pytest.mark.parametrize("n_mix, channels, coupled, expected", [(10, 3, True, 100), (5, 3, True, 50), (10, 1, True, 30),
                                                               (10, 3, False, 90)])
def test_param_channels_check(n_mix, channels, coupled, expected):
    assert run(exercises.check_param_channels, expected, n_mix=n_mix, in_channels=channels, coupled=coupled)[0] is True
    ok, out = run(exercises.check_param_channels, expected + 1, n_mix=n_mix, in_channels=channels, coupled=coupled)
    assert ok is False


def test_param_channels_check_explains_the_usual_slip():
    ok, out = run(exercises.check_param_channels, 90)
    assert ok is False and "coupling coefficients" in out
    assert "expected a whole number" in run(exercises.check_param_channels, "100")[1]
    assert run(exercises.check_param_channels, None)[1].startswith("Not answered yet:")


def test_level_probs_check():
    def level_probs(mean, log_scale, levels, edges=True):
        s, half = math.exp(log_scale), 1 / (levels - 1)
        centre = torch.linspace(-1, 1, levels, dtype=torch.float64)
        upper, lower = torch.sigmoid((centre + half - mean) / s), torch.sigmoid((centre - half - mean) / s)
        p = upper - lower
        if edges:
            p[0], p[-1] = upper[0], 1 - lower[-1]
        return p

    assert run(exercises.check_level_probs, level_probs)[0] is True
    ok, out = run(exercises.check_level_probs, lambda m, s, n: level_probs(m, s, n, edges=False))
    assert ok is False and "not 1" in out and "all the mass below" in out
    ok, out = run(exercises.check_level_probs, lambda m, s, n: torch.full((n,), 1 / n))
    assert ok is False and "width 2 / (levels - 1)" in out
    ok, out = run(exercises.check_level_probs, lambda m, s, n: torch.zeros(n + 1))
    assert ok is False and "expected (4,)" in out
    assert run(exercises.check_level_probs, None)[1].startswith("Not answered yet:")


# --- notebook 06 ---------------------------------------------------------------------------


