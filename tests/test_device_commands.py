"""The prepared device runs name only what their scripts accept: a device session is short, and a run that
stops at an unknown option wastes it. Checked for `tools/gpu_check.sh` and the commands in `docs/gpu.md`."""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _commands_of_gpu_check() -> list[list[str]]:
    """Each `$PY script.py ...` call of tools/gpu_check.sh, as words, up to a redirection."""
    found = []
    for line in (ROOT / "tools" / "gpu_check.sh").read_text().splitlines():
        match = re.search(r"\$PY (\S+\.py)(.*)", line)
        if match:
            found.append([match.group(1), *shlex.split(match.group(2).split(">")[0], comments=True)])
    return found


def _commands_of_gpu_md() -> list[list[str]]:
    """Each `python script.py ...` command in docs/gpu.md's bash blocks, continuation lines joined."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", (ROOT / "docs" / "gpu.md").read_text(), flags=re.S):
        for command in block.replace("\\\n", " ").splitlines():
            words = shlex.split(command, comments=True)
            if len(words) > 1 and words[0] == "python" and words[1].endswith(".py"):
                found.append(words[1:])
    return found


@cache
def _help(script: str) -> str:
    done = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{script} --help failed:\n{done.stderr}"
    return done.stdout


COMMANDS = [("gpu_check.sh", c) for c in _commands_of_gpu_check()] + [("gpu.md", c) for c in _commands_of_gpu_md()]


def test_the_prepared_commands_are_found():
    scripts = {c[0] for _, c in COMMANDS}
    assert {"tools/run_notebooks.py", "benchmarks/sample_quality.py", "benchmarks/recipe_step_time.py",
            "benchmarks/train_on_gpu.py"} <= scripts


@pytest.mark.parametrize("where, command", COMMANDS, ids=[f"{w}:{c[0]}" for w, c in COMMANDS])
def test_every_option_of_a_prepared_command_is_one_its_script_accepts(where, command):
    usage = _help(command[0])
    options = [word.split("=")[0] for word in command[1:] if word.startswith("--")]
    unknown = [o for o in options if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", usage)]
    assert not unknown, f"{where}: {command[0]} does not accept {unknown}"


def test_the_runs_docs_gpu_md_names_are_runs_of_train_on_gpu():
    spec = importlib.util.spec_from_file_location("train_on_gpu", ROOT / "benchmarks" / "train_on_gpu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for where, command in COMMANDS:
        if command[0].endswith("train_on_gpu.py") and "--only" in command:
            names = []
            for word in command[command.index("--only") + 1:]:
                if word.startswith("--"):
                    break
                names.append(word)
            assert names and set(names) <= set(module.RUNS), f"{where}: unknown runs {set(names) - set(module.RUNS)}"
