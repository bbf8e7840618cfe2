"""A real strict build of both languages, inspected as files a reader's browser would receive."""

import gzip
import os
import posixpath
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from matplotlib.image import imread

from build import OFFLINE_ZIP, mkdocs_build
from conftest import NOTEBOOKS, ROOT
from handbook import ABBREVIATIONS, CACHE_DIR, COLAB_BRANCH, DEFAULT_LANGUAGE, LANGUAGES, site_prefix
from publish_colab import collect

# Compressed bytes of HTML, what a reader downloads (GitHub Pages serves gzip). Highlighted code
# compresses well; JupyterLab's inlined CSS (~60 KB compressed) or base64 plots would not fit.
NOTEBOOK_PAGE_LIMIT = 50_000
PAGES = sorted(path.stem for path in (ROOT / "docs" / DEFAULT_LANGUAGE).glob("*.md"))
REMOTE_ASSET = re.compile(
    r"""<(?:script|img|iframe)[^>]+src=["'](?:https?:)?//|<link[^>]+rel=["']?(?:stylesheet|preload|modulepreload)[^>]+href=["'](?:https?:)?//"""
    r"""|@import\s+url\(["']?(?:https?:)?//|fonts\.googleapis|cdn\.jsdelivr|unpkg\.com|cdnjs"""
)


def html_of(site: Path, lang: str, page: str) -> str:
    path = site / site_prefix(lang) / ("index.html" if page == "index" else f"{page}/index.html")
    assert path.exists(), f"{path} was not built"
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("page", PAGES)
def test_every_page_is_built_in_every_language(site, lang, page):
    html = html_of(site, lang, page)
    assert f'<html lang="{lang}"' in html


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_pages_hold_executed_output_not_raw_source(site, lang, name):
    html = html_of(site, lang, f"notebooks/{name}")
    # mkdocs-static-i18n#198: the notebook would otherwise be copied as JSON and --strict still pass.
    assert '"cell_type"' not in html and '"nbformat"' not in html
    assert html.count("jp-OutputArea-output") >= 3, "no executed output on the page"
    assert "jp-CodeCell" in html and "jp-MarkdownCell" in html


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_pages_stay_small(site, lang, name):
    size = len(gzip.compress(html_of(site, lang, f"notebooks/{name}").encode()))
    assert size < NOTEBOOK_PAGE_LIMIT, f"{name} ({lang}) is {size} bytes compressed"


def test_notebook_narrative_is_in_the_page_language(site):
    for name in NOTEBOOKS:
        en, zh = html_of(site, "en", f"notebooks/{name}"), html_of(site, "zh", f"notebooks/{name}")
        cjk = re.compile(r"[\u4e00-\u9fff]")
        en_text = re.sub(r"<script.*?</script>|<nav.*?</nav>|<header.*?</header>", "", en, flags=re.S)
        markdown_cells = re.findall(r'jp-MarkdownCell.*?</div>\s*</div>\s*</div>', en_text, re.S)
        assert markdown_cells and not any(cjk.search(cell) for cell in markdown_cells), name
        assert cjk.search(" ".join(re.findall(r'jp-MarkdownCell.*?</div>\s*</div>\s*</div>', zh, re.S))), name


def test_no_asset_is_loaded_from_another_host(site):
    offenders = []
    for path in site.rglob("*"):
        # Material's bundle names unpkg for polyfills it loads only when a browser lacks ResizeObserver,
        # or for Mermaid diagrams; the browser tests watch the requests a real page makes.
        if path.suffix in {".html", ".css", ".js"} and "vendor" not in path.parts and not path.name.startswith("bundle."):
            text = path.read_text(encoding="utf-8", errors="replace")
            for match in REMOTE_ASSET.finditer(text):
                offenders.append(f"{path.relative_to(site)}: {match.group(0)[:80]}")
    assert not offenders, "\n".join(offenders[:20])


def test_each_language_has_its_own_search_index(site):
    import json

    for lang in LANGUAGES:
        prefix = site_prefix(lang)
        docs = json.loads((site / prefix / "search" / "search_index.json").read_text())["docs"]
        assert docs and not any(doc["location"].startswith(tuple(f"{l}/" for l in LANGUAGES)) for doc in docs)
        titles = " ".join(doc["title"] for doc in docs)
        assert ("注意力" in titles) == (lang == "zh")
        assert "★" not in titles


