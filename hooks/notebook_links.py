"""Resolve the links in notebook Markdown the way mkdocs resolves them on pages.

mkdocs converts `[text](../fundamentals.md#x)` into a URL only in Markdown pages; mkdocs-jupyter
leaves it as written, which breaks on the built site. This hook rewrites every relative link to
a .md or .ipynb file into the target page's URL and fails on a target that does not exist.
(scripts/check_content.py checks the #anchors, with the notebook's line.)
"""

import posixpath
import re

from mkdocs.exceptions import PluginError
from mkdocs.utils import get_relative_url

from handbook import is_notebook_page, notebook_source

RELATIVE_DOC_LINK = re.compile(r'href="(?![a-z]+:|/|#)([^"#]+\.(?:md|ipynb))(#[^"]*)?"')


def on_page_content(html, page, config, files):
    if not is_notebook_page(page):
        return html

    def resolve(match: re.Match) -> str:
        target_uri = posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), match.group(1)))
        target = files.get_file_from_path(target_uri)
        if target is None:
            raise PluginError(f"{notebook_source(page)}: link to '{match.group(1)}', which does not exist")
        return f'href="{get_relative_url(target.url, page.url)}{match.group(2) or ""}"'

    return RELATIVE_DOC_LINK.sub(resolve, html)
