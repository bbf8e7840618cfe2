"""The content checker: the rules of CONTRIBUTING.md that a machine can check.

Usage: python scripts/check_content.py        (exit 1 and one `file:line: message` per problem)

It complements `mkdocs build --strict`, which checks links between Markdown pages but not links into
notebooks, question ids, translations, code or LaTeX.
"""

import ast
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "hooks"))
from handbook import ABBREVIATIONS, DOCS_DIR, LANGUAGES, NODE_MODULES, NOTEBOOK_PAGE_DIR, NOTEBOOK_SOURCE_DIR, notebook_sources, shown  # noqa: E402,E501
from notebook_runner import NotebookError, anchors, cell_lines, read_source  # noqa: E402

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
ATTRS = re.compile(r"\{\s*([^{}]*?)\s*\}$")
QUESTION_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_ID_LENGTH = 40
LINK = re.compile(r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")
CJK = "\u3400-\u4dbf\u4e00-\u9fff"
CJK_TOUCHES_LATIN = re.compile(rf"[{CJK}][A-Za-z0-9]|[A-Za-z0-9][{CJK}]")
HALF_WIDTH_AFTER_CJK = re.compile(rf"[{CJK}][,;:?!(]")
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\s)([^$\n]+?)(?<![\s\\])\$(?!\$)")
NOT_A_PARAGRAPH = re.compile(r"^(\s*$|```|~~~|\$\$|[-*+] |\d+\. |\||>|!!!|\?\?\?|<|#)")


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class Heading:
    line: int
    level: int
    text: str
    id: str | None
    difficulty: str | None


@dataclass
class Page:
    path: Path
    lang: str
    lines: list[str]
    prose: list[tuple[int, str]]  # (line number, text) outside code fences and display math
    code: list[tuple[int, str, str]]  # (line of the fence, language, source)
    math: list[tuple[int, str]]
    headings: list[Heading]

    @property
    def rel(self) -> str:
        return shown(self.path)

    @property
    def questions(self) -> list[Heading]:
        return [h for h in self.headings if h.difficulty is not None]

    @property
    def ids(self) -> set[str]:
        return {h.id for h in self.headings if h.id}


def parse_heading(line_no: int, line: str) -> Heading | None:
    match = HEADING.match(line)
    if not match:
        return None
    text, attrs = match.group(2), {}
    attr_match = ATTRS.search(text)
    if attr_match:
        text = text[: attr_match.start()].rstrip()
        for token in attr_match.group(1).split():
            if token.startswith("#"):
                attrs["id"] = token[1:]
            elif "=" in token:
                key, value = token.split("=", 1)
                attrs[key] = value.strip("\"'")
    return Heading(line_no, len(match.group(1)), text, attrs.get("id"), attrs.get("data-difficulty"))


def parse_page(path: Path, lang: str) -> Page:
    lines = path.read_text(encoding="utf-8").splitlines()
    page = Page(path, lang, lines, [], [], [], [])
    fence = None  # (marker, language, first line, body)
    display = None  # (first line, body)
    # YAML front matter (`---` ... `---` at the top) is page metadata, not Markdown.
    front_matter_end = lines.index("---", 1) + 1 if lines[:1] == ["---"] and "---" in lines[1:] else 0
    for number, line in enumerate(lines, 1):
        if number <= front_matter_end:
            continue
        if fence:
            if line.strip().startswith(fence[0]):
                page.code.append((fence[2], fence[1], "\n".join(fence[3])))
                fence = None
            else:
                fence[3].append(line[fence[4]:] if line[: fence[4]].strip() == "" else line.lstrip())
            continue
        if display:
            if line.strip() == "$$":
                page.math.append((display[0], "\n".join(display[1])))
                display = None
            else:
                display[1].append(line)
            continue
        opening = FENCE.match(line)
        if opening:
            fence = (opening.group(2), opening.group(3).lower(), number, [], len(opening.group(1)))
            continue
        if line.strip() == "$$":
            display = (number, [])
            continue
        heading = parse_heading(number, line)
        if heading:
            page.headings.append(heading)
        page.prose.append((number, line))
        page.math.extend((number, m.group(1)) for m in INLINE_MATH.finditer(strip_code(line)))
    return page


