"""`pytest --nbval notebooks` compares the quick profile's CPU outputs on any machine: notebooks/conftest.py
pins the profile and the device of every kernel nbval starts. Proven here with CUDA faked inside the
kernel (a sitecustomize.py that makes torch.cuda.is_available() return True)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP_CELL = """\
import torch
from pixelcnn_edu import profiles
print(f"cuda: {torch.cuda.is_available()}")
print(f"profile: {profiles.get_profile().name} · device: {profiles.default_device().type}")
"""


def _notebook(folder: Path) -> Path:
    """A one-cell notebook whose stored output is what the quick profile prints on a CPU with CUDA faked."""
    cell = nbformat.v4.new_code_cell(SETUP_CELL, execution_count=1, outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="cuda: True\nprofile: quick · device: cpu\n")])
    path = folder / "setup.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    return path


def _run_nbval(folder: Path, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    fake = folder / "fake_cuda"
    fake.mkdir(exist_ok=True)
    (fake / "sitecustomize.py").write_text("import torch\ntorch.cuda.is_available = lambda: True\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake), os.environ.get("PYTHONPATH", "")]), **env_extra}
    for key in ("PIXELCNN_EDU_PROFILE", "PIXELCNN_EDU_DEVICE", "PIXELCNN_EDU_SMOKE"):
        if key not in env_extra:
            env.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p", "no:cacheprovider", str(folder / "setup.ipynb")],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )


@pytest.mark.parametrize("user_env", [{}, {"PIXELCNN_EDU_PROFILE": "gpu", "PIXELCNN_EDU_SMOKE": "1"}], ids=["plain", "gpu-asked"])
def test_nbval_kernels_run_quick_on_cpu_with_cuda_faked(tmp_path: Path, user_env: dict[str, str]) -> None:
    _notebook(tmp_path)
    shutil.copy(ROOT / "notebooks" / "conftest.py", tmp_path / "conftest.py")
    result = _run_nbval(tmp_path, user_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert "notebook kernels pinned to PIXELCNN_EDU_PROFILE=quick, PIXELCNN_EDU_DEVICE=cpu" in result.stdout


def test_without_the_pinning_the_faked_cuda_picks_the_gpu_profile(tmp_path: Path) -> None:
    """The control: the same notebook without notebooks/conftest.py fails its comparison, so the fake works
    and the test above passes because of the pinning."""
    _notebook(tmp_path)
    result = _run_nbval(tmp_path, {})
    assert result.returncode != 0
    assert "profile: gpu · device: cuda" in result.stdout
