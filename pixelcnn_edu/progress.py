"""Progress bars that leave an honest trace in a stored notebook.

In a terminal, a bar is tqdm's text bar on stderr. In a Jupyter kernel, ``tqdm.auto`` would draw an
ipywidgets bar, and a stored copy of the notebook (GitHub, nbconvert) shows that widget's first
state: a bar frozen at 0%. Here the same text bar is written into one display output instead and
updated in place (``display_id``), which JupyterLab shows live and nbconvert stores in its last
state; a bar that vanishes when it closes (``leave=False``, as every bar of the package does)
leaves an empty output, and the line printed after the work (e.g. ``History.summary()``) is what a
reader of the stored notebook sees.

    for batch in progress_bar(range(n), desc="evaluate", enabled=progress): ...
"""

from __future__ import annotations

import sys
from typing import Any, Iterable

from tqdm import tqdm

KERNEL_INTERVAL_S = 0.5  # at most two updates a second travel to the notebook's front end


def in_jupyter_kernel() -> bool:
    """True inside an IPython kernel (JupyterLab, nbconvert, nbval); False in a terminal or a plain script."""
    ipython = sys.modules.get("IPython")  # only where IPython is already imported: never import it here
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in shell.config  # the test tqdm.autonotebook uses


class DisplayLine:
    """A file for tqdm in a notebook: each line tqdm writes replaces the text of one display output.

    The output appears at the first visible line; tqdm's flush probes, lone carriage returns and
    final newline change nothing, and the blank line a closing bar writes empties the output.
    """

    def __init__(self) -> None:
        self._handle: Any = None
        self._shown = ""

    def write(self, text: str) -> None:
        if not text.strip("\r\n"):
            return  # '', '\r' or '\n': nothing to show
        line = text.rsplit("\r", 1)[-1].rstrip()
        if line == self._shown:
            return
        self._shown = line
        if self._handle is None:
            from IPython.display import display

            self._handle = display({"text/plain": line}, raw=True, display_id=True)
        else:
            self._handle.update({"text/plain": line}, raw=True)

    def flush(self) -> None:
        pass


def progress_bar(
    iterable: Iterable[Any] | None = None, *, total: int | None = None, desc: str, enabled: bool, initial: int = 0
) -> tqdm:
    """A tqdm bar that vanishes when it closes: a text bar on stderr in a terminal, a text line
    updated in place in a notebook (see the module docstring); ``enabled=False`` shows nothing."""
    if enabled and in_jupyter_kernel():
        return tqdm(iterable, total=total, initial=initial, desc=desc, leave=False, file=DisplayLine(),
                    mininterval=KERNEL_INTERVAL_S)
    return tqdm(iterable, total=total, initial=initial, desc=desc, leave=False, disable=not enabled)
