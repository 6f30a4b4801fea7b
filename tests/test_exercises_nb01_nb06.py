"""Notebooks 01 and 06: the worked solutions pass the checks with the notebooks' own settings, a wrong
answer is answered with the student's own value and never the answer, and what the 06 checks expect
is what the package computes."""

from __future__ import annotations

import contextlib
import io
import math

import pytest
import torch

from pixelcnn_edu import exercises, likelihoods, models, sampling, scores, train
from pixelcnn_edu.exercises import nb06
from solutions import nb01 as solutions01
from solutions import nb06 as solutions06
from solutions import solution


def run(check, *args, **kwargs) -> tuple[bool, str]:
    """Call a check and return (its result, what it printed)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = check(*args, **kwargs)
    return result, buffer.getvalue()


# The settings of the notebooks' exercise cells: the worked solutions answer exactly these.
NB01 = {
    1: (exercises.check_number_of_conditionals, dict(image_shape=(3, 32, 32))),
    2: (exercises.check_uniform_bits_per_dim, dict(levels=8)),
    3: (exercises.check_nll_to_bits_per_dim, {}),
}
NB06 = {
    1: (nb06.check_cached_positions, dict(image_size=(32, 32))),
    2: (nb06.check_temperature_for, dict(p_on=0.2, target=0.05)),
    3: (nb06.check_repeated_image_auroc, dict(below=400, tied=20, above=80)),
}


@pytest.mark.parametrize("number", sorted(NB01))
def test_worked_solutions_of_01_pass_the_notebooks_checks(number: int) -> None:
    check, settings = NB01[number]
    worked = getattr(solutions01, f"exercise_{number}")
    ok, out = run(check, worked if number == 3 else worked(), **settings)  # 01.3 asks for a function
    assert ok is True and out.startswith("✅ Correct:")
    assert f"def exercise_{number}(" in solution("01", number).data


@pytest.mark.parametrize("number", sorted(NB06))
def test_worked_solutions_of_06_pass_the_notebooks_checks(number: int) -> None:
    check, settings = NB06[number]
    ok, out = run(check, getattr(solutions06, f"exercise_{number}")(), **settings)
    assert ok is True and out.startswith("✅ Correct:")
    assert f"def exercise_{number}(" in solution("06", number).data


@pytest.mark.parametrize("number", sorted(NB06))
def test_06_checks_are_unanswered_on_none(number: int) -> None:
    check, settings = NB06[number]
    ok, out = run(check, None, **settings)
    assert ok is False and out.startswith("Not answered yet:")


# --- wrong answers: the student's value, a hint, never the answer ------------------------------------

@pytest.mark.parametrize("answer, hint", [
    (1_048_576, "naive loop"),
    (2048, "passes over whole rows"),
    (4064, "first row"),
    (4096, "the spike itself"),
    (4001, "kinds of step"),
])
def test_06_1_wrong_predictions_show_the_value_not_the_answer(answer: int, hint: str) -> None:
    ok, out = run(nb06.check_cached_positions, answer, image_size=(32, 32))
    assert ok is False and out.startswith("❌ Not yet:")
    assert f"{answer:,}" in out and hint in out
    assert "4,032" not in out and "4032" not in out


@pytest.mark.parametrize("answer, hint", [(1.5, "T >= 1"), (0.25, "does not scale"), (0.6, "lower T"), (0.3, "higher T"),
                                          (-1, "not a temperature")])
def test_06_2_wrong_temperatures_show_the_value_not_the_answer(answer: float, hint: str) -> None:
    ok, out = run(nb06.check_temperature_for, answer, p_on=0.2, target=0.05)
    assert ok is False and out.startswith("❌ Not yet:")
    assert f"{answer:g}" in out and hint in out
    assert "0.47" not in out


@pytest.mark.parametrize("answer, hint", [(0.8, "one half"), (0.84, "not a whole win"), (0.18, "reversed"),
                                          (0.16, "reversed"), (0.5, "same image"), (82, "between 0 and 1")])
def test_06_3_wrong_aurocs_show_the_value_not_the_answer(answer: float, hint: str) -> None:
    ok, out = run(nb06.check_repeated_image_auroc, answer, below=400, tied=20, above=80)
    assert ok is False and out.startswith("❌ Not yet:")
    assert f"{answer:g}" in out and hint in out
    assert "0.82" not in out


def test_01_wrong_answers_do_not_print_the_answer() -> None:
    ok, out = run(exercises.check_uniform_bits_per_dim, 2.5, levels=8)
    assert ok is False and "2.5000" in out and "log2(1/8)" not in out and "3.0000" not in out
    ok, out = run(exercises.check_nll_to_bits_per_dim, lambda nll, s: nll * 2.0 + 1.0)
    assert ok is False and "returned" in out
    assert "expected" not in out and "ln 2" not in out and "C * H * W =" not in out
    ok, out = run(exercises.check_nll_to_bits_per_dim, lambda nll, s: nll / (s[1] * s[2] * math.log(2)))
    assert ok is False and "not H * W" in out and "expected" not in out


# --- what the 06 checks expect is what the package computes --------------------------------------

@pytest.mark.parametrize("channels, size", [(1, (5, 7)), (3, (4, 6)), (2, (3, 3))])
def test_cached_positions_is_what_the_package_counts(channels: int, size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    for model in (models.GatedPixelCNN(channels, 2, hidden=8, n_layers=2), models.PixelCNN(channels, 2, hidden=8, n_layers=2)):
        counted = int(sampling.positions_per_step(model.eval(), size, cache=True).sum())
        assert counted == nb06.cached_positions(channels, *size)


def test_the_06_1_solution_is_what_the_shipped_model_counts() -> None:
    """The notebook's model, on the image size of the exercise: the student's own check."""
    gated, _ = train.load_model(train.bundled_checkpoint("gated_mnist"))
    assert int(sampling.positions_per_step(gated.eval(), (28, 28), cache=True).sum()) == nb06.cached_positions(1, 28, 28) == 3080
    assert int(sampling.positions_per_step(gated, (32, 32), cache=True).sum()) == solutions06.exercise_1()


def test_the_06_2_solution_is_what_the_sampler_draws_from() -> None:
    """p(on) of a binary pixel at the solved temperature, by the package's tempered softmax, is the target."""
    logits = torch.log(torch.tensor([0.8, 0.2], dtype=torch.float64))  # (levels,) p(off), p(on) at T = 1
    probs = likelihoods.tempered_softmax(logits, solutions06.exercise_2(), dim=0)
    assert math.isclose(float(probs[1]), 0.05, rel_tol=1e-9)


def test_the_06_3_solution_is_scores_auroc() -> None:
    digits = torch.cat([torch.zeros(400), torch.ones(20), 2 * torch.ones(80)])
    copies = torch.ones(500)
    assert math.isclose(scores.auroc(digits, copies), solutions06.exercise_3())
