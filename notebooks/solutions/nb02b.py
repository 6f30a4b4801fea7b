"""Worked solutions to notebook 02b's exercises (the ablation studies), for teachers.

The answers depend on the run (the budget, the machine's arithmetic), so each solution reads them
from the student's own ``result`` the way a careful reader of the table would.
"""

from __future__ import annotations

from pixelcnn_edu.ablation import StudyResult, beyond_noise, difference


def read_study(result: StudyResult) -> tuple[str, bool]:
    """(best variant, whether its lead is beyond noise): the lowest mean wins, and the lead over the
    runner-up counts only if the paired t-test over the seeds says so (4.30 standard errors for 3 seeds)."""
    best, runner_up = result.ranking()[:2]
    diff, error = difference(result, runner_up, best)
    return best, beyond_noise(diff, error, len(result.seeds))


def exercise_1(result: StudyResult) -> tuple[str, bool]:
    """The depth study: ``result = ablation.run_study("depth")``. With the quick budget a deeper
    model has more to learn in the same few epochs; compare the report (8 blocks best, by 0.0024)."""
    return read_study(result)


def exercise_2(result: StudyResult) -> tuple[str, bool]:
    """The normalisation study: ``result = ablation.run_study("norm")``. Batch norm is scored in eval
    mode, where it uses running statistics and so cannot leak the future (notebook 02)."""
    return read_study(result)


def exercise_3(result: StudyResult) -> tuple[str, bool]:
    """The colour study: ``result = ablation.run_study("color")``: R -> G -> B against independent
    channels on coloured digits, the comparison of notebook 03's section 6 with three seeds."""
    return read_study(result)
