"""Progress bars: text on stderr in a terminal; in a notebook, one output updated in place, so that a
stored copy of the notebook shows the work's last state and never a bar frozen at 0%."""

from __future__ import annotations

import sys

import nbformat
import pytest
from nbclient import NotebookClient

from pixelcnn_edu import progress

TRAINING_CELL = """
import torch
from pixelcnn_edu import data, models, progress, sampling, train
g = torch.Generator().manual_seed(0)
images = (torch.rand(48, 1, 6, 6, generator=g) > 0.5).float()
train_set = data.ImageDataset(images[:32], torch.zeros(32, dtype=torch.long), 2, "noise")
test_set = data.ImageDataset(images[32:], torch.zeros(16, dtype=torch.long), 2, "noise-test")
model = models.PixelCNN(levels=2, hidden=4, n_layers=2)
history = train.fit(model, train_set, test_set, epochs=2, batch_size=4, lr=1e-3, progress=True)
sampling.sample(model, 2, (6, 6), generator=g, progress=True)
print("in a kernel:", progress.in_jupyter_kernel())
"""


def test_a_stored_notebook_shows_no_frozen_bar_and_the_closing_summary() -> None:
    """Before: tqdm.auto's ipywidgets bars, stored as their first state ('epoch 1/2:   0%|')."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(TRAINING_CELL)])
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    outputs = notebook.cells[0].outputs
    texts = [str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs]
    assert not [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert not [t for t in texts if "0%|" in t], texts
    shown = [o for o in outputs if o.output_type == "display_data"]
    assert shown and all(o.data["text/plain"] == "" for o in shown)  # every bar was shown, then emptied when it closed
    printed = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")
    assert "in a kernel: True" in printed and "trained: 2 epochs" in printed  # History.summary(), the line that stays


def test_outside_a_kernel_the_bar_is_tqdms_text_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert not progress.in_jupyter_kernel()
    for _ in progress.progress_bar(range(3), desc="work", enabled=True):
        pass
    assert "work" in capsys.readouterr().err
    for _ in progress.progress_bar(range(3), desc="quiet", enabled=False):
        pass
    assert capsys.readouterr().err == ""


def test_the_display_line_shows_the_last_line_and_empties_when_the_bar_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[str] = []

    class Handle:
        def update(self, data: dict, raw: bool) -> None:
            shown.append(data["text/plain"])

    def display(data: dict, raw: bool, display_id: bool) -> Handle:
        shown.append(data["text/plain"])
        return Handle()

    import IPython.display

    monkeypatch.setattr(IPython.display, "display", display)
    line = progress.DisplayLine()
    for text in ["", "\r", "\rwork:  50%|#####     | 1/2", "\rwork:  50%|#####     | 1/2", "\rwork: 100%|##########| 2/2",
                 "\r" + " " * 30, "\r", "\n"]:
        line.write(text)
    assert shown == ["work:  50%|#####     | 1/2", "work: 100%|##########| 2/2", ""]
    assert "IPython" in sys.modules
