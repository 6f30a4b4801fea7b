"""Worked solutions to the notebooks' exercises, for teachers; the notebooks never print them.

They live beside the notebooks, in the repository, and not in the ``pixelcnn_edu`` package: a
student's ``pip install pixelcnn-edu`` does not carry them. One module per notebook (``nb02`` for
notebook 02), one function per exercise (``exercise_1()``, ...) that returns the answer its check
accepts, with the reasoning in its docstring. In a notebook started from this folder,
``from solutions import solution; solution("02", 1)`` shows one of them as its source.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

NOTEBOOKS = tuple(sorted(m.name[2:] for m in pkgutil.iter_modules(__path__) if m.name.startswith("nb")))


def solution(notebook: str, number: int) -> Any:
    """The worked solution of exercise ``number`` of ``notebook`` (e.g. ``"02"``, 1), shown as its
    source (``viz.show_source``): the answer and, in the docstring, how to reach it."""
    from pixelcnn_edu.viz import show_source

    if notebook not in NOTEBOOKS:
        raise ValueError(f"no worked solutions for notebook {notebook!r}; notebooks with solutions: {list(NOTEBOOKS)}")
    module = importlib.import_module(f"{__name__}.nb{notebook}")
    numbers = sorted(int(name.split("_")[1]) for name in vars(module) if name.startswith("exercise_"))
    if isinstance(number, bool) or not isinstance(number, int) or number not in numbers:
        raise ValueError(f"notebook {notebook} has no exercise {number!r}; its exercises are {numbers}")
    return show_source(getattr(module, f"exercise_{number}"))
