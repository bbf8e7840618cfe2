"""The site as a reader meets it, in headless Chromium: math, search, language switch, permalinks,
and the offline bundle opened from file:// with every other host blocked."""

import re

import pytest

from conftest import NOTEBOOKS
from handbook import DEFAULT_LANGUAGE, DOCS_DIR, LANGUAGES, site_prefix

SECTION_PAGES = sorted(p.stem for p in (DOCS_DIR / DEFAULT_LANGUAGE).glob("*.md") if p.stem != "index")
MATH_PAGES = [f"{name}/" for name in SECTION_PAGES if "$" in (DOCS_DIR / DEFAULT_LANGUAGE / f"{name}.md").read_text()]
MATH_PAGES += [f"notebooks/{name}/" for name in NOTEBOOKS]
DIAGRAM_PAGES = [name for name in SECTION_PAGES if "```mermaid" in (DOCS_DIR / DEFAULT_LANGUAGE / f"{name}.md").read_text()]
RAW_TEX = re.compile(r"\$\$|\\frac|\\sqrt|\\operatorname|\\mathrm|\\top\b|\\\(|\\\[")
# A reader's query for the concept. (For a single word, Material ranks the short page introductions
# first, and several introductions mention attention in passing.)
SEARCHES = [("en", "attention mechanism", "attention-mechanism"), ("zh", "注意力机制", "attention-mechanism")]


def url(base: str, lang: str, path: str) -> str:
    return f"{base}/{site_prefix(lang)}{path}"


def assert_math_rendered(page, where: str):
    page.wait_for_function("document.querySelectorAll('.katex').length > 0", timeout=10_000)
    report = page.evaluate(
        """() => ({
            rendered: document.querySelectorAll('.katex').length,
            errors: [...document.querySelectorAll('.katex-error')].map(e => e.title || e.textContent),
            unrendered: [...document.querySelectorAll('.arithmatex')].filter(e => !e.querySelector('.katex')).length,
            text: (() => {  // prose only: code and program output may spell LaTeX on purpose
                const article = document.querySelector('article').cloneNode(true);
                article.querySelectorAll('pre, code, .jp-InputArea, .jp-OutputArea, .katex-mathml').forEach(e => e.remove());
                return article.innerText;
            })(),
        })"""
    )
    assert not report["errors"], f"{where}: KaTeX errors {report['errors'][:5]}"
    assert report["unrendered"] == 0, f"{where}: {report['unrendered']} formulas left as source"
    raw = RAW_TEX.findall(report["text"].replace("\\\\", ""))
    assert not raw, f"{where}: raw LaTeX on screen: {raw[:10]}"
    return report["rendered"]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("path", MATH_PAGES)
def test_every_formula_is_rendered(page, server, lang, path):
    page.goto(url(server, lang, path))
    assert assert_math_rendered(page, f"{lang}/{path}") >= 3


def search(page, query: str) -> list[str]:
    page.locator("label.md-search__icon, .md-search__input").first.click()
    box = page.locator("input.md-search__input")
    box.fill(query)
    box.press("End")  # Material reads the query on keyup
    page.wait_for_selector(".md-search-result__item", timeout=15_000)
    links = page.eval_on_selector_all(".md-search-result__item a.md-search-result__link", "els => els.map(e => e.href)")
    return [re.sub(r"\?h=[^#]*", "", link) for link in links]  # drop search.highlight's query


@pytest.mark.parametrize("lang, query, question", SEARCHES)
def test_search_finds_the_question_first_in_the_page_language(page, server, lang, query, question):
    page.goto(url(server, lang, ""))
    results = search(page, query)
    assert results, f"no results for {query!r}"
    # Material lists each page, then its matching sections: the first section must be the question.
    first_question = next(r for r in results if "#" in r)
    assert first_question.endswith(f"fundamentals/#{question}"), results[:5]
    expected_root = url(server, lang, "")
    assert all(r.startswith(expected_root) for r in results), "results from another language"
    if lang == DEFAULT_LANGUAGE:
        assert not any("/zh/" in r for r in results)


