"""A student's first minute and first answer, exactly as the README's student section tells it.

`make lab` in a fresh copy of the course, open the URL it prints, walk the file browser to
release/autograd/01_basics.ipynb, read the Chinese instructions (Markdown and MathJax), type an answer,
Run All, read the visible check's verdict, then nbgrader's Validate button.
"""
import json
import re
from pathlib import Path

from e2e.lab import Notebook, code_commands, exactly, readme_section, shot, show

STUDENT = readme_section("我是学生？")
ASSIGNMENT = re.search(r"`(release/[\w/]+?)/?`", STUDENT).group(1)  # release/autograd
FIRST = re.search(r"`(\d\d_\w+\.ipynb)`", STUDENT).group(1)  # 01_basics.ipynb
CORRECT_BODY = """\
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward()
    return x.grad
"""
# A classic slip: returning y, the function's value, instead of its gradient x.grad.
WRONG_BODY = """\
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward()
    return y
"""


def answer(notebook, grade_id, body):
    """The answer cell as the release has it (def line and docstring) with its stub replaced by body."""
    lines = notebook.source(grade_id).splitlines(keepends=True)
    stub = next(i for i, line in enumerate(lines) if "在此处写你的代码" in line)
    return "".join(lines[:stub]) + body


def entry(page, name):
    """A file or folder in JupyterLab's file browser."""
    return page.locator(".jp-DirListing-item", has=page.locator(".jp-DirListing-itemName", has_text=exactly(name)))


def test_readme_student_section_is_what_this_test_does():
    assert code_commands(STUDENT) == ["make lab"]
    assert ASSIGNMENT == "release/autograd" and FIRST == "01_basics.ipynb"
    assert "Validate" in STUDENT and "通过！" in STUDENT


def test_make_lab_prints_the_url_to_open_and_listens_on_localhost_only(lab):
    log = lab.log_text()
    assert "jupyter lab --ServerApp.ip=127.0.0.1" in log, "`make lab` ran its recipe"
    assert set(lab.printed_urls()) == {lab.url("lab")}, "the URL to open, with the token, as the README says"
    listening = [fields[1] for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")) if table.exists()
                 for fields in (line.split() for line in table.read_text().splitlines()[1:])
                 if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == lab.port]  # 0A: LISTEN
    assert listening == [f"0100007F:{lab.port:04X}"], f"sockets listening on port {lab.port}: {listening}"


def test_first_minute_open_the_assignment_and_read_the_instructions(page, lab, course):
    page.goto(lab.printed_urls()[0])  # what the student copies from the terminal
    for folder in ASSIGNMENT.split("/"):
        entry(page, folder).dblclick()
        page.locator(".jp-BreadCrumbs").get_by_text(folder).wait_for()
    item = entry(page, FIRST)
    item.wait_for()
    shot(page, "student-1-file-browser")
    item.dblclick()
    notebook = Notebook(page, course / ASSIGNMENT / FIRST).wait_loaded()

    title = notebook.cell(0).locator(".jp-RenderedMarkdown h1")
    assert title.text_content().startswith("作业：自动微分")
    part = notebook.cells.filter(has=page.locator(".jp-RenderedMarkdown h2", has_text="第1部分")).first
    part.locator("mjx-container").first.wait_for()  # MathJax typeset the formula
    assert part.locator("mjx-container").count() >= 3
    assert "$" not in part.locator(".jp-RenderedMarkdown").inner_text(), "a formula was left as raw LaTeX"
    show(part)
    shot(page, "student-2-instructions-with-formulas")


def test_correct_answer_passes_wrong_answer_gets_a_chinese_hint_then_validate(page, lab, course):
    page.goto(lab.url(f"lab/tree/{ASSIGNMENT}/{FIRST}?reset"))
    notebook = Notebook(page, course / ASSIGNMENT / FIRST).wait_loaded()
    check = notebook.index("grad_two_dot_test")

    notebook.set_source("grad_two_dot", answer(notebook, "grad_two_dot", CORRECT_BODY))
    notebook.run_all(until=check)
    assert notebook.output(check).strip() == "通过！"
    show(notebook.cell("grad_two_dot"))
    shot(page, "student-3-correct-answer-passes")

    notebook.set_source("grad_two_dot", answer(notebook, "grad_two_dot", WRONG_BODY))
    notebook.run_all(until=check)
    hint = notebook.output(check)
    assert "AssertionError: grad_two_dot(torch.arange(4.0)) 的形状应为 (4,)，实际为 ()" in hint, hint
    assert "通过！" not in hint
    show(notebook.cell(check))
    shot(page, "student-4-wrong-answer-chinese-hint")

    # Back to the right answer, then nbgrader's Validate (it saves the notebook and runs it on the server).
    notebook.set_source("grad_two_dot", answer(notebook, "grad_two_dot", CORRECT_BODY))
    notebook.panel.locator(".jp-Toolbar .validate-button").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=180_000)
    verdict = dialog.text_content()
    shot(page, "student-5-validate-verdict")
    assert "Validation Results" in verdict
    # The first part the student has not done yet fails, with its Chinese hint; the answered one does not.
    assert "AssertionError: grad_accumulation" in verdict, verdict
    assert "grad_two_dot(torch.arange" not in verdict
    dialog.get_by_role("button", name="Ok").click()

    saved = json.loads((course / ASSIGNMENT / FIRST).read_text(encoding="utf-8"))["cells"]
    assert "return x.grad" in "".join(saved[notebook.index("grad_two_dot")]["source"]), "Validate saved the answer"
    lab.shutdown_kernels()
