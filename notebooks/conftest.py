"""nbval settings for the notebooks (loaded by pytest when it collects this folder).

The stored outputs are the quick profile's, computed on a CPU. So every kernel that nbval starts
here runs in that profile on the CPU, on any machine, CUDA or not: ``PIXELCNN_EDU_PROFILE=quick`` and
``PIXELCNN_EDU_DEVICE=cpu`` are set while the kernel starts (it inherits them) and put back after.
To run the notebooks on a GPU instead, open them in JupyterLab (``make lab``) or run
``python tools/run_notebooks.py --profile gpu``; neither compares outputs.

After a cell has finished, nbval waits at most 5 seconds, a hard-coded value, for each further
output message from the kernel (nbval issues #136 and #231). A cell that trained models behind
progress bars on two busy cores can take longer than that to deliver its last messages, and nbval
then fails the cell although it ran correctly. The cell time limit stays as set by the Makefile.
"""

import os
from unittest import mock

import pytest

OUTPUT_TIMEOUT_S = 120
PINNED = {"PIXELCNN_EDU_PROFILE": "quick", "PIXELCNN_EDU_DEVICE": "cpu", "PIXELCNN_EDU_SMOKE": "0"}


def _is_notebook_cell(item) -> bool:
    return hasattr(item, "output_timeout")  # nbval's notebook cells


def pytest_report_header(config):
    return "notebook kernels pinned to " + ", ".join(f"{k}={v}" for k, v in PINNED.items())


def pytest_collection_modifyitems(items):
    for item in items:
        if _is_notebook_cell(item):
            item.output_timeout = OUTPUT_TIMEOUT_S


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    """nbval starts a notebook's kernel while setting up its first cell: pin the environment then."""
    if not _is_notebook_cell(item):
        return (yield)
    with mock.patch.dict(os.environ, PINNED):  # set while the kernel starts, put back after
        return (yield)
