"""Expand abbreviations (LLM, RAG, KV, LoRA, ...) on hover, on every page, in the page's language.

Each language defines them once, in includes/abbreviations.<lang>.md, with the `*[LLM]: ...` syntax
of Python-Markdown's abbr extension; this hook appends the reader's language's list to every page.
(pymdownx.snippets' auto_append would append one list to every language.)
"""

from mkdocs.exceptions import PluginError

from handbook import ABBREVIATIONS, current_language, is_notebook_page

definitions: dict[str, str] = {}


def on_config(config):
    definitions.clear()
    for lang, path in ABBREVIATIONS.items():
        if not path.exists():
            raise PluginError(f"{path}: missing; every language needs its list of abbreviations")
        definitions[lang] = path.read_text(encoding="utf-8")


def on_page_markdown(markdown, page, config, files):
    if is_notebook_page(page):
        return markdown
    return f"{markdown}\n\n{definitions[current_language(config)]}"
