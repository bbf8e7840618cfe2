"""Give notebook headings the ids their sources pin, so links to them are stable in both languages.

mkdocs-jupyter derives heading ids from the heading text: a Chinese heading gets an empty id and
an English one changes whenever its wording does. hooks/notebook_runner.py keeps each pinned id
(`## Causal mask { #causal-mask }`) in the cell's metadata; this hook puts it on the rendered
heading and its table-of-contents entry, as Material's own permalinks look.
"""

import html as html_lib
import re

import nbformat
from mkdocs.exceptions import PluginError

from handbook import is_notebook_page, notebook_source

HEADING = re.compile(r'<h([1-6]) id="[^"]*">(.*?)<a class="anchor-link" href="#[^"]*">¶</a></h\1>', re.S)
TAG = re.compile(r"<[^>]+>")


def pinned_ids(notebook_path: str) -> dict[str, str]:
    ids = {}
    for cell in nbformat.read(notebook_path, as_version=4).cells:
        ids.update(cell.metadata.get("handbook_anchors", {}))
    return ids


def text_of(fragment: str) -> str:
    return html_lib.unescape(TAG.sub("", fragment)).strip()


def on_page_content(html, page, config, files):
    if not is_notebook_page(page):
        return html
    ids = pinned_ids(page.file.abs_src_path)
    source = notebook_source(page)

    def pin(match: re.Match) -> str:
        level, inner = match.group(1), match.group(2)
        heading = text_of(inner)
        if level == "1":  # the title: its id is the notebook's name, as its table-of-contents entry's
            ids[heading] = page.file.name
            return f'<h1 id="{page.file.name}">{inner}</h1>'
        if heading not in ids:
            raise PluginError(f"{source}: heading '{heading}' needs a pinned id, e.g. `## {heading} {{ #some-id }}`")
        anchor = ids[heading]
        return f'<h{level} id="{anchor}">{inner}<a class="headerlink" href="#{anchor}" title="Permanent link">¶</a></h{level}>'

    html = HEADING.sub(pin, html)
    retitle(page.toc, ids)
    return html


def retitle(items, ids: dict[str, str]) -> None:
    for item in items:
        item.id = ids.get(text_of(item.title), item.id)
        retitle(item.children, ids)
