"""Notebooks 03's and 04's exercise checks: worked solutions pass the notebooks' exact settings, the
usual slips are named, and a wrong answer is never answered with the expected one."""

from __future__ import annotations

import pytest
import torch

from pixelcnn_edu import exercises, masks, models
from pixelcnn_edu import receptive_field as rf
from pixelcnn_edu.exercises import nb04 as checks04
from solutions import nb03, nb04, solution

# The settings of the notebooks' exercise cells (notebooks/03_color_masks.ipynb, 04_gated_pixelcnn.ipynb).
NB03 = {
    1: (exercises.check_color_mask, dict(in_channels=5, out_channels=6, mask_type="B", convention="contiguous")),
    2: (exercises.check_center_inputs, dict(out_index=7, in_channels=5, out_channels=8, mask_type="A", convention="interleaved")),
    3: (exercises.check_output_order, dict(levels=5, convention="interleaved")),
}
NB04 = {
    1: (exercises.check_stack_masks, {}),
    2: (exercises.check_layers_to_reach, dict(width=28, input_kernel_size=7, kernel_size=3)),
    3: (checks04.check_whole_row_layers, dict(width=28, input_kernel_size=7, kernel_size=3)),
}


def run(capsys, check, answer, **settings):
    ok = check(answer, **settings)
    return ok, capsys.readouterr().out


@pytest.mark.parametrize("number", sorted(NB03))
def test_03_worked_solutions_pass(capsys, number):
    check, settings = NB03[number]
    ok, out = run(capsys, check, getattr(nb03, f"exercise_{number}")(), **settings)
    assert ok is True and out.startswith("✅ Correct:")


@pytest.mark.parametrize("number", sorted(NB04))
def test_04_worked_solutions_pass(capsys, number):
    check, settings = NB04[number]
    worked = getattr(nb04, f"exercise_{number}")
    ok, out = run(capsys, check, worked if number == 1 else worked(), **settings)  # 04.1 asks for a function
    assert ok is True and out.startswith("✅ Correct:")
    assert f"def exercise_{number}(" in solution("04", number).data


def test_04_worked_stack_masks_equal_the_package():
    for k in (3, 5, 7):
        for stack in ("vertical", "horizontal"):
            for mask_type in "AB":
                assert torch.equal(nb04.exercise_1(k, stack, mask_type), masks.stack_mask(k, stack, mask_type))


@pytest.mark.parametrize("answer", [torch.zeros(6, 5), masks.channel_mask(5, 6, "A", 3, "contiguous"),
                                    masks.channel_mask(5, 6, "B", 3, "interleaved")])
def test_03_1_never_prints_the_expected_matrix(capsys, answer):
    check, settings = NB03[1]
    expected = masks.mask_to_string(masks.channel_mask(5, 6, "B", 3, "contiguous"))
    ok, out = run(capsys, check, answer, **settings)
    assert ok is False and out.startswith("❌ Not yet:")
    assert expected not in out and "expected:" not in out
    assert masks.mask_to_string(torch.as_tensor(answer).float()) in out  # the student's own matrix is shown


def test_03_1_points_at_the_first_wrong_entry(capsys):
    check, settings = NB03[1]
    answer = masks.channel_mask(5, 6, "B", 3, "contiguous").clone()
    answer[4, 0] = 0  # a B map that no longer reads an R map
    ok, out = run(capsys, check, answer, **settings)
    assert ok is False and "row 4 (B), column 0 (R), where you have 0" in out and "up to and including its own" in out


def test_04_1_never_prints_the_expected_footprint(capsys):
    ok, out = run(capsys, exercises.check_stack_masks, lambda k, s, t: masks.stack_mask(k, s, "B"))
    assert ok is False and "whole rows" in out and "yours:" in out and "expected:" not in out


@pytest.mark.parametrize("answer, hint", [(24, "pixel (i, 0) reaches the end"), (14, "first layer added nothing"),
                                          (10, "27 columns of the row above"), (12, "fewer layers"),
                                          (2.5, "whole number"), (-1, "negative"), ("11", "whole number")])
def test_04_3_names_each_slip_with_the_students_value(capsys, answer, hint):
    ok, out = run(capsys, checks04.check_whole_row_layers, answer)
    assert ok is False and out.startswith("❌ Not yet:") and hint in out


def test_04_3_unanswered_and_bad_settings(capsys):
    ok, out = run(capsys, checks04.check_whole_row_layers, None)
    assert ok is False and out.startswith("Not answered yet:")
    with pytest.raises(ValueError):
        checks04.check_whole_row_layers(3, kernel_size=1)


def _first_column_seeing_the_row_above(n_layers: int, width: int, input_kernel_size: int, kernel_size: int) -> int | None:
    """By autograd: the first j for which log p(x_(1, j)) depends on every pixel of row 0."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = models.GatedPixelCNN(1, 2, hidden=4, n_layers=n_layers, input_kernel_size=input_kernel_size, kernel_size=kernel_size)
    x = rf.model_inputs(model, 2, (2, width), torch.Generator().manual_seed(0))
    for j in range(width):
        if bool((rf.log_prob_dependencies(model, x, (0, 1, j))[0, 0] != 0).all()):
            return j
    return None


@pytest.mark.parametrize("width, input_kernel_size, kernel_size", [(9, 3, 3), (12, 5, 3), (13, 3, 5)])
def test_04_3_matches_autograd(capsys, width, input_kernel_size, kernel_size):
    """The check's layer count is the depth at which autograd first finds a pixel seeing the whole row
    above, and the first such pixel is the one the check names."""
    n = 1
    while _first_column_seeing_the_row_above(n, width, input_kernel_size, kernel_size) is None:
        n += 1
    ok, out = run(capsys, checks04.check_whole_row_layers, n, width=width, input_kernel_size=input_kernel_size, kernel_size=kernel_size)
    assert ok is True
    assert f"pixel (i, {_first_column_seeing_the_row_above(n, width, input_kernel_size, kernel_size)}) is the first" in out
    assert run(capsys, checks04.check_whole_row_layers, n - 1, width=width, input_kernel_size=input_kernel_size,
               kernel_size=kernel_size)[0] is False
