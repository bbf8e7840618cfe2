"""Execute a jupytext notebook source once, cached by content, and split it by language.

Not a hook: hooks/notebooks.py and the tests import it.
"""

import copy
import hashlib
import logging
import os
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

from handbook import CACHE_DIR, DOCS_DIR, LANGUAGES, ROOT, shown

EXECUTED_DIR = CACHE_DIR / "notebooks" / "executed"
CELL_TIMEOUT_SECONDS = 120
# Part of the cache key: bump it when execution itself changes (kernel set-up, environment).
RUNNER_VERSION = "3"
KERNEL_ENVIRONMENT = {
    # notebooks/_figures.py fails, rather than degrades, when a figure cannot be drawn in the build.
    "HANDBOOK_BUILD": "1",
    # A build never downloads a model or a data set: Hugging Face libraries fail instead of fetching.
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}
# Output metadata naming the language of a figure (notebooks/_figures.py); other outputs are shared.
OUTPUT_LANGUAGE_KEY = "handbook_language"
log = logging.getLogger("mkdocs.hooks.notebooks")
HEADING_ID = re.compile(r"^(#{1,6} .*?)\s*\{\s*#([a-z0-9]+(?:-[a-z0-9]+)*)\s*\}\s*$", re.M)


class NotebookError(Exception):
    """A notebook that cannot be built, located by source file and line."""

    def __init__(self, path: str, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


def cache_key(source: Path) -> str:
    """Changes with the source, the support modules it imports, the pinned packages, the runner,
    and, for a notebook that reads the handbook's pages (its source names `docs`), the pages."""
    digest = hashlib.sha256()
    inputs = [source, *sorted(source.parent.glob("_*.py"))]
    if "docs" in source.read_text(encoding="utf-8"):
        inputs += sorted(DOCS_DIR.rglob("*.md"))
    for path in inputs:
        digest.update(path.read_bytes())
    digest.update((ROOT / "requirements.txt").read_bytes())
    digest.update(f"{RUNNER_VERSION}|{sys.version_info[:2]}".encode())
    return digest.hexdigest()[:20]


def cell_lines(source: Path) -> list[int]:
    """1-based line of each `# %%` cell marker, in cell order."""
    lines = source.read_text(encoding="utf-8").splitlines()
    return [number for number, line in enumerate(lines, 1) if line.startswith("# %%")]


def cell_error(source: Path, index: int, message: str) -> NotebookError:
    lines = cell_lines(source)
    return NotebookError(shown(source), lines[index] if index < len(lines) else 1, f"cell {index + 1}: {message}")


def read_source(source: Path) -> nbformat.NotebookNode:
    notebook = jupytext.read(source, fmt="py:percent")
    markdown_count = {lang: 0 for lang in LANGUAGES}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        langs = [tag for tag in cell.metadata.get("tags", []) if tag in LANGUAGES]
        if len(langs) != 1:
            raise cell_error(
                source, index,
                f"a Markdown cell needs exactly one language tag of {LANGUAGES}, "
                f"e.g. '# %% [markdown] tags=[\"en\"]'; found {langs or 'none'}",
            )
        markdown_count[langs[0]] += 1
    if len(set(markdown_count.values())) != 1:
        raise NotebookError(
            shown(source), 1, f"every language needs the same number of Markdown cells; found {markdown_count}"
        )
    return notebook


def execute(source: Path) -> nbformat.NotebookNode:
    """The executed notebook (all languages), from the cache when the source is unchanged."""
    cached = EXECUTED_DIR / f"{source.stem}-{cache_key(source)}.ipynb"
    if cached.exists():
        return nbformat.read(cached, as_version=4)
    notebook = read_source(source)
    log.info("Executing notebook %s", shown(source))
    started = time.perf_counter()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(source.parent)}},
    )
    with client.setup_kernel(env={**os.environ, **KERNEL_ENVIRONMENT}):
        for index, cell in enumerate(notebook.cells):
            try:
                client.execute_cell(cell, index)
            except (CellExecutionError, CellTimeoutError) as error:
                raise cell_error(source, index, f"cell failed\n{error}") from None
    EXECUTED_DIR.mkdir(parents=True, exist_ok=True)
    for stale in EXECUTED_DIR.glob(f"{source.stem}-*.ipynb"):
        stale.unlink()
    partial = cached.with_suffix(".partial")
    nbformat.write(notebook, partial)
    partial.replace(cached)
    log.info("Executed notebook %s in %.1f s", shown(source), time.perf_counter() - started)
    return notebook


def for_language(notebook: nbformat.NotebookNode, lang: str) -> nbformat.NotebookNode:
    """The notebook a reader of `lang` sees: shared code cells, that language's Markdown cells
    and figures.

    A pinned heading id (`## Causal mask { #causal-mask }`) is taken out of the heading text and kept
    in the cell's metadata, where hooks/notebook_anchors.py puts it back on the rendered heading.
    """
    localized = copy.deepcopy(notebook)
    cells = []
    for cell in localized.cells:
        if cell.cell_type == "markdown":
            if lang not in cell.metadata.get("tags", []):
                continue
            pinned = {}

            def pin(match):
                pinned[match.group(1).lstrip("#").strip()] = match.group(2)
                return match.group(1)

            cell.source = HEADING_ID.sub(pin, cell.source)
            cell.metadata = {"handbook_anchors": pinned} if pinned else {}
        elif cell.cell_type == "code":
            cell.outputs = [
                output for output in cell.get("outputs", [])
                if output.get("metadata", {}).get(OUTPUT_LANGUAGE_KEY, lang) == lang
            ]
        cells.append(cell)
    localized.cells = cells
    return localized


def anchors(source: Path, lang: str) -> set[str]:
    """Pinned heading ids a reader of `lang` can link to, read from the source (no execution)."""
    found = set()
    for cell in read_source(source).cells:
        if cell.cell_type == "markdown" and lang in cell.metadata.get("tags", []):
            found.update(match.group(2) for match in HEADING_ID.finditer(cell.source))
    return found