def test_difficulty_stars_show_but_stay_out_of_heading_text_and_toc(page, server):
    page.goto(url(server, "en", "fundamentals/"))
    heading = page.locator("h2#attention-mechanism")
    assert "★" not in heading.inner_text()
    stars = heading.evaluate("h => getComputedStyle(h, '::after').content")
    assert stars == '"★★★★★"'
    assert "★" not in " ".join(page.locator("nav.md-nav--secondary").all_inner_texts())


@pytest.mark.parametrize("source, target", [("en", "zh"), ("zh", "en")])
def test_language_switch_keeps_the_question(page, server, source, target):
    page.goto(url(server, source, "fundamentals/#rope"))
    page.locator(".md-header__option .md-select").first.hover()
    page.locator(f"a.md-select__link[hreflang={target}]").click()
    page.wait_for_url(re.compile(r"#rope$"))
    assert page.url == url(server, target, "fundamentals/#rope")
    assert_in_view(page, "#rope")


def assert_in_view(page, selector: str):
    page.wait_for_timeout(300)
    top = page.locator(selector).evaluate("e => e.getBoundingClientRect().top")
    assert 0 <= top < 200, f"{selector} is at {top}px, not at the top of the window"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_permalink_lands_on_its_question(page, server, lang):
    page.goto(url(server, lang, "fundamentals/#transformer-limitations"))
    assert_in_view(page, "#transformer-limitations")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_notebook_links_back_to_its_questions(page, server, lang):
    page.goto(url(server, lang, "notebooks/attention/"))
    page.locator("a[href*='fundamentals/#attention-mechanism']").first.click()
    page.wait_for_url(re.compile(r"fundamentals/#attention-mechanism$"))
    assert_in_view(page, "#attention-mechanism")


@pytest.fixture
def offline_page(browser, offline_site):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    foreign = []

    def only_files(route):
        if route.request.url.startswith(("file://", "data:", "blob:", "about:")):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", only_files)
    page = context.new_page()
    yield page, offline_site, foreign
    context.close()


@pytest.mark.parametrize("lang, query, question", SEARCHES)
def test_offline_bundle_works_from_file_urls(offline_page, lang, query, question):
    page, site, foreign = offline_page
    prefix = site_prefix(lang)
    page.goto((site / prefix / "fundamentals.html").as_uri())
    assert_math_rendered(page, f"offline {lang}")
    results = search(page, query)
    first_question = next(r for r in results if "#" in r)
    assert first_question.endswith(f"fundamentals.html#{question}"), results[:5]
    page.goto((site / prefix / "notebooks" / "attention.html").as_uri())
    assert_math_rendered(page, f"offline {lang} notebook")
    page.goto((site / prefix / "index.html").as_uri())
    assert not page.locator("a[href$='-offline.zip']").is_visible(), "the bundle links a zip it does not hold"
    assert not foreign, f"requests to other hosts: {foreign}"


def test_the_online_home_page_offers_the_offline_zip(page, server):
    page.goto(url(server, "zh", ""))
    link = page.locator("a[href$='-offline.zip']")
    assert link.is_visible()
    response = page.request.get(link.evaluate("a => a.href"))
    assert response.ok and response.body()[:2] == b"PK"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", DIAGRAM_PAGES)
def test_diagrams_render_offline_without_a_cdn(offline_page, lang, name):
    page, site, foreign = offline_page
    prefix = site_prefix(lang)
    sources = re.findall(r"```mermaid\n(.*?)```", (DOCS_DIR / lang / f"{name}.md").read_text(encoding="utf-8"), re.S)
    page.goto((site / prefix / f"{name}.html").as_uri())
    # Material replaces each <pre class="mermaid"> with a <div> holding the drawing (in a closed shadow root).
    page.wait_for_function(
        f"[...document.querySelectorAll('div.mermaid')].filter(d => d.offsetHeight > 40).length === {len(sources)}",
        timeout=20_000,
    )
    for source in sources:
        problem = page.evaluate("s => mermaid.parse(s).then(() => null, e => String(e))", source)
        assert problem is None, f"{lang}/{name}: a diagram does not parse: {problem}"
    assert not foreign, f"requests to other hosts: {foreign}"
