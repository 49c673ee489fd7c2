"""The lessons: each runs top to bottom in a fresh kernel, cleanly and quickly; their figures have every glyph;
the text keeps the book's storyline first and refers to nothing the learner does not have.

The lessons check their own claims with assertions, so a claim that stops being true
fails here as an error output.
"""
import functools
import io
import json
import re
import subprocess
import sys
import time
import warnings

import matplotlib
import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO

NOTEBOOKS = REPO / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("*.ipynb"))
TIME_LIMIT = 15  # seconds per lesson, kernel start included
MAIN_THEN_OPTIONAL_THEN = ("小结", "练习", "接下来")  # headings allowed after the optional (选读) parts


@functools.cache
def executed(path):
    """The lesson run once in a fresh kernel: (notebook with outputs, seconds taken)."""
    nb = nbformat.read(path, as_version=4)
    started = time.monotonic()
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb, time.monotonic() - started


def outputs(nb):
    return [(index, output) for index, cell in enumerate(nb.cells) for output in cell.get("outputs", [])]


def problems(nb):
    found = []
    for index, output in outputs(nb):
        if output.output_type == "error":
            found.append(f"cell {index}: {output.ename}: {output.evalue}")
        elif output.output_type == "stream" and output.name == "stderr":
            found.append(f"cell {index} wrote to stderr: {output.text[:300]}")
    return found


def cjk_font_installed():
    fonts = subprocess.run(["fc-list"], capture_output=True, text=True).stdout
    return "wenquanyi" in fonts.lower()


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs_cleanly_in_a_fresh_kernel(path):
    nb, elapsed = executed(path)
    assert problems(nb) == []
    assert elapsed < TIME_LIMIT, f"{path.name} took {elapsed:.1f} s"
    assert any(o.output_type in ("execute_result", "display_data") for _, o in outputs(nb))


@pytest.mark.parametrize("path", [p for p in LESSONS if "plt.show()" in p.read_text(encoding="utf-8")],
                         ids=lambda p: p.stem)
def test_every_figure_is_drawn_with_all_its_glyphs(path):
    assert cjk_font_installed(), "the lessons' Chinese figures need the CJK font: apt-get install -y fonts-wqy-microhei"
    nb, _ = executed(path)
    shows = sum(cell.source.count("plt.show()") for cell in nb.cells if cell.cell_type == "code")
    images = [o for _, o in outputs(nb) if "image/png" in o.get("data", {})]
    assert len(images) == shows
    texts = [o.get("text", "") for _, o in outputs(nb)]
    assert not [t for t in texts if "missing from font" in t]  # matplotlib: "Glyph 20013 (...) missing from font(s)"


def figures_module():
    sys.path.insert(0, str(NOTEBOOKS))
    try:
        import autograd_figures
    finally:
        sys.path.remove(str(NOTEBOOKS))
    return autograd_figures


def draw_every_figure(figures):
    """Draw each figure of the helper module and render it; return the warnings matplotlib gave."""
    import torch

    x = torch.arange(4.0, requires_grad=True)
    made = [figures.draw_backward_graph((2 * torch.dot(x, x)).grad_fn, {id(x): "x"}),
            figures.draw_forward_backward(),
            figures.plot(x.detach().numpy(), [x.detach().numpy()], "x", figures.zh("函数值", "value"),
                         legend=[figures.zh("曲线", "curve")]).figure]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for fig in made:
            fig.savefig(io.BytesIO(), format="png")
    matplotlib.pyplot.close("all")
    return [str(w.message) for w in caught]


def test_the_helper_draws_chinese_with_the_cjk_font():
    assert cjk_font_installed(), "apt-get install -y fonts-wqy-microhei"
    figures = figures_module()
    assert figures.CHINESE and figures.zh("中文", "English") == "中文"
    assert draw_every_figure(figures) == []


def test_without_the_cjk_font_the_figures_fall_back_to_english(monkeypatch):
    figures = figures_module()
    monkeypatch.setattr(figures, "CHINESE", False)  # as use_cjk_font() finds on a machine without the font
    with matplotlib.rc_context():
        matplotlib.pyplot.rcdefaults()  # matplotlib's own fonts only
        assert draw_every_figure(figures) == []


def markdown(path):
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "markdown"]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_opens_with_its_title_and_keeps_optional_parts_last(path):
    cells = markdown(path)
    number = path.stem.split("_")[0]
    assert "".join(cells[0]["source"]).startswith(f"# {number} ")
    headings = [line[3:] for c in cells for line in "".join(c["source"]).splitlines() if line.startswith("## ")]
    optional = [i for i, h in enumerate(headings) if h.startswith("选读")]
    if optional:
        after = headings[optional[0]:]
        assert all(h.startswith(("选读", *MAIN_THEN_OPTIONAL_THEN)) for h in after), after


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_text_is_self_contained_and_consistent(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"笔记(?!本)", text), "refers to notes the learner does not have"
    assert not re.search(r"向量[-—]雅可比|雅可比[-—]向量", text), "the course writes 向量–雅可比积 with an en dash"
    assert "24位有效数字" not in text, "float32 has 24 binary digits (about 7 decimal)"
    prose = [re.sub(r"```.*?```", "", "".join(c["source"]), flags=re.S) for c in markdown(path)]
    spaced = [m.group() for t in prose for m in re.finditer(r"[\u4e00-\u9fff，。：；] `|` [\u4e00-\u9fff，。：；]", t)]
    assert spaced == [], "no space between Chinese and inline code (STYLE.md)"
