"""Keep notebook pages light and free of CDNs.

mkdocs-jupyter inlines ~600 KB of JupyterLab CSS into every notebook page, loads MathJax 2 and
Mermaid from cdnjs. This hook moves the CSS into one shared, cacheable stylesheet, and removes
the MathJax and Mermaid loaders: KaTeX (hooks/vendor_assets.py) renders the math, and notebooks
carry no Mermaid. Anything else that would load from another host fails the build.
"""

import hashlib
import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.utils import get_relative_url

STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S)
MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)
MERMAID = re.compile(r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded".*?\.jp-Mermaid.*?</script>', re.S)
REMOTE_LOAD = re.compile(r"""(?:src=|href=|import\()\s*["'](?:https?:)?//""")

stylesheets: dict[str, str] = {}  # site-relative path -> CSS, written once per build


def is_notebook(page) -> bool:
    return page.file.src_uri.endswith(".ipynb")


def on_page_content(html, page, config, files):
    if not is_notebook(page):
        return html
    css = "\n".join(STYLE.findall(html))
    html = STYLE.sub("", html)
    html, mathjax_loaders = MATHJAX.subn("", html)
    html = MERMAID.sub("", html)
    if 'class="jp-Mermaid' in html:
        raise PluginError(f"{page.file.src_uri}: Mermaid output in a notebook cannot render offline")
    if mathjax_loaders != 1 or REMOTE_LOAD.search(html):
        raise PluginError(
            f"{page.file.src_uri}: mkdocs-jupyter's output changed shape (MathJax loader found "
            f"{mathjax_loaders} times, or another remote load); update hooks/notebook_page_assets.py"
        )
    path = f"assets/stylesheets/jupyter.{hashlib.sha256(css.encode()).hexdigest()[:12]}.css"
    stylesheets[path] = css
    href = get_relative_url(path, page.url or ".")
    return f'<link rel="stylesheet" href="{href}">\n{html}'


def on_post_build(config):
    for path, css in stylesheets.items():
        target = Path(config.site_dir) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(css, encoding="utf-8")