def test_a_changed_notebook_runs_once_per_build_and_an_unchanged_one_never(built, tmp_path):
    # Start from the session build's cache (every notebook executed) and forget one notebook, as if
    # its source had changed: the next build runs that one once for both languages, and no other.
    changed = "attention"
    shutil.copytree(CACHE_DIR, tmp_path / "cache")
    for stale in (tmp_path / "cache" / "notebooks" / "executed").glob(f"{changed}-*.ipynb"):
        stale.unlink()
    env_cache = {"HANDBOOK_CACHE_DIR": str(tmp_path / "cache")}
    previous = {k: os.environ.get(k) for k in env_cache}
    os.environ.update(env_cache)
    try:
        first = mkdocs_build(tmp_path / "first", offline=False)
        second = mkdocs_build(tmp_path / "second", offline=False)
    finally:
        for key, value in previous.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    assert first.returncode == 0 and second.returncode == 0, first.stderr[-3000:] + second.stderr[-3000:]
    assert first.stderr.count("Executing notebook") == 1, first.stderr[-3000:]
    assert first.stderr.count(f"Executing notebook notebooks/{changed}.py") == 1, first.stderr[-3000:]
    assert "Executing notebook" not in second.stderr


def test_the_offline_bundle_is_published_as_a_zip_the_home_page_links(site):
    import zipfile

    for lang in LANGUAGES:
        assert "downloads/llm-interview-handbook-offline.zip" in html_of(site, lang, "index")
    with zipfile.ZipFile(site / OFFLINE_ZIP) as bundle:
        names = set(bundle.namelist())
    assert {"llm-interview-handbook/index.html", "llm-interview-handbook/zh/fundamentals.html",
            "llm-interview-handbook/search/search_index.js", "llm-interview-handbook/zh/search/search_index.js"} <= names


NOTEBOOK_ACTIONS = re.compile(r'class="handbook-notebook-actions"><a class="md-button" href="([^"]+)" download>'
                              r'[^<]+</a> <a class="md-button" href="([^"]+)">')


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_pages_offer_the_executed_notebook_and_colab(site, lang, name, tmp_path):
    prefix = site_prefix(lang)
    download, colab = NOTEBOOK_ACTIONS.search(html_of(site, lang, f"notebooks/{name}")).groups()
    notebook = nbformat.read(site / posixpath.normpath(f"{prefix}notebooks/{name}/{download}"), as_version=4)
    nbformat.validate(notebook)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert "from _figures" not in code, "a download must run on its own, without the support modules"
    assert any(cell.get("outputs") for cell in notebook.cells), "the download carries the build's outputs"
    assert not any(re.search(r"\]\((?!https?:)[^)]+\.(md|ipynb)", cell.source) for cell in notebook.cells), \
        "links in a download point at the published site"
    assert re.fullmatch(rf"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/{COLAB_BRANCH}/{lang}/{name}\.ipynb", colab)
    published = collect(site, tmp_path)
    assert tmp_path / lang / f"{name}.ipynb" in published, "the Colab branch holds what the link opens"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_figures_are_drawn_in_the_page_language(site, name):
    images = {lang: re.findall(r'<img[^>]+src="[./]*(assets/notebook-images/[^"]+)"', html_of(site, lang, f"notebooks/{name}"))
              for lang in LANGUAGES}
    assert len({len(found) for found in images.values()}) == 1, images
    assert not set(images["en"]) & set(images["zh"]), "a figure is the same in both languages: translate its labels"
    for path in images["en"] + images["zh"]:
        if path.endswith(".png"):
            pixels = imread(site / path)
            assert pixels.shape[-1] == 3 or pixels[..., 3].min() == 1, f"{path}: transparent, unreadable on the dark theme"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_abbreviations_expand_on_hover_in_the_page_language(site, lang):
    definitions = dict(re.findall(r"^\*\[([^\]]+)\]: (.+)$", ABBREVIATIONS[lang].read_text(encoding="utf-8"), re.M))
    shown = dict(re.findall(r'<abbr title="([^"]+)">([^<]+)</abbr>', html_of(site, lang, "fundamentals")))
    assert shown, "no abbreviation is expanded on the fundamentals page"
    for expansion, name in shown.items():
        assert definitions[name] == expansion
