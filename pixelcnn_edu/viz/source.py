"""Show the package's own code in a notebook, so there is one copy of it."""

from __future__ import annotations

from typing import Any


def show_source(obj: Any) -> Any:
    """The package's own source of ``obj`` (a function, method or class) as a Markdown code block,
    so a notebook shows how something is computed without keeping a copy of the code."""
    import inspect

    from IPython.display import Markdown

    return Markdown(f"```python\n{inspect.getsource(obj).rstrip()}\n```")
