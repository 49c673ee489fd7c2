"""The instructor's side in the browser: nbgrader's Formgrader on the bundled sample class.

`make demo` (here `python -m autograde demo` in a copy of the course) grades the sample class into demo/,
a course folder of its own with its own nbgrader_config.py and gradebook. nbgrader's Formgrader reads the
course from the folder JupyterLab is started in, so the instructor runs `make lab` from demo/ with the
course's Makefile (`make -C demo -f ../Makefile lab`): Nbgrader → Formgrader then shows the graded
class, and the written answer can be graded by hand.
"""
import csv

import nbformat
import pytest
from playwright.sync_api import expect

from e2e.lab import menu, running_lab, shot, show

WRITTEN = "why_second_derivative_costs_more"  # the written (manually graded) answer
STUDENT = "alice_full"  # the sample student who wrote an answer to it


@pytest.fixture(scope="module")
def course(demo_in_background):
    """The copy of the course in which conftest.py started the demo when the browser tests began."""
    return demo_in_background.course


@pytest.fixture(scope="module")
def demo(demo_in_background):
    """demo/ of that copy, once `python -m autograde demo` (the copy's own autograde: `make demo`) has finished."""
    returncode = demo_in_background.wait(timeout=900)
    assert returncode == 0, demo_in_background.log.read_text(encoding="utf-8", errors="replace")
    return demo_in_background.course / "demo"


@pytest.fixture(scope="module")
def grades(demo):
    """The demo's grades table: {student: row} (UTF-8 with a BOM, for Excel)."""
    with (demo / "reports" / "autograd-grades.csv").open(encoding="utf-8-sig") as table:
        return {row["学号"]: row for row in csv.DictReader(table)}


def final(row):
    """The final grade of a row of the grades table (its column is named with the max: 总分 (/51))."""
    return float(next(value for column, value in row.items() if column.startswith("总分")))


@pytest.fixture(scope="module")
def lab(demo, course, tmp_path_factory):
    """`make lab` run from demo/ with the course's Makefile."""
    yield from running_lab(demo, tmp_path_factory.mktemp("jupyter-home"), makefile=course / "Makefile")


def test_formgrader_from_the_nbgrader_menu_shows_the_graded_class(page, lab, grades):
    page.goto(lab.url("lab"))
    page.locator(".jp-DirListing-item").first.wait_for()
    menu(page, "Nbgrader", "Formgrader")
    formgrader = page.frame_locator("iframe")  # nbgrader shows the Formgrader in a JupyterLab tab, in an iframe
    assignment = formgrader.get_by_role("link", name="autograd", exact=True)
    assignment.wait_for()
    row = formgrader.locator("tr", has=assignment)
    assert row.locator("td").nth(-3).text_content().strip() == str(len(grades)), "number of submissions"
    shot(page, "instructor-1-formgrader-assignments")

    formgrader.get_by_role("link", name="Manage Students").click()
    for student, graded in grades.items():
        cells = formgrader.locator("tr", has=formgrader.get_by_text(student, exact=True)).locator("td")
        cells.first.wait_for()
        score = cells.nth(3).text_content().split("/")
        assert float(score[0]) == final(graded), student
    shot(page, "instructor-2-formgrader-students-scores")


def test_grade_the_written_answer_by_hand(page, lab, demo, grades):
    page.goto(lab.url("formgrader"))
    page.get_by_role("link", name="Manual Grading").click()
    page.get_by_role("link", name="autograd", exact=True).click()
    page.get_by_role("link", name="02_exercises", exact=True).click()
    page.get_by_role("link", name="Submission #1").wait_for()  # the table has loaded: anonymous at first
    page.get_by_role("button", name="Show All Names").click()
    submission = page.get_by_role("link", name=STUDENT, exact=True)
    submission.wait_for()
    needs_grade = page.locator("tr", has=submission).locator("td.needs-manual-grade .glyphicon-ok")
    expect(needs_grade, "the written answer waits for a manual grade").to_have_count(1)
    shot(page, "instructor-3-manual-grading-list")
    submission.click()

    score = page.locator(f"input.score#{WRITTEN}")
    score.wait_for()
    panel = page.locator(".nbgrader_cell", has=score)
    written = nbformat.read(demo / "autograded" / STUDENT / "autograd" / "02_exercises.ipynb", as_version=4)
    answer = next(c.source for c in written.cells if c.metadata.get("nbgrader", {}).get("grade_id") == WRITTEN)
    last_line = answer.strip().splitlines()[-1]
    assert last_line[:20] in panel.text_content(), "the student's written answer is shown"
    maximum = float(panel.locator(".panel-heading").text_content().split("/")[-1].split()[0])
    show(panel, "center")
    shot(page, "instructor-4-written-answer-to-grade")

    score.fill(str(int(maximum)))
    score.blur()  # the Formgrader saves a field when it changes and loses focus
    panel.locator(".score-saved").wait_for(state="visible")
    comment = page.locator(f"#{WRITTEN}-comment")
    comment.fill("讲清楚了 create_graph=True 多建的图和多存的中间结果。")
    comment.blur()
    panel.locator(".comment-saved").wait_for(state="visible")
    show(panel, "center")
    shot(page, "instructor-5-written-answer-graded")

    page.goto(lab.url("formgrader/manage_students"))
    total = page.locator("tr", has=page.get_by_text(STUDENT, exact=True)).locator("td").nth(3)
    total.wait_for()
    assert float(total.text_content().split("/")[0]) == final(grades[STUDENT]) + maximum


def test_formgraders_autograde_button_grades_in_the_sandbox(page, lab, grades):
    """nbgrader's own autograde path (what the button runs, in the Jupyter server's process) goes through the
    course's Execute step: a sandboxed kernel (autograde/execute.py), the same grade as `python -m autograde`."""
    student = "carol_partial"
    page.goto(lab.url("lab"))  # logs in (the token becomes a cookie), as the other tests do
    page.locator(".jp-DirListing-item").first.wait_for()
    page.goto(lab.url("formgrader/manage_submissions/autograd"))
    row = page.locator("#main-table tr", has=page.locator("td.student-id", has_text=student))
    try:
        row.locator("td.autograde a").click()
    finally:
        shot(page, "instructor-6-manage-submissions")
    modal = page.locator("#success-modal")
    modal.wait_for(state="visible", timeout=180_000)
    assert f"Successfully autograded 'autograd' for student '{student}'" in modal.text_content()
    assert "Grading in the course's sandbox (kernel python3-sandboxed)" in modal.text_content()  # nbgrader's log
    shot(page, "instructor-6-autograde-button-sandboxed")
    modal.get_by_role("button", name="Close").first.click()
    score = row.locator("td").nth(4)
    expect(score).to_contain_text(f"{final(grades[student]):g} /")
