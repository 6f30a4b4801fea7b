"""The README is a front page that stays true: its links resolve, its package map names every module,
its code compiles, and it stays short."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def _prose(text: str) -> str:
    """The text outside fenced code blocks and inline code."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    headings = re.findall(r"^#{1,6}\s+(.*)$", FENCE.sub("", path.read_text()), re.M)
    return {_slug(h) for h in headings}


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path):
    broken = []
    for target in LINK.findall(_prose(page.read_text())):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: not checked offline
            continue
        file, _, anchor = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        if not resolved.exists():
            broken.append(f"{target}: no file {resolved.relative_to(ROOT)}")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{anchor} in {resolved.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_package_map_names_every_module():
    package = ROOT / "pixelcnn_edu"
    modules = {p.stem for p in package.glob("*.py") if not p.name.startswith("_")}
    modules |= {p.parent.name for p in package.glob("*/__init__.py")}
    section = README.read_text().split("## Package map", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(\w+)`", section))
    assert modules <= named, f"modules missing from the README's package map: {sorted(modules - named)}"


def test_python_examples_compile():
    blocks = re.findall(r"^```python\n(.*?)^```", README.read_text(), re.S | re.M)
    assert blocks, "the README shows no Python example"
    for block in blocks:
        compile(block, "README.md", "exec")


def test_front_page_is_short_and_impersonal():
    text = README.read_text()
    assert len(text.splitlines()) <= 170
    assert "make lab" in text and "make test" in text
    assert 'pip install "pixelcnn-edu[notebooks]"' in text and "pip install pixelcnn-edu " in text
    first_person = re.findall(r"\b(I|I'm|I've|we|We|our|Our|my|My)\b", _prose(text))
    assert not first_person, f"first person in the README: {first_person}"
