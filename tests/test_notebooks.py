"""Notebook execution: a failing cell names notebook and line; an unchanged notebook is not re-run."""

import shutil

import pytest

import notebook_runner
from handbook import NOTEBOOK_SOURCE_DIR
from notebook_runner import NotebookError, execute, for_language

SOURCE = """\
# %% [markdown] tags=["en"]
# # Probe {{ #probe }}
# %% [markdown] tags=["zh"]
# # 探针 {{ #probe }}
# %%
value = 6 * 7
# %%
assert value == {expected}, value
print("checked", value)
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(notebook_runner, "EXECUTED_DIR", tmp_path / "executed")
    return tmp_path / "executed"


def test_a_failing_cell_names_the_notebook_and_its_line(tmp_path, cache):
    source = tmp_path / "probe.py"
    source.write_text(SOURCE.format(expected=41), encoding="utf-8")
    with pytest.raises(NotebookError) as failure:
        execute(source)
    assert failure.value.line == 7 and failure.value.path.endswith("probe.py")
    assert "cell 4" in failure.value.message and "AssertionError" in failure.value.message
    assert not list(cache.glob("*.ipynb")), "a failed run must not be cached"


def test_an_unchanged_notebook_is_not_executed_again(tmp_path, cache, monkeypatch):
    source = tmp_path / "probe.py"
    source.write_text(SOURCE.format(expected=42), encoding="utf-8")
    first = execute(source)
    assert "checked 42" in first.cells[3].outputs[0]["text"]

    def no_kernel(*args, **kwargs):
        raise AssertionError("the notebook was executed again")

    monkeypatch.setattr(notebook_runner, "NotebookClient", no_kernel)
    assert execute(source) == first
    source.write_text(SOURCE.format(expected=42) + "# a change\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="executed again"):
        execute(source)


def test_each_language_gets_its_own_text_and_the_shared_code(tmp_path, cache):
    source = tmp_path / "probe.py"
    source.write_text(SOURCE.format(expected=42), encoding="utf-8")
    executed = execute(source)
    zh = for_language(executed, "zh")
    assert [c.cell_type for c in zh.cells] == ["markdown", "code", "code"]
    assert zh.cells[0].source == "# 探针" and zh.cells[0].metadata["handbook_anchors"] == {"探针": "probe"}
    assert zh.cells[2].outputs == executed.cells[3].outputs


FIGURE_SOURCE = """\
# %%
import matplotlib.pyplot as plt
from _figures import show

LABELS = {"en": "position", "zh": "位置"}


def draw(lang):
    fig, ax = plt.subplots()
    ax.set_xlabel(LABELS[lang] + " $j$")
    return fig


show(draw)
print("shared text")
"""


def test_each_language_gets_the_figures_drawn_in_it(tmp_path, cache):
    shutil.copy(NOTEBOOK_SOURCE_DIR / "_figures.py", tmp_path)
    source = tmp_path / "figures.py"
    source.write_text(FIGURE_SOURCE, encoding="utf-8")
    executed = execute(source)
    images = [o for o in executed.cells[0].outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2 and images[0]["data"]["image/png"] != images[1]["data"]["image/png"]
    for lang in ("en", "zh"):
        outputs = for_language(executed, lang).cells[0].outputs
        kept = [o for o in outputs if "image/png" in o.get("data", {})]
        assert [o.metadata["handbook_language"] for o in kept] == [lang]
        assert any("shared text" in o.get("text", "") for o in outputs)
