"""Every lesson notebook, in the README's reading order, runs from top to bottom in JupyterLab:
each code cell gets its execution count, the plots appear as images, and nothing is shown as an error.

One JupyterLab window, as a student reads them: open the lesson from the file browser, Run All Cells,
read it, then File → Close and Shut Down Notebook.
"""
import json
import re

import pytest

from e2e.lab import REPO, Notebook, exactly, menu, readme_section, shot, show

ORDER = re.findall(r"`(2\.5\.\d_\w+)`", readme_section("我是学生？"))


def draws(path):
    """Whether a notebook makes a figure (matplotlib, or the course's d2l-style plot())."""
    code = "".join("".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
                   if c["cell_type"] == "code")
    return "plt." in code or re.search(r"\bplot\(", code) is not None


@pytest.fixture(scope="module")
def window(browser, lab):
    """JupyterLab open on the notebooks/ folder, for the whole module."""
    context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN")
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(lab.url("lab/tree/notebooks"))
    page.locator(".jp-BreadCrumbs").get_by_text("notebooks").wait_for()
    yield page
    context.close()


def test_readme_lists_every_lesson_notebook_in_order():
    assert ORDER == sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("name", ORDER)
def test_lesson_runs_in_the_browser_with_plots_and_no_errors(window, lab, course, name):
    page = window
    page.locator(".jp-DirListing-item",
                 has=page.locator(".jp-DirListing-itemName", has_text=exactly(f"{name}.ipynb"))).dblclick()
    notebook = Notebook(page, course / "notebooks" / f"{name}.ipynb").wait_loaded()
    try:
        notebook.run_all(timeout=240_000)
        codes = [c for c in notebook.cells_json if c["cell_type"] == "code"]
        prompts = notebook.prompts()
        assert len(prompts) == len(codes)
        assert all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), f"cells that did not run: {prompts}"
        assert notebook.errors() == [], "error (or warning) output in the lesson"
        images = notebook.panel.locator(".jp-OutputArea-output img")
        if draws(notebook.path):
            assert images.count() >= 1, "the lesson draws a plot, but no image is shown"
            for i in range(images.count()):
                assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 100"), f"image {i} is broken"
            show(images.first, "center")
    finally:
        shot(page, f"lesson-{name}")
        menu(page, "File", "Close and Shut Down Notebook…")
        dialog = page.locator(".jp-Dialog")
        dialog.locator(".jp-mod-accept").click()
        dialog.wait_for(state="detached")
        notebook.panel.wait_for(state="detached")
