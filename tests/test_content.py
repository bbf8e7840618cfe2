"""The content checker passes on the handbook and names file and line for each kind of mistake."""

import textwrap

import pytest

from check_content import check, check_abbreviations

GOOD_EN = """\
# Title

## What is attention? { #attention data-difficulty="5" }

Attention mixes values, weighted by query-key similarity: $\\alpha = \\operatorname{softmax}(s)$.

## What is a token? { #token data-difficulty="2" }

A token is a unit of text. See [attention](#attention).
"""
GOOD_ZH = """\
# 标题

## 什么是注意力？ { #attention data-difficulty="5" }

注意力按查询与键的相似度对值加权求和：$\\alpha = \\operatorname{softmax}(s)$。

## 什么是 token？ { #token data-difficulty="2" }

token 是文本的基本单位。见[注意力](#attention)。
"""
NOTEBOOK = """\
# %% [markdown] tags=["en"]
# # Demo
# Back to [attention](../page.md#attention).
# %% [markdown] tags=["zh"]
# # 演示
# 回到[注意力](../page.md#attention)。
# %%
x = 1
"""


def write_tree(tmp_path, en=GOOD_EN, zh=GOOD_ZH, notebook=NOTEBOOK):
    docs, notebooks = tmp_path / "docs", tmp_path / "notebooks"
    for lang, text in (("en", en), ("zh", zh)):
        (docs / lang).mkdir(parents=True)
        if text is not None:
            (docs / lang / "page.md").write_text(textwrap.dedent(text), encoding="utf-8")
    notebooks.mkdir()
    (notebooks / "demo.py").write_text(notebook, encoding="utf-8")
    return docs, notebooks


def problems_for(tmp_path, **tree):
    docs, notebooks = write_tree(tmp_path, **tree)
    return [str(problem).replace(str(tmp_path) + "/", "") for problem in check(docs, notebooks)]


def test_the_handbook_passes_the_checker():
    problems = check()
    assert not problems, "\n".join(map(str, problems))


def test_a_well_formed_tree_passes(tmp_path):
    assert problems_for(tmp_path) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"zh": None}, "docs/en/page.md:1: no zh translation"),
        ({"zh": GOOD_ZH.replace("#token", "#tokens")}, "docs/zh/page.md:7: question 2 differs between languages"),
        ({"en": GOOD_EN.replace('#token data-difficulty="2"', '#attention data-difficulty="2"'),
          "zh": GOOD_ZH.replace('#token data-difficulty="2"', '#attention data-difficulty="2"')},
         "docs/en/page.md:7: id '#attention' is already used at docs/en/page.md:3"),
        ({"en": GOOD_EN.replace(' data-difficulty="2"', "")}, "docs/en/page.md:7: a question needs data-difficulty"),
        ({"zh": GOOD_ZH.replace(" { #token data-difficulty=\"2\" }", "")}, "docs/zh/page.md:7: heading without a pinned id"),
        ({"en": GOOD_EN.replace("A token is a unit of text. See [attention](#attention).", "")},
         "docs/en/page.md:7: question 'token' has no answer"),
        ({"en": GOOD_EN.replace("A token is", "- A token is")}, "docs/en/page.md:7: answer to 'token' must open with the short answer"),
        ({"en": GOOD_EN.replace("(#attention)", "(#atention)")}, "docs/en/page.md:9: 'page.md' has no heading with id '#atention'"),
        ({"en": GOOD_EN + "\n[missing](other.md#x)\n"}, "docs/en/page.md:11: link to a page that does not exist"),
        ({"en": GOOD_EN + "\n[nb](notebooks/demo.ipynb#nowhere)\n"}, "docs/en/page.md:11: notebook demo has no heading with id '#nowhere'"),
        ({"en": GOOD_EN + "\n[nb](notebooks/absent.ipynb)\n"}, "docs/en/page.md:11: link to a notebook that does not exist"),
        ({"notebook": NOTEBOOK.replace("../page.md#attention)", "../page.md#gone)")},
         "notebooks/demo.py:3: '../page.md' has no heading with id '#gone'"),
        ({"notebook": NOTEBOOK.replace("../page.md#attention)", "#nowhere)")},
         "notebooks/demo.py:3: notebook demo has no heading with id '#nowhere'"),
        ({"notebook": NOTEBOOK.replace(' tags=["zh"]', "")}, "notebooks/demo.py:4: cell 2: a Markdown cell needs exactly one language tag"),
        ({"en": GOOD_EN + "\n```python\ndef f(:\n```\n"}, "docs/en/page.md:12: Python code block does not parse"),
        ({"en": GOOD_EN.replace("\\operatorname{softmax}(s)", "\\frac{1}{")}, "docs/en/page.md:5: invalid LaTeX"),
        ({"notebook": NOTEBOOK.replace("# # Demo", "# # Demo $\\sqrt{$")}, "notebooks/demo.py:2: invalid LaTeX"),
        ({"zh": GOOD_ZH.replace("什么是 token？", "什么是token？")}, "docs/zh/page.md:7: put a space between Chinese and Latin text"),
        ({"zh": GOOD_ZH.replace("相似度对值加权求和：", "相似度对值加权求和:")}, "docs/zh/page.md:5: use full-width punctuation"),
        ({"notebook": NOTEBOOK.replace("# # 演示", "# # 演示demo")}, "notebooks/demo.py:5: put a space between Chinese and Latin text"),
        ({"en": GOOD_EN.replace("## What is a token?", "### What is a token?")}, "docs/en/page.md:7: no level 3-6 headings"),
    ],
)
def test_the_checker_names_file_and_line(tmp_path, change, expected):
    problems = problems_for(tmp_path, **change)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_abbreviations_are_defined_in_every_language(tmp_path):
    files = {lang: tmp_path / f"abbreviations.{lang}.md" for lang in ("en", "zh")}
    files["en"].write_text("*[LLM]: large language model\n*[RAG]: retrieval-augmented generation\n", encoding="utf-8")
    files["zh"].write_text("*[LLM]: 大语言模型\n*[LLM]: 又一个\n", encoding="utf-8")
    problems = [str(problem).replace(str(tmp_path) + "/", "") for problem in check_abbreviations(files)]
    assert any(p.startswith("abbreviations.zh.md:2: abbreviation 'LLM' is defined twice") for p in problems), problems
    assert any(p.startswith("abbreviations.en.md:2: abbreviation 'RAG' has no zh definition") for p in problems), problems
