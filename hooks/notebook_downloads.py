"""Offer every notebook page's executed notebook as a download and on Colab.

The download is the page's own notebook (one language, with the build's outputs), made to run on its
own: a first cell installs the pinned packages Colab lacks, and each support module the notebook
imports (notebooks/_*.py) is pasted in where it is imported. Colab opens the same file from the branch
that the deploy workflow publishes (scripts/publish_colab.py).
"""

import ast
import importlib.metadata
import posixpath
import re
from pathlib import Path
from urllib.parse import urlparse

import nbformat
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File
from mkdocs.utils import get_relative_url

from handbook import CACHE_DIR, COLAB_BRANCH, NOTEBOOK_PAGE_DIR, NOTEBOOK_SOURCE_DIR, ROOT
from handbook import current_language, is_notebook_file, is_notebook_page, site_prefix

DOWNLOADS_DIR = CACHE_DIR / "notebooks" / "downloads"
COLAB_PREINSTALLED = {"torch", "numpy", "matplotlib", "ipython"}
LABELS = {"en": ("Download notebook", "Open in Colab"), "zh": ("下载 notebook", "在 Colab 中打开")}
SUPPORT_IMPORT = re.compile(r"^from (_\w+) import .+$|^import (_\w+)$", re.M)
RELATIVE_DOC_LINK = re.compile(r"\]\((?![a-z]+:|/|#)([^)#\s]+\.(?:md|ipynb))(#[^)\s]*)?\)")


def pinned_requirements() -> dict[str, str]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pins = (line.split("#")[0].strip().split("==") for line in lines)
    return {normalize(pin[0]): f"{pin[0]}=={pin[1]}" for pin in pins if len(pin) == 2}


def normalize(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def install_cell(code: str) -> nbformat.NotebookNode | None:
    """`%pip install` of the pinned distributions that the code imports and Colab does not have."""
    modules = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module.split(".")[0])
    providers = importlib.metadata.packages_distributions()
    pins = pinned_requirements()
    wanted = {normalize(dist) for module in modules for dist in providers.get(module, [])}
    needed = sorted(pins[dist] for dist in wanted - COLAB_PREINSTALLED if dist in pins)
    if not needed:
        return None
    return nbformat.v4.new_code_cell(
        "# What this notebook needs besides torch, numpy and matplotlib, at the versions the handbook builds with.\n"
        f"%pip install --quiet {' '.join(needed)}"
    )


def site_link(config, lang: str, match: re.Match) -> str:
    """A link between pages, made absolute: a downloaded notebook is read away from the site."""
    target = posixpath.normpath(posixpath.join(NOTEBOOK_PAGE_DIR, match.group(1)))
    path = posixpath.splitext(target)[0]
    path = "" if path == "index" else f"{path}/"
    return f"]({config.site_url}{site_prefix(lang)}{path}{match.group(2) or ''})"


def standalone(notebook_path: Path, lang: str, config) -> nbformat.NotebookNode:
    notebook = nbformat.read(notebook_path, as_version=4)

    def inline(match: re.Match) -> str:
        module = NOTEBOOK_SOURCE_DIR / f"{match.group(1) or match.group(2)}.py"
        if not module.exists():
            raise PluginError(f"{notebook_path.name}: imports '{module.name}', which is not in notebooks/")
        return f"{module.read_text(encoding='utf-8').strip()}\n\nFIGURE_LANGUAGES = ({lang!r},)"

    code = []
    for cell in notebook.cells:
        cell.metadata.pop("handbook_anchors", None)
        if cell.cell_type == "code":
            cell.source = SUPPORT_IMPORT.sub(inline, cell.source)
            code.append(cell.source)
        elif cell.cell_type == "markdown":
            cell.source = RELATIVE_DOC_LINK.sub(lambda match: site_link(config, lang, match), cell.source)
    install = install_cell("\n".join(code))
    if install:
        notebook.cells.insert(0, install)
    return notebook


def colab_url(config, lang: str, name: str) -> str:
    repo = urlparse(config.repo_url or "")
    if repo.netloc != "github.com":
        raise PluginError(f"repo_url '{config.repo_url}' is not a GitHub repository; 'Open in Colab' needs one")
    return f"https://colab.research.google.com/github{repo.path.rstrip('/')}/blob/{COLAB_BRANCH}/{lang}/{name}.ipynb"


def download_uri(lang: str, name: str) -> str:
    return f"{site_prefix(lang)}{NOTEBOOK_PAGE_DIR}/{name}.ipynb"


# After hooks/notebooks.py (-110) has added the notebook pages.
@event_priority(-120)
def on_files(files, config):
    lang = current_language(config)
    for page in [file for file in files if is_notebook_file(file)]:
        target = DOWNLOADS_DIR / lang / f"{page.name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(standalone(Path(page.abs_src_path), lang, config), target)
        files.append(File(
            f"{lang}/{page.name}.ipynb", str(DOWNLOADS_DIR), config.site_dir, False,
            dest_uri=download_uri(lang, page.name),
        ))
    return files


def on_page_content(html, page, config, files):
    if not is_notebook_page(page):
        return html
    lang = current_language(config)
    download = get_relative_url(download_uri(lang, page.file.name), page.url)
    download_label, colab_label = LABELS[lang]
    actions = (
        f'<p class="handbook-notebook-actions">'
        f'<a class="md-button" href="{download}" download>{download_label}</a> '
        f'<a class="md-button" href="{colab_url(config, lang, page.file.name)}">{colab_label}</a></p>'
    )
    return actions + html
