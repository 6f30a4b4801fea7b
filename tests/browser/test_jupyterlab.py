"""Every notebook, run the way a student runs it: JupyterLab in Chromium, Run All, then the widgets.

nbval compares outputs but never renders a widget. Here each notebook is opened in a real
JupyterLab, its outputs cleared and all cells run (the committed file is not written: autosave is
off). Then: no cell has an error output; every widget output is drawn as a widget view, not as its
text fallback (``VBox(children=...)``, what a student sees when the widget manager is missing); and
in every package widget (CSS class ``pixelcnn-widget``) pressing the arrow keys on its first slider
changes both the slider's readout and the widget's image, which proves the kernel-side observer
answered the browser. Run it with ``make test-browser``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import pytest

from pixelcnn_edu.widgets import WIDGET_CLASS

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
RUN_TIMEOUT_S = 1500  # Run All of the slowest notebook on two busy CPU cores, with room to spare
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

# Counts read from the notebook model (errors, widget outputs) and from each cell's rendered outputs.
# A widget output is drawn as a panel holding a widget view; a closed widget (a finished progress bar)
# leaves a hidden, empty panel; without a working widget manager Lab shows its text/plain instead.
STATE_JS = """() => {
  const app = window.jupyterapp, panel = app && app.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model || !panel.sessionContext) return null;
  const cells = panel.content.model.cells, errors = [], asText = [], empty = [];
  let code = 0, executed = 0, widgetOutputs = 0, panels = 0;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    code += 1;
    if (cell.executionCount) executed += 1;
    const texts = [];
    for (const out of cell.outputs.toJSON()) {
      if (out.output_type === 'error') errors.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
      if (out.data && out.data['%(mime)s']) { widgetOutputs += 1; texts.push(String(out.data['text/plain'] || '').trim()); }
    }
    if (!texts.length) continue;
    for (const out of panel.content.widgets[i].node.querySelectorAll('.jp-OutputArea-output')) {
      if (out.dataset.mimeType === 'text/plain' && texts.includes(out.innerText.trim())) asText.push(`cell ${i}: ${out.innerText.trim().slice(0, 80)}`);
      if (out.dataset.mimeType) continue;  // a rendered MIME bundle, not a widget panel
      panels += 1;
      if (!out.classList.contains('lm-mod-hidden') && !out.querySelector('.jupyter-widgets')) empty.push(`cell ${i}`);
    }
  }
  const failed = [...panel.node.querySelectorAll('.jp-OutputArea-output')]
    .map(o => o.innerText.trim()).filter(t => /^Error (displaying|rendering) widget/.test(t));
  return {kernel: panel.sessionContext.kernelDisplayStatus, run: window.__runAll || null,
          code, executed, errors, widgetOutputs, panels, asText, empty, failed,
          dialog: !!document.querySelector('.jp-Dialog')};
}""" % {"mime": WIDGET_MIME}

RUN_ALL_JS = """async () => {
  const app = window.jupyterapp;
  await app.commands.execute('notebook:clear-all-cell-outputs');  // only this run's outputs count
  window.__runAll = 'running';
  app.commands.execute('notebook:run-all-cells').then(
    () => { window.__runAll = 'done'; }, e => { window.__runAll = 'failed: ' + e; });
}"""

# Fingerprint of one package widget: its first slider's readout and a hash of its image bytes.
WIDGET_JS = """async (root) => {
  const readout = root.querySelector('.widget-slider .widget-readout');
  let hash = 2166136261, n = 0;
  for (const img of root.querySelectorAll('img')) {
    let bytes = new TextEncoder().encode(img.src);
    try { if (img.src.startsWith('blob:')) bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer()); }
    catch (e) {}  // a revoked blob was just replaced: its address differs, which is enough
    for (const b of bytes) hash = Math.imul(hash ^ b, 16777619) >>> 0;
    n += bytes.length;
  }
  return {readout: readout ? readout.innerText.trim() : null, image: `${hash.toString(16)}:${n}`};
}"""


def notebook_names() -> list[str]:
    return sorted(path.name for path in NOTEBOOKS.glob("[0-9]*.ipynb"))


def poll(page: Any, done: Callable[[dict], bool], timeout: float) -> dict | None:
    """Read STATE_JS every 0.25 s until ``done(state)``; accept any dialog (e.g. a kernel picker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = page.evaluate(STATE_JS)
        if state and state["dialog"]:
            page.locator(".jp-Dialog .jp-mod-accept").first.click()
        elif state and done(state):
            return state
        time.sleep(0.25)
    return None


def run_all(page: Any) -> dict:
    """Run all cells and wait until the run has ended and every count has held still for 2 s."""
    page.evaluate(RUN_ALL_JS)
    last: dict[str, Any] = {}

    def settled(state: dict) -> bool:
        key = (state["kernel"], state["executed"], len(state["errors"]), state["panels"], len(state["empty"]))
        if last.get("key") != key:  # widget views are drawn after the kernel's reply
            last.update(key=key, since=time.monotonic())
        ended = state["run"] != "running" and state["kernel"] == "idle"
        return state["kernel"] == "dead" or (ended and time.monotonic() - last["since"] > 2.0)

    state = poll(page, settled, RUN_TIMEOUT_S)
    assert state is not None, f"Run All did not finish in {RUN_TIMEOUT_S} s: {page.evaluate(STATE_JS)}"
    return state


def wait_for_change(widget: Any, before: dict, timeout: float = 60.0) -> dict:
    """The widget's fingerprint once both parts differ from ``before``, or the last one seen."""
    deadline = time.monotonic() + timeout
    now = before
    while time.monotonic() < deadline:
        now = widget.evaluate(WIDGET_JS)
        if now["readout"] != before["readout"] and now["image"] != before["image"]:
            break
        time.sleep(0.25)
    return now


def move_first_slider(page: Any, widget: Any) -> tuple[dict, dict]:
    """Press ArrowRight three times on the widget's first slider (ArrowLeft if it sat at its end)."""
    before = widget.evaluate(WIDGET_JS)
    handle = widget.locator(".widget-slider .noUi-handle").first
    now = before
    for key in ("ArrowRight", "ArrowLeft"):
        handle.focus()
        for _ in range(3):
            page.keyboard.press(key)
        now = wait_for_change(widget, before)
        if now["readout"] != before["readout"]:
            break
    return before, now


SHUTDOWN_JS = """async () => {  // stop this notebook's kernel, so the next one has the machine to itself
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (panel && panel.sessionContext) await panel.sessionContext.shutdown();
}"""


@pytest.mark.parametrize("name", notebook_names())
def test_notebook_runs_and_its_widgets_respond(name: str, lab_url: str, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.goto(f"{lab_url}/lab/tree/notebooks/{name}", timeout=120_000)
        assert poll(page, lambda s: s["kernel"] == "idle", 180) is not None, f"{name}: no idle kernel"
        state = run_all(page)
        assert state["kernel"] != "dead", f"{name}: the kernel died"
        assert not state["errors"], f"{name}: error outputs: {state['errors']}"
        assert state["executed"] == state["code"], f"{name}: {state['executed']} of {state['code']} code cells ran"
        assert not state["failed"], f"{name}: {state['failed']}"
        assert not state["asText"], f"{name}: widgets shown as text, not drawn: {state['asText']}"
        assert state["panels"] == state["widgetOutputs"], (
            f"{name}: {state['widgetOutputs']} widget outputs but {state['panels']} widget panels")
        assert not state["empty"], f"{name}: widget panels with no widget view in them: {state['empty']}"
        widgets = page.locator(f".jp-OutputArea-output .{WIDGET_CLASS}")
        for k in range(widgets.count()):
            widget = widgets.nth(k)
            widget.scroll_into_view_if_needed()
            before, after = move_first_slider(page, widget)
            assert after["readout"] != before["readout"], f"{name}: widget {k}'s slider did not move ({before})"
            assert after["image"] != before["image"], (
                f"{name}: widget {k}'s image did not change when its slider moved {before['readout']} -> {after['readout']}")
    except Exception:
        page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)  # for the reader of a failure
        raise
    finally:
        page.evaluate(SHUTDOWN_JS)
        page.close()
