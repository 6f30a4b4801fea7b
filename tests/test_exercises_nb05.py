"""Notebook 05's exercise 1, a prediction: the check accepts the worked solution and answers within a
factor of 2, names the usual slips with the student's own value, never gives the gap away on a wrong
try, and computes the reference code's bin mass the way the published PixelCNN++ code does."""

from __future__ import annotations

import math

import pytest
import torch

from pixelcnn_edu.exercises import nb05 as checks
from pixelcnn_edu.likelihoods import DiscretizedLogisticMixture
from solutions import nb05 as solutions
from solutions import solution


def run(answer) -> tuple[bool, str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ok = checks.check_reference_gap(answer)
    return ok, out.getvalue()


def test_the_worked_solution_and_close_predictions_pass() -> None:
    for answer in (solutions.exercise_1(), 0.004, 0.015, torch.tensor(0.008)):
        ok, out = run(answer)
        assert ok and out.startswith("✅ Correct:") and "0.0076" in out, (answer, out)
    assert "def exercise_1(" in solution("05", 1).data


@pytest.mark.parametrize("answer, hint", [(72.6, "floor"), (0, "constant across the bin"), (-0.0076, "above the exact"),
                                          (1.0, "too large"), (0.001, "too small"), ("a lot", "a number")])
def test_wrong_predictions_show_the_students_value_and_a_hint_not_the_gap(answer, hint) -> None:
    ok, out = run(answer)
    assert not ok and out.startswith("❌ Not yet:") and hint in out, (answer, out)
    if not isinstance(answer, str):
        assert f"{answer:g}" in out
        out = out.replace(f"{answer:g}", "")
    assert "0.0076" not in out


def test_unanswered() -> None:
    ok, out = run(None)
    assert not ok and out.startswith("Not answered yet:")


def test_the_reference_fallback_is_the_centre_density_times_the_width() -> None:
    """log f(c) + log(2/255) is the log of the logistic density at the bin centre times the bin width on
    [-1, 1], and for a wide scale (where the density is nearly flat over a bin) it is the exact mass."""
    mean, log_scale = torch.tensor(0.1, dtype=torch.float64), torch.tensor(-1.0, dtype=torch.float64)
    centre, s = -1 + 2 * 100 / 255, math.exp(-1.0)
    t = (centre - 0.1) / s
    density = math.exp(-t) / (s * (1 + math.exp(-t)) ** 2)
    assert math.isclose(float(checks._reference_log_bin_mass(100, mean, log_scale, 256)), math.log(density * 2 / 255), rel_tol=1e-12)
    exact = DiscretizedLogisticMixture(1, 256).log_bin_mass(torch.tensor(100), mean, log_scale)
    assert abs(float(exact) - float(checks._reference_log_bin_mass(100, mean, log_scale, 256))) < 1e-4


def test_the_gap_is_log_sinh_h_over_h_in_the_far_tail() -> None:
    h = math.exp(4.0) / 255
    mean, log_scale = torch.tensor(0.9, dtype=torch.float64), torch.tensor(-4.0, dtype=torch.float64)
    exact = DiscretizedLogisticMixture(1, 256).log_bin_mass(torch.tensor(10), mean, log_scale)
    gap = float(exact - checks._reference_log_bin_mass(10, mean, log_scale, 256))
    assert math.isclose(gap, math.log(math.sinh(h) / h), rel_tol=1e-6)


def test_bad_settings_raise() -> None:
    with pytest.raises(ValueError, match="interior"):
        checks.check_reference_gap(0.0076, level=0)
