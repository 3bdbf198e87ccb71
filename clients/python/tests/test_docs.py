"""The examples that the docs show are the files the other tests run, character for character."""

from __future__ import annotations

import re
from pathlib import Path

import keygate
from support import CLIENT, EXAMPLES, REPO

FENCE = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[str]:
    return [block.rstrip("\n") for block in FENCE.findall(text)]


def example(name: str) -> str:
    return (EXAMPLES / f"{name}_app.py").read_text().rstrip("\n")


def test_the_guide_shows_the_examples_that_are_tested() -> None:
    guide = (REPO / "docs" / "guard-your-api.md").read_text()
    start = guide.index("\n## Python\n")
    end = guide.find("\n## ", start + 1)
    section = guide[start : end if end >= 0 else len(guide)]
    assert python_blocks(section) == [example("fastapi"), example("flask"), example("starlette")]


def test_the_readme_shows_the_fastapi_example() -> None:
    readme = (CLIENT / "README.md").read_text()
    assert python_blocks(readme) == [example("fastapi")]


def test_the_package_is_typed() -> None:
    assert (Path(keygate.__file__).parent / "py.typed").is_file()
