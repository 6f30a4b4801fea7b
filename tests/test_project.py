"""The project files agree with each other: environment.yml, pyproject.toml, Makefile, .ci/run."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_parses_and_installs_the_package_with_dev_extra():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "conda-forge" in env["channels"]
    assert any(str(d).startswith("python=3.11") for d in deps)
    assert "pip" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert pip_section == ["-e .[dev]"]


def test_environment_names_the_same_dependencies_as_pyproject():
    """The conda route installs exactly pyproject's runtime + dev dependencies (through `-e .[dev]`)."""
    project = _pyproject()["project"]
    names = {re.split(r"[<>=!~\[ ]", d)[0].lower() for d in project["dependencies"]}
    assert names == {"torch", "torchvision", "numpy", "matplotlib", "ipywidgets", "jupyterlab", "tqdm", "mlxtend"}
    dev = {re.split(r"[<>=!~\[ ]", d)[0].lower() for d in project["optional-dependencies"]["dev"]}
    assert {"pytest", "nbval"} <= dev
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    extras = re.search(r"\[(.*)\]", pip_section[0]).group(1).split(",")
    assert set(extras) == set(project["optional-dependencies"])


def test_dependency_ranges_admit_the_required_versions():
    """torch from the 2.13 CPU wheel to the newest releases; torchvision 0.29.1."""
    from packaging.requirements import Requirement

    reqs = {Requirement(d).name.lower(): Requirement(d) for d in _pyproject()["project"]["dependencies"]}
    for version in ("2.13.0", "2.14.1", "2.15.0"):
        assert reqs["torch"].specifier.contains(version), (reqs["torch"], version)
    for version in ("0.28.0", "0.29.1", "0.29.2"):
        assert reqs["torchvision"].specifier.contains(version), (reqs["torchvision"], version)
    assert reqs["ipywidgets"].specifier.contains("8.0.0") and not reqs["ipywidgets"].specifier.contains("7.8.0")
    assert reqs["jupyterlab"].specifier.contains("4.0.0") and not reqs["jupyterlab"].specifier.contains("3.6.0")


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "--nbval" in makefile and "--nbval-current-env" in makefile and "--nbval-cell-timeout" in makefile
