"""Keep notebook pages light and free of CDNs.

mkdocs-jupyter inlines ~600 KB of JupyterLab CSS and every plot (as base64) into each notebook
page, and loads MathJax 2 and Mermaid from cdnjs. This hook moves the CSS into one shared,
cacheable stylesheet and the plots into image files, and removes the MathJax and Mermaid loaders:
KaTeX (hooks/vendor_assets.py) renders the math, and notebooks carry no Mermaid. Anything else
that would load from another host fails the build.
"""

import base64
import hashlib
import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.utils import get_relative_url

from handbook import is_notebook_page, notebook_source

STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S)
MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)
MERMAID = re.compile(r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded".*?\.jp-Mermaid.*?</script>', re.S)
INLINE_IMAGE = re.compile(r'src="data:image/(png|jpeg|svg\+xml);base64,([A-Za-z0-9+/=\s]+)"')
REMOTE_LOAD = re.compile(r"""(?:src=|href=|import\()\s*["'](?:https?:)?//""")

assets: dict[str, bytes] = {}  # site-relative path -> content, written once per build


def publish(folder: str, extension: str, content: bytes, page) -> str:
    """Store content under a content-hashed name; return its URL relative to the page."""
    path = f"assets/{folder}/{hashlib.sha256(content).hexdigest()[:16]}.{extension}"
    assets[path] = content
    return get_relative_url(path, page.url or ".")


def publish_image(match: re.Match, page) -> str:
    extension = "svg" if match.group(1) == "svg+xml" else match.group(1)
    return publish("notebook-images", extension, base64.b64decode(match.group(2)), page)


def on_page_content(html, page, config, files):
    if not is_notebook_page(page):
        return html
    css = "\n".join(STYLE.findall(html))
    html = STYLE.sub("", html)
    html, mathjax_loaders = MATHJAX.subn("", html)
    html = MERMAID.sub("", html)
    if 'class="jp-Mermaid' in html:
        raise PluginError(f"{notebook_source(page)}: Mermaid output in a notebook cannot render offline")
    if mathjax_loaders != 1 or REMOTE_LOAD.search(html):
        raise PluginError(
            f"{notebook_source(page)}: mkdocs-jupyter's output changed shape (MathJax loader found "
            f"{mathjax_loaders} times, or another remote load); update hooks/notebook_page_assets.py"
        )
    html = INLINE_IMAGE.sub(lambda match: f'src="{publish_image(match, page)}"', html)
    href = publish("stylesheets", "css", css.encode(), page)
    return f'<link rel="stylesheet" href="{href}">\n{html}'


def on_post_build(config):
    for path, content in assets.items():
        target = Path(config.site_dir) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
