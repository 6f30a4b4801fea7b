"""What every check shares: the three message prefixes and how an answer is read, judged and reported.

Private to the package: import the checks from ``pixelcnn_edu.exercises``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable

import torch

CORRECT = "✅ Correct:"
NOT_YET = "❌ Not yet:"
UNANSWERED = "Not answered yet:"


def _verdict(ok: bool, message: str) -> bool:
    """Print ``message`` after the right prefix and return ``ok``."""
    print(f"{CORRECT if ok else NOT_YET} {message}")
    return ok


def _unanswered(hint: str) -> bool:
    print(f"{UNANSWERED} {hint}")
    return False


def _as_float(value: Any) -> float | None:
    """``value`` as a Python float if it is a real number or a one-element tensor, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        return float(value.item())
    return None


def _number(answer: Any, hint: str, kind: str = "a whole number") -> float | None:
    """The student's numeric answer as a float; None (after printing why) if it is missing or not a number."""
    if answer is None:
        _unanswered(hint)
        return None
    value = _as_float(answer)
    if value is None or (kind.startswith("a whole") and value != int(value)):
        _verdict(False, f"expected {kind}, got {_describe(answer)}.")
        return None
    return value


def _describe(value: Any) -> str:
    """A short description of an answer for error messages (type and a clipped repr)."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _close(a: float, b: float, rel_tol: float = 1e-4) -> bool:
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-9)


def _student_tensor(fn: Callable[..., Any], args: tuple, call: str) -> torch.Tensor | str:
    """The student's ``fn(*args)`` as a float tensor, or the message to print if it raised."""
    try:
        return torch.as_tensor(fn(*args)).float()
    except Exception as err:  # the student's code failed: report it, do not crash the notebook
        return f"{call} raised {type(err).__name__}: {err}"


def _wrong_mask(fn: Callable[..., Any], args: tuple, call: str, expected: torch.Tensor, hint: str) -> str | None:
    """Why the student's mask ``fn(*args)`` differs from ``expected`` (with both drawn), or None if it matches."""
    from ..masks import mask_to_string

    got = _student_tensor(fn, args, call)
    if isinstance(got, str):
        return got
    if got.shape != expected.shape:
        return f"{call} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}."
    if not torch.equal(got, expected):
        return f"{call} differs {hint}.\nyours:\n{mask_to_string(got)}\nexpected:\n{mask_to_string(expected)}"
    return None
