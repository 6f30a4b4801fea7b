"""Execute the course's notebooks top to bottom in a chosen profile, without comparing outputs.

    python tools/run_notebooks.py --profile gpu                 # on a GPU machine: every notebook, gpu profile
    python tools/run_notebooks.py --profile gpu --smoke         # CI: the gpu profile's cells with a few steps each
    python tools/run_notebooks.py --profile gpu --out runs/executed 03_color_masks.ipynb

``pytest --nbval notebooks`` compares the stored (quick profile, CPU) outputs; this runs the other
profiles. Each notebook gets a fresh kernel with ``PIXELCNN_EDU_PROFILE`` (and, with ``--smoke``,
``PIXELCNN_EDU_SMOKE=1``, which shrinks every budget to a few steps) set. It prints each notebook's
wall time and, with ``--out``, writes the executed copies there (the stored notebooks are never
rewritten). It exits non-zero if any cell raised.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from unittest import mock

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def run(path: Path, env: dict[str, str], timeout: int, out: Path | None) -> tuple[float, str | None]:
    """Execute one notebook in a fresh kernel; return (seconds, error or None)."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start, error = time.perf_counter(), None
    try:
        with mock.patch.dict(os.environ, env):  # the kernel inherits the environment it starts in
            client.execute()
    except CellExecutionError as err:
        error = str(err).strip().splitlines()[-1]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, out / path.name)
    return time.perf_counter() - start, error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="file names in notebooks/ (default: all, in order)")
    parser.add_argument("--profile", default="gpu", help="PIXELCNN_EDU_PROFILE for every kernel (default: gpu)")
    parser.add_argument("--device", default=None, help="PIXELCNN_EDU_DEVICE (default: cuda if available, else cpu)")
    parser.add_argument("--smoke", action="store_true", help="shrink every budget to a few steps (PIXELCNN_EDU_SMOKE=1)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds one cell may take (default 1800)")
    parser.add_argument("--out", type=Path, default=None, help="write the executed notebooks to this folder")
    args = parser.parse_args(argv)
    paths = [NOTEBOOKS / name for name in args.notebooks] or sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    env = {"PIXELCNN_EDU_PROFILE": args.profile, "PIXELCNN_EDU_SMOKE": "1" if args.smoke else "0"}
    if args.device:
        env["PIXELCNN_EDU_DEVICE"] = args.device
    print(f"running {len(paths)} notebook(s) with " + " ".join(f"{k}={v}" for k, v in env.items()), flush=True)
    failed, total = 0, time.perf_counter()
    for path in paths:
        seconds, error = run(path, env, args.timeout, args.out)
        failed += error is not None
        print(f"{path.name:45s} {seconds:7.1f} s  {'FAILED: ' + error if error else 'ok'}", flush=True)
    print(f"{len(paths) - failed} passed, {failed} failed in {time.perf_counter() - total:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
