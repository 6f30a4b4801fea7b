"""What a reader of a stored notebook sees (GitHub, nbconvert): no live widget runs there, so no
progress bar may be stored frozen at its first state, and every widget has a static figure under it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"
BAR = re.compile(r"\d+%\|")  # tqdm's 'desc:  42%|####      | 3/7'


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _code_cells(path: Path) -> list[dict]:
    return [cell for cell in _cells(path) if cell["cell_type"] == "code"]


def _plain(output: dict) -> str:
    text = output.get("text", output.get("data", {}).get("text/plain", ""))
    return "".join(text) if isinstance(text, list) else text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_progress_bar_is_stored_frozen(path: Path) -> None:
    frozen = [(k, _plain(o)) for k, cell in enumerate(_code_cells(path)) for o in cell.get("outputs", [])
              if BAR.search(_plain(o)) and not re.search(r"100%\|", _plain(o))]
    assert not frozen, f"{path.name}: progress bars stored unfinished (code cell, text): {frozen[:3]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_widget_has_a_static_figure_under_it(path: Path) -> None:
    cells = _cells(path)
    bare = []
    for k, cell in enumerate(cells):
        if not any(WIDGET in o.get("data", {}) for o in cell.get("outputs", [])):
            continue
        nearby = list(cell.get("outputs", []))
        for after in cells[k + 1 :]:  # the next code cell, unless a new section starts before it
            if after["cell_type"] == "code":
                nearby += after.get("outputs", [])
                break
            if "".join(after["source"]).lstrip().startswith("#"):
                break
        if not any("image/png" in o.get("data", {}) for o in nearby):
            bare.append(k)
    assert not bare, f"{path.name}: cells {bare} show a widget with no static figure in them or in the next code cell of their section"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_widget_state_is_stored_only_by_a_notebook_that_shows_widgets(path: Path) -> None:
    """02b once carried 02's widget state in its metadata, for widgets it never creates."""
    shows = any(WIDGET in o.get("data", {}) for cell in _code_cells(path) for o in cell.get("outputs", []))
    stored = bool(json.loads(path.read_text())["metadata"].get("widgets"))
    assert stored <= shows, f"{path.name} stores widget state but shows no widget"
