"""Publish every notebook in notebooks/ as an executed page in each language.

mkdocs-static-i18n rebuilds the file list with plain File objects, which makes mkdocs-jupyter's
notebook pages static downloads (ultrabug/mkdocs-static-i18n#198). So this hook adds the notebook
pages itself, after the i18n plugin: one executed, language-filtered .ipynb per language, which
mkdocs-jupyter then renders. Execution happens once per source version (hooks/notebook_runner.py).
"""

from pathlib import Path

import nbformat
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

from handbook import CACHE_DIR, LANGUAGES, NOTEBOOK_PAGE_DIR
from handbook import current_language, is_notebook_page, notebook_sources, site_prefix
from notebook_runner import NotebookError, execute, for_language

PAGES_DIR = CACHE_DIR / "notebooks" / "pages"
# A notebook shows how; the question's answer explains why. A search should find the answer first.
NOTEBOOK_SEARCH_BOOST = 0.2


class NotebookPage(File):
    """A generated .ipynb that mkdocs treats as a page (mkdocs-jupyter renders it)."""

    def is_documentation_page(self) -> bool:
        return True


def page_file(name: str, lang: str, config) -> NotebookPage:
    src_uri = f"{lang}/{NOTEBOOK_PAGE_DIR}/{name}.ipynb"
    page_dir = f"{site_prefix(lang)}{NOTEBOOK_PAGE_DIR}/{name}"
    dest_uri = f"{page_dir}/index.html" if config.use_directory_urls else f"{page_dir}.html"
    return NotebookPage(src_uri, str(PAGES_DIR), config.site_dir, config.use_directory_urls, dest_uri=dest_uri)


def write_if_changed(path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


# After mkdocs-static-i18n (priority -100) has rebuilt the file list for the current language.
@event_priority(-110)
def on_files(files, config):
    lang = current_language(config)
    for source in notebook_sources():
        try:
            localized = for_language(execute(source), lang)
        except NotebookError as error:
            raise PluginError(f"Notebook build failed: {error}") from None
        page = page_file(source.stem, lang, config)
        write_if_changed(Path(page.abs_src_path), nbformat.writes(localized))
        # What mkdocs-static-i18n sets on its own files; the language switcher reads `alternates`.
        page.alternates = {other: page_file(source.stem, other, config) for other in LANGUAGES}
        page.locale = page.locale_alternate_of = page.localization = lang
        page.norm_src_uri = f"{NOTEBOOK_PAGE_DIR}/{source.stem}.ipynb"
        files.append(page)
    return files


def on_page_markdown(markdown, page, config, files):
    if is_notebook_page(page):
        page.meta["search"] = {"boost": NOTEBOOK_SEARCH_BOOST}
    return markdown
