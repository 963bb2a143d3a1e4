"""The playground's own assets stay small: what a first visit loads (the page, its style, its
scripts and the editor with the default language's mode) is measured here, against a budget,
and the README says the figure."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "tinirun" / "playground" / "static"
IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*["'](\.{1,2}/[^"']+)["']""")
DYNAMIC = re.compile(r"""import\(\s*["'](\.{1,2}/[^"']+)["']\s*\)""")
# Raw and gzip bytes a first visit may load at most.
BUDGET = (540_000, 185_000)


def static_graph(entry: Path) -> set[Path]:
    """`entry` and every module it imports statically, transitively."""
    seen: set[Path] = set()
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        text = path.read_text()
        todo += [(path.parent / spec).resolve() for spec in IMPORT.findall(text)]
    return seen


def python_mode(editor: Path) -> set[Path]:
    """The chunk of the default language's mode (python), and what it imports."""
    for spec in DYNAMIC.findall(editor.read_text()):
        chunk = (editor.parent / spec).resolve()
        if "pythonLanguage" in chunk.read_text():
            return static_graph(chunk)
    raise AssertionError("no chunk holds the python mode")


def first_visit() -> dict[Path, int]:
    files = static_graph((STATIC / "app.js").resolve())
    files |= python_mode((STATIC / "vendor" / "editor.js").resolve())
    files |= {ROOT / "tinirun" / "playground" / "index.html", STATIC / "style.css",
              STATIC / "icon.svg"}
    return {path: path.stat().st_size for path in files}


def test_a_first_visit_loads_little() -> None:
    files = first_visit()
    raw = sum(files.values())
    zipped = sum(len(gzip.compress(path.read_bytes(), 9)) for path in files)
    assert raw <= BUDGET[0] and zipped <= BUDGET[1], (raw, zipped, sorted(
        (size, str(path.relative_to(ROOT))) for path, size in files.items()))
    # Each language mode is a chunk of its own, not in the first visit unless it is python's.
    modes = DYNAMIC.findall((STATIC / "vendor" / "editor.js").read_text())
    assert len(modes) >= 5


def test_the_readme_says_the_bytes() -> None:
    files = first_visit()
    raw = sum(files.values())
    zipped = sum(len(gzip.compress(path.read_bytes(), 9)) for path in files)
    readme = (ROOT / "README.md").read_text()
    assert f"{round(raw / 1000)} kB ({round(zipped / 1000)} kB gzipped)" in readme, (raw, zipped)


if __name__ == "__main__":
    sizes = first_visit()
    raw = sum(sizes.values())
    zipped = sum(len(gzip.compress(p.read_bytes(), 9)) for p in sizes)
    print(f"{round(raw / 1000)} kB ({round(zipped / 1000)} kB gzipped), {len(sizes)} files")
