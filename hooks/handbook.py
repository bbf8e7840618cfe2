"""Facts about the handbook that hooks, scripts and tests share. Defined here once."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS_DIR = ROOT / "docs"
NOTEBOOK_SOURCE_DIR = ROOT / "notebooks"
NODE_MODULES = ROOT / "node_modules"
# Everything the build derives and may reuse; never committed (.gitignore), kept between CI runs.
CACHE_DIR = Path(os.environ.get("HANDBOOK_CACHE_DIR", ROOT / ".cache"))

LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"

# `*[LLM]: ...` definitions appended to every page of that language (hooks/abbreviations.py).
ABBREVIATIONS = {lang: ROOT / "includes" / f"abbreviations.{lang}.md" for lang in LANGUAGES}

# Where generated notebook pages live inside each language tree (docs/<lang>/notebooks/<name>.ipynb).
NOTEBOOK_PAGE_DIR = "notebooks"


# Where the deploy workflow publishes the executed notebooks for "Open in Colab" (scripts/publish_colab.py).
COLAB_BRANCH = "colab"


def notebook_sources(directory: Path = NOTEBOOK_SOURCE_DIR) -> list[Path]:
    """Every notebook source in `directory`; support modules the notebooks import start with `_`."""
    return sorted(path for path in directory.glob("*.py") if not path.name.startswith("_"))


def shown(path) -> str:
    """A path as an error message shows it: relative to the repository when inside it."""
    path = Path(path).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def is_notebook_file(file) -> bool:
    """The file of a page generated from notebooks/<name>.py (hooks/notebooks.py), not a download."""
    return file.src_uri.endswith(".ipynb") and file.is_documentation_page()


def is_notebook_page(page) -> bool:
    return is_notebook_file(page.file)


def notebook_source(page) -> str:
    """The source file of a notebook page, as error messages name it."""
    return shown(NOTEBOOK_SOURCE_DIR / f"{page.file.name}.py")


def site_prefix(lang: str) -> str:
    """Where a language's pages sit in the built site: at the root for the default language."""
    return "" if lang == DEFAULT_LANGUAGE else f"{lang}/"


def current_language(config) -> str:
    """The language mkdocs-static-i18n is building now; it builds each language in turn."""
    i18n = config.plugins["i18n"]
    configured = tuple(lang.locale for lang in i18n.config.languages)
    if configured != LANGUAGES:
        raise ValueError(f"mkdocs.yml declares languages {configured}, hooks/handbook.py {LANGUAGES}")
    return i18n.current_language or DEFAULT_LANGUAGE
