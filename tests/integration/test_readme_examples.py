"""The README's Python client examples run as written against a live service."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.server import API_KEY, Server

README = Path(__file__).resolve().parents[2] / "README.md"


def python_examples() -> list[str]:
    text = README.read_text()
    section = text.split("### Python client", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_readme_has_python_examples() -> None:
    assert len(python_examples()) >= 3


@pytest.mark.parametrize("index", range(3))
def test_readme_python_example(server: Server, index: int) -> None:
    code = python_examples()[index]
    env = {**os.environ, "TINIRUN_URL": server.url, "TINIRUN_API_KEY": API_KEY}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "an example should show something"
