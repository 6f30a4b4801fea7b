"""Show the package's own code in a notebook, so there is one copy of it."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def show_source(obj: Any) -> Any:
    """The package's own source of ``obj`` (a function, method or class) as Markdown: a line naming
    the file and lines it comes from, then a Python code block that JupyterLab highlights. A notebook
    shows how something is computed without keeping a copy of the code."""
    from IPython.display import Markdown

    target = inspect.unwrap(obj)
    try:
        lines, first = inspect.getsourcelines(target)
        path = Path(inspect.getsourcefile(target) or "").resolve()
    except (TypeError, OSError) as error:
        raise TypeError(f"show_source needs a function, method or class written in Python, got {obj!r}") from error
    where = path.relative_to(PACKAGE_ROOT.parent).as_posix() if path.is_relative_to(PACKAGE_ROOT) else path.name
    name = getattr(target, "__qualname__", getattr(target, "__name__", type(target).__name__))
    code = "".join(lines).rstrip()
    return Markdown(f"`{name}`, from `{where}`, lines {first}–{first + len(lines) - 1}:\n\n```python\n{code}\n```")
