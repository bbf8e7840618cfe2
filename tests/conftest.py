"""Shared fixtures: one real build of each flavour (online, offline) per test session, a local
server for the online site, and headless Chromium (Debian's /usr/bin/chromium via Playwright)."""

import functools
import http.server
import os
import sys
import threading
from pathlib import Path

import pytest

sys.path[:0] = [str(Path(__file__).resolve().parent.parent / d) for d in ("hooks", "scripts")]
from handbook import ROOT, notebook_sources  # noqa: E402,F401  (ROOT: for the test modules)

NOTEBOOKS = [path.stem for path in notebook_sources()]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """The site and the offline bundle, built once per session as the deploy workflow builds them."""
    from build import build

    return build(tmp_path_factory.mktemp("build") / "site")


@pytest.fixture(scope="session")
def site(built) -> Path:
    return built[0]


@pytest.fixture(scope="session")
def offline_site(built) -> Path:
    return built[1]


@pytest.fixture(scope="session")
def server(site):
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (scripts/setup.sh does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()
