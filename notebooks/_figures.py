"""Figures in the reader's language, for the notebooks to import.

A notebook draws each figure once per language (`show(draw)` calls `draw(lang)`), and each image is
tagged with its language, so the English page shows English labels and the Chinese page Chinese ones.
The downloadable and Colab copies of a notebook carry this file inline (hooks/notebook_downloads.py).
"""

import io
import os
import warnings

import matplotlib.pyplot as plt
from IPython.display import Image, display
from matplotlib import font_manager

FIGURE_LANGUAGES = ("en", "zh")
CJK_FONT = "Noto Sans CJK SC"
# Output metadata key that hooks/notebook_runner.py reads to keep one language's images per page.
LANGUAGE_KEY = "handbook_language"


def has_cjk_font() -> bool:
    try:
        font_manager.findfont(CJK_FONT, fallback_to_default=False)
    except ValueError:
        return False
    return True


def languages() -> tuple[str, ...]:
    if has_cjk_font():
        return FIGURE_LANGUAGES
    if os.environ.get("HANDBOOK_BUILD"):
        raise RuntimeError(f"Chinese figure labels need the font '{CJK_FONT}': install fonts-noto-cjk")
    return ("en",)  # e.g. on Colab, which has no CJK font: English labels rather than empty boxes


# A label mixing Chinese and $math$ is typeset by mathtext, which takes its text glyphs from the
# first font family only: so the Chinese figures list the CJK font first.
FONT_FAMILIES = {"en": ["DejaVu Sans"], "zh": [CJK_FONT, "DejaVu Sans"]}
# White figures stay readable on both the light and the dark theme.
plt.rcParams.update({"figure.facecolor": "white", "savefig.facecolor": "white", "axes.unicode_minus": False})


def show(draw) -> None:
    """Display `draw(lang)`, a matplotlib Figure, once per language, each image tagged with it."""
    for lang in languages():
        with plt.rc_context({"font.family": FONT_FAMILIES[lang]}), warnings.catch_warnings():
            warnings.filterwarnings("error", message="Glyph .* missing")  # not a box where a label should be
            figure = draw(lang)
            png = io.BytesIO()
            figure.savefig(png, format="png", dpi=100, bbox_inches="tight")
            plt.close(figure)
        display(Image(png.getvalue()), metadata={LANGUAGE_KEY: lang})
