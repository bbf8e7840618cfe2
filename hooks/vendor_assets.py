"""Serve the browser libraries the site needs from the site itself, never from a CDN.

They come from npm packages pinned in package.json and package-lock.json (`npm ci`), so their
versions, licences and checksums are recorded there; nothing vendored is committed.
"""

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

from handbook import NODE_MODULES

# package -> (folder inside the package, files to publish); published under assets/vendor/<package>/
VENDORED = {
    "katex": ("dist", ["katex.min.js", "katex.min.css", "contrib/auto-render.min.js", "fonts/*.woff2"]),
    # Loaded only by pages with a diagram (overrides/main.html); Material would take it from unpkg.
    "mermaid": ("dist", ["mermaid.min.js"]),
    # Material's offline plugin needs this shim for search from file://; it would take it from unpkg.
    "iframe-worker": ("", ["shim/index.js"]),
}


@event_priority(-110)
def on_files(files, config):
    for package, (folder, patterns) in VENDORED.items():
        root = NODE_MODULES / package / folder
        for pattern in patterns:
            matches = sorted(root.glob(pattern))
            if not matches:
                raise PluginError(
                    f"{root / pattern} not found: install the pinned browser packages with `npm ci` "
                    f"(scripts/setup.sh does it)"
                )
            for path in matches:
                src_uri = f"assets/vendor/{package}/{path.relative_to(root).as_posix()}"
                files.append(File.generated(config, src_uri, abs_src_path=str(path)))
    return files
