"""Checks for notebook 02b, the ablation studies: reading a study's table as a scientist would."""

from __future__ import annotations

import math
from typing import Any

from ._common import _describe, _unanswered, _verdict


def check_study_reading(result: Any, best: Any, beyond_noise: Any) -> bool:
    """Exercises 02b.1-3: after ``result = ablation.run_study(...)``, name the ``best`` variant
    (lowest mean test bits/dim) and say whether its lead over the runner-up is ``beyond_noise``:
    the paired t-test over the seeds (``ablation.difference``, ``ablation.beyond_noise``)."""
    from ..ablation import StudyResult, beyond_noise as is_real, difference, t_critical

    if not isinstance(result, StudyResult):
        return _unanswered("run the study first: result = ablation.run_study(...), then pass result.")
    if best is None or beyond_noise is None:
        return _unanswered(f"name the best variant (one of {list(result.scores)}) and say True or False for beyond_noise.")
    if best not in result.scores:
        return _verdict(False, f"{_describe(best)} is not a variant of this study; its variants are {list(result.scores)}.")
    if not isinstance(beyond_noise, bool):
        return _verdict(False, f"beyond_noise must be True or False, got {_describe(beyond_noise)}.")
    ranked = result.ranking()
    if best != ranked[0]:
        if best == ranked[-1]:
            return _verdict(False, f"{best!r} has the highest bits/dim ({result.mean(best):.4f}); lower is better here.")
        return _verdict(False, f"{ranked[0]!r} has a lower mean ({result.mean(ranked[0]):.4f}) than {best!r} ({result.mean(best):.4f}).")
    if len(ranked) < 2:
        return _verdict(True, f"{best!r} is the only variant.")
    diff, error = difference(result, ranked[1], best)
    real = is_real(diff, error, len(result.seeds))
    critical = t_critical(len(result.seeds) - 1) if len(result.seeds) > 1 else float("nan")
    if beyond_noise != real:
        if real:
            t = abs(diff) / error if error > 0 else math.inf  # every seed gave the same difference: no spread at all
            return _verdict(False, f"{best!r} leads {ranked[1]!r} by {diff:.4f} bits/dim, {t:.1f} standard errors "
                                   f"({error:.4f}), past the {critical:.2f} that {len(result.seeds)} seeds need: the lead is beyond their noise.")
        return _verdict(False, f"{best!r} leads {ranked[1]!r} by {diff:.4f} bits/dim with a paired standard error of {error:.4f}: "
                               f"with {len(result.seeds)} seeds that is not past {critical:.2f} standard errors, so another "
                               f"set of seeds could reverse it.")
    verdict = "beyond the noise of the seeds" if real else "within the noise of the seeds"
    return _verdict(True, f"{best!r} is best, by {diff:.4f} ± {error:.4f} bits/dim over {ranked[1]!r}: {verdict}.")