def strip_code(text: str) -> str:
    return re.sub(r"`[^`]*`", "``", text)


def prose_only(text: str) -> str:
    """Text a reader sees as prose: without inline code, math, link targets, HTML and attribute lists."""
    text = strip_code(text)
    text = INLINE_MATH.sub(" ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"https?://\S+", " ", text)
    return ATTRS.sub("", text)


def chinese_style(line: str) -> list[str]:
    """S3 and S4 on one line of Chinese prose."""
    visible = prose_only(line)
    return [f"put a space between Chinese and Latin text: '{m.group(0)}' (S3)" for m in CJK_TOUCHES_LATIN.finditer(visible)] + [
        f"use full-width punctuation after Chinese text: '{m.group(0)}' (S4)" for m in HALF_WIDTH_AFTER_CJK.finditer(visible)
    ]


def check_page(page: Page) -> list[Problem]:
    problems = []
    add = lambda line, message: problems.append(Problem(page.rel, line, message))  # noqa: E731
    titles = [h for h in page.headings if h.level == 1]
    if len(titles) != 1:
        add(1, f"a page has exactly one `# title`; found {len(titles)}")
    for h in page.headings:
        if h.level == 1:
            continue
        if not h.id:
            add(h.line, "heading without a pinned id: end it with `{ #english-kebab-id }` (R2)")
        elif not QUESTION_ID.match(h.id) or len(h.id) > MAX_ID_LENGTH:
            add(h.line, f"id '{h.id}' is not English kebab-case of at most {MAX_ID_LENGTH} characters (R2)")
        if "$" in h.text:
            add(h.line, "no math in headings (R6)")
        if h.difficulty is not None and h.difficulty not in {"1", "2", "3", "4", "5"}:
            add(h.line, f"data-difficulty must be 1-5, not '{h.difficulty}' (R2)")
        if page.questions and h.level > 2:
            add(h.line, "no level 3-6 headings on a question page; use a bold lead-in (R2)")
        if h.level == 2 and page.questions and h.difficulty is None:
            add(h.line, "a question needs data-difficulty=\"1\"-\"5\" (R2)")
    for q in page.questions:
        following = next((line for line in page.lines[q.line:] if line.strip()), "")
        if following.startswith("#") or not following:
            add(q.line, f"question '{q.id}' has no answer (R4)")
        elif NOT_A_PARAGRAPH.match(following):
            add(q.line, f"answer to '{q.id}' must open with the short answer as a paragraph (R4)")
    for line, language, source in page.code:
        if language in {"python", "py"}:
            try:
                ast.parse(source)
            except SyntaxError as error:
                add(line + (error.lineno or 0), f"Python code block does not parse: {error.msg} (R7)")
    if page.lang == "zh":
        for number, text in page.prose:
            for message in chinese_style(text):
                add(number, message)
    return problems


def check_links(page: Page, pages: dict[Path, Page], notebook_anchors, docs_dir: Path) -> list[Problem]:
    problems = []
    for number, text in page.prose:
        for match in LINK.finditer(strip_code(text)):
            problem = check_link(page.path, page.lang, match.group(1), pages, notebook_anchors, docs_dir)
            if problem:
                problems.append(Problem(page.rel, number, problem))
    return problems


def check_link(source: Path, lang: str, target: str, pages, notebook_anchors, docs_dir: Path) -> str | None:
    if re.match(r"^[a-z]+:|^//", target):
        return None
    path, _, anchor = target.partition("#")
    if path.startswith("/"):
        return f"absolute link '{target}': use a path relative to the page (R5)"
    resolved = (source.parent / path).resolve() if path else source
    if resolved.suffix == ".ipynb":
        name = resolved.stem
        if resolved.parent != (docs_dir / lang / NOTEBOOK_PAGE_DIR).resolve():
            return f"notebook link '{target}' must point into {NOTEBOOK_PAGE_DIR}/ of the same language (R5)"
        known = notebook_anchors(name, lang)
        if known is None:
            return f"link to a notebook that does not exist: notebooks/{name}.py (R5)"
        if anchor and anchor not in known:
            return f"notebook {name} has no heading with id '#{anchor}' (R5)"
        return None
    if path and not path.endswith(".md"):
        return None  # images and other files: mkdocs' strict build checks those
    if resolved not in pages:
        return f"link to a page that does not exist: '{target}' (R5)"
    if anchor and anchor not in pages[resolved].ids:
        return f"'{path or resolved.name}' has no heading with id '#{anchor}' (R5)"
    return None


ABBREVIATION = re.compile(r"^\*\[([^\]]+)\]:\s*(.*)$")


def check_abbreviations(files: dict[str, Path]) -> list[Problem]:
    """Every language defines the same abbreviations, each once and non-empty."""
    defined, problems = {}, []
    for lang, path in files.items():
        defined[lang] = {}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = ABBREVIATION.match(line)
            if not match:
                continue
            name, expansion = match.groups()
            if name in defined[lang] or not expansion.strip():
                problems.append(Problem(shown(path), number, f"abbreviation '{name}' is defined twice or empty"))
            defined[lang][name] = number
    for lang, path in files.items():
        for other in files:
            for name in sorted(defined[lang].keys() - defined[other].keys()):
                problems.append(Problem(shown(path), defined[lang][name], f"abbreviation '{name}' has no {other} definition in {shown(files[other])}"))
    return problems


def check_translations(pages: dict[Path, Page], docs_dir: Path) -> list[Problem]:
    problems = []
    trees = {lang: {p.path.relative_to(docs_dir / lang) for p in pages.values() if p.lang == lang} for lang in LANGUAGES}
    first, *others = LANGUAGES
    for other in others:
        for missing, present_in in ((trees[first] - trees[other], first), (trees[other] - trees[first], other)):
            for rel in sorted(missing):
                lang = other if present_in == first else first
                problems.append(Problem(
                    shown(docs_dir / present_in / rel), 1,
                    f"no {lang} translation: create {shown(docs_dir / lang / rel)} (R1)",
                ))
        for rel in sorted(trees[first] & trees[other]):
            a, b = pages[(docs_dir / first / rel).resolve()], pages[(docs_dir / other / rel).resolve()]
            seq_a = [(q.id, q.difficulty) for q in a.questions]
            seq_b = [(q.id, q.difficulty) for q in b.questions]
            if seq_a == seq_b:
                continue
            for index, (qa, qb) in enumerate(zip(a.questions + [None] * len(b.questions), b.questions + [None] * len(a.questions))):
                if qa is None or qb is None or (qa.id, qa.difficulty) != (qb.id, qb.difficulty):
                    where = qb or qa
                    page = b if qb else a
                    problems.append(Problem(
                        page.rel, where.line,
                        f"question {index + 1} differs between languages: {a.rel} has "
                        f"{(qa.id, qa.difficulty) if qa else 'nothing'}, {b.rel} has "
                        f"{(qb.id, qb.difficulty) if qb else 'nothing'} (R3)",
                    ))
                    break
    return problems


def check_unique_ids(pages: dict[Path, Page]) -> list[Problem]:
    problems, seen = [], {}
    for page in sorted(pages.values(), key=lambda p: p.rel):
        for h in page.headings:
            if not h.id:
                continue
            key = (page.lang, h.id)
            if key in seen:
                problems.append(Problem(page.rel, h.line, f"id '#{h.id}' is already used at {seen[key]} (R2)"))
            else:
                seen[key] = f"{page.rel}:{h.line}"
    return problems


def notebook_problems(notebooks_dir: Path, docs_dir: Path, pages) -> tuple[list[Problem], dict, list]:
    """Check notebook sources (language tags, links); return their anchors per language and their math."""
    problems, known, formulas = [], {}, []
    sources = notebook_sources(notebooks_dir)
    notebooks = {}
    for source in sources:
        try:
            notebooks[source] = read_source(source)
        except NotebookError as error:
            problems.append(Problem(error.path, error.line, error.message))
            continue
        known[source.stem] = {lang: anchors(source, lang) for lang in LANGUAGES}
    lookup = lambda name, lang: known.get(name, {}).get(lang)  # noqa: E731
    for source, notebook in notebooks.items():
        starts = cell_lines(source)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "markdown":
                continue
            lang = next(tag for tag in cell.metadata["tags"] if tag in LANGUAGES)
            page_path = docs_dir / lang / NOTEBOOK_PAGE_DIR / f"{source.stem}.ipynb"
            first = starts[index] + 1 if index < len(starts) else 1
            for match in re.finditer(r"\$\$(.+?)\$\$", cell.source, re.S):
                formulas.append((shown(source), first + cell.source[: match.start()].count("\n"), match.group(1)))
            inline_source = re.sub(r"\$\$.+?\$\$", lambda m: "\n" * m.group(0).count("\n"), cell.source, flags=re.S)
            for offset, text in enumerate(inline_source.splitlines()):
                if lang == "zh":
                    problems += [Problem(shown(source), first + offset, message) for message in chinese_style(text)]
                text = strip_code(text)
                formulas.extend((shown(source), first + offset, m.group(1)) for m in INLINE_MATH.finditer(text))
                for match in LINK.finditer(text):
                    problem = check_link(page_path, lang, match.group(1), pages, lookup, docs_dir)
                    if problem:
                        problems.append(Problem(shown(source), first + offset, problem))
    return problems, known, formulas


KATEX_CHECK = """
const katex = require(process.argv[1]);
const formulas = JSON.parse(require("fs").readFileSync(0, "utf8"));
const errors = [];
for (const [i, tex, display] of formulas) {
  try { katex.renderToString(tex, { displayMode: display, throwOnError: true, strict: "ignore" }); }
  catch (e) { errors.push([i, e.message]); }
}
process.stdout.write(JSON.stringify(errors));
"""


def check_latex(formulas: list[tuple[str, int, str]]) -> list[Problem]:
    """Parse every formula with the KaTeX the site ships, so invalid LaTeX fails here, with its line."""
    katex = NODE_MODULES / "katex"
    if not katex.is_dir():
        return [Problem("package.json", 1, "node_modules/katex missing: run `npm ci` (scripts/setup.sh does)")]
    payload = [[i, tex, "\n" in tex] for i, (_, _, tex) in enumerate(formulas)]
    result = subprocess.run(
        ["node", "-e", KATEX_CHECK, str(katex)], input=json.dumps(payload), capture_output=True, text=True, check=True
    )
    return [
        Problem(formulas[i][0], formulas[i][1], f"invalid LaTeX: {message} (R6)")
        for i, message in json.loads(result.stdout)
    ]


def check(
    docs_dir: Path = DOCS_DIR, notebooks_dir: Path = NOTEBOOK_SOURCE_DIR, abbreviations: dict[str, Path] = ABBREVIATIONS,
) -> list[Problem]:
    pages = {}
    for lang in LANGUAGES:
        for path in sorted((docs_dir / lang).rglob("*.md")):
            pages[path.resolve()] = parse_page(path, lang)
    problems, known, formulas = notebook_problems(notebooks_dir, docs_dir, pages)
    problems += check_translations(pages, docs_dir) + check_unique_ids(pages) + check_abbreviations(abbreviations)
    for page in pages.values():
        problems += check_page(page)
        problems += check_links(page, pages, lambda name, lang: known.get(name, {}).get(lang), docs_dir)
        formulas += [(page.rel, line, tex) for line, tex in page.math]
    problems += check_latex(formulas)
    return sorted(set(problems))


def main() -> int:
    problems = check()
    for problem in problems:
        print(problem)
    print(f"content check: {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
