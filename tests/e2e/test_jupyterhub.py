"""A class on a real JupyterHub, as the README's section 在 JupyterHub 上开课 sets it up.

hub/jupyterhub_config.py runs on loopback with its npm proxy; the class is three local accounts that log in
with their password (PAM): two students and the grader, who holds a copy of the course in their home. The
grader releases the assignment to nbgrader's exchange; each student logs in in Chromium, fetches it from the
Assignment List in JupyterLab, answers (alice everything right, bob part of it) and submits; the grader collects
and grades with `python -m autograde grade`, writes and releases the feedback; bob fetches his feedback from
the Assignment List and reads it. The grader's commands run as the grader, in the Hub's namespace, with the
environment a terminal in their JupyterLab has.
"""
import os
import re
import time

import nbformat
import pytest

from autograde import gradebook
from autograde.course import Course
from autograde.submissions import solution_text
from conftest import REPO, copy_course
from e2e.hub import Hub
from e2e.lab import Notebook, exactly, menu, readme_section, shot

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="makes local accounts (useradd): needs root, as CI has")

STUDENTS, GRADERS = "d2l-students", "d2l-graders"
ALICE, BOB, GRADER = "d2l-alice", "d2l-bob", "d2l-grader"
NOTEBOOKS = ["01_basics", "02_exercises"]
# bob answers 01_basics only, and in grad_two_dot returns the function's value instead of its gradient
BOB_SLIP = ("return x.grad", "return y")


def answers(notebook):
    """{grade_id: the reference solution} of every code answer cell of a notebook in source/."""
    cells = nbformat.read(REPO / "source" / "autograd" / f"{notebook}.ipynb", as_version=4).cells
    return {c.metadata["nbgrader"]["grade_id"]: solution_text(c) for c in cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


@pytest.fixture(scope="module")
def hub():
    hub = Hub({STUDENTS: [ALICE, BOB], GRADERS: [GRADER]})
    try:
        hub.add_users()
        course = copy_course(hub.home(GRADER) / "course")
        hub.chown(course, GRADER)
        hub.start()
        yield hub
    finally:
        left = hub.stop()
    assert not left, f"processes of the Hub's users still running after it stopped (now killed): {left}"


def grader(hub, *command):
    """A command of the grader's, in their course folder; fails the test with its output if it fails."""
    result = hub.run_as(GRADER, *command, cwd=hub.home(GRADER) / "course")
    assert result.returncode == 0, f"{' '.join(command)} as {GRADER}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result


def log_in(page, hub, user):
    page.goto(f"{hub.url}/hub/login")
    page.locator("#username_input").fill(user)
    page.locator("#password_input").fill(hub.passwords[user])
    shot(page, "hub-1-login")
    page.locator("#login_submit").click()
    page.wait_for_url(re.compile(rf"/user/{user}/lab"), timeout=90_000)  # the Hub starts their JupyterLab
    page.locator("#jp-main-dock-panel").wait_for(timeout=60_000)


def assignment_list(page):
    """Nbgrader → Assignment List; the list's tab once it has loaded."""
    menu(page, "Nbgrader", "Assignment List")
    for name in ("released", "fetched", "submitted"):
        page.locator(f"#{name}_assignments_list_loading").wait_for(state="hidden", timeout=30_000)
    return page


def rows(page, name):
    return page.locator(f"#{name}_assignments_list > .list_item")


def answer(page, hub, user, notebook, cells):
    """Open the fetched notebook, type each answer over its cell, save."""
    path = hub.home(user) / "autograd" / f"{notebook}.ipynb"
    page.goto(f"{hub.url}/user/{user}/lab/tree/autograd/{notebook}.ipynb")
    opened = Notebook(page, path).wait_loaded()
    for grade_id, text in cells.items():
        opened.set_source(grade_id, text)
    shot(page, f"hub-3-{user}-{notebook}")
    menu(page, "File", "Save Notebook")
    wanted = {opened.index(grade_id): text for grade_id, text in cells.items()}
    deadline = time.monotonic() + 30
    while True:
        saved = nbformat.read(path, as_version=4).cells
        if all(saved[i].source == text for i, text in wanted.items()) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert [saved[i].source for i in wanted] == list(wanted.values()), f"{user}'s answers in {path.name}"


def fetch_answer_submit(page, hub, user, answered):
    log_in(page, hub, user)
    assignment_list(page)
    released = rows(page, "released")
    released.filter(has=page.locator(".item_name", has_text=exactly("autograd"))).wait_for()
    assert released.locator(".item_course").all_text_contents() == ["d2l-autograd"]
    shot(page, f"hub-2-{user}-assignment-list")
    released.locator(".item_status button", has_text="Fetch").click()
    rows(page, "fetched").first.wait_for()
    assert sorted(p.name for p in (hub.home(user) / "autograd").glob("*.ipynb")) == [f"{n}.ipynb" for n in NOTEBOOKS]
    for notebook, cells in answered.items():
        answer(page, hub, user, notebook, cells)
    page.goto(f"{hub.url}/user/{user}/lab")
    assignment_list(page)
    rows(page, "fetched").locator(".item_status button", has_text="Submit").click()
    rows(page, "submitted").first.wait_for()
    shot(page, f"hub-4-{user}-submitted")


def test_readme_hub_section_uses_the_tests_config():
    section = readme_section("在 JupyterHub 上开课")
    assert "hub/jupyterhub_config.py" in section and "hub/nbgrader_config.py" in section
    for command in ("npm ci --prefix hub", "nbgrader release_assignment autograd", "nbgrader collect autograd",
                    "python -m autograde grade", "nbgrader release_feedback autograd", "AUTOGRADE_DB_URL"):
        assert command in section, command


def test_a_class_on_jupyterhub_from_assignment_list_to_feedback(hub, browser):
    grader(hub, "python", "-m", "autograde", "release")
    grader(hub, "nbgrader", "release_assignment", "autograd")

    basics, exercises = answers("01_basics"), answers("02_exercises")
    slip = basics["grad_two_dot"].replace(*BOB_SLIP)
    assert slip != basics["grad_two_dot"]
    for user, answered in ((ALICE, {"01_basics": basics, "02_exercises": exercises}),
                           (BOB, {"01_basics": {**basics, "grad_two_dot": slip}})):
        context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN")
        context.set_default_timeout(30_000)
        try:
            fetch_answer_submit(context.new_page(), hub, user, answered)
        finally:
            context.close()

    collected = grader(hub, "nbgrader", "collect", "autograd")
    course = Course(hub.home(GRADER) / "course")
    assert sorted(p.name for p in course.submitted.iterdir()) == [ALICE, BOB], collected.stderr
    grader(hub, "python", "-m", "autograde", "grade")
    items = gradebook.items(course, "autograd")
    got = gradebook.scores(course, "autograd")

    def auto(student, notebook):
        return sum(got[student][i.grade_id] for i in items if i.auto and i.notebook == notebook)

    assert [auto(ALICE, n) for n in NOTEBOOKS] == [20.0, 19.0]
    assert [auto(BOB, n) for n in NOTEBOOKS] == [18.0, 0.0]
    grader(hub, "python", "-m", "autograde", "feedback")
    grader(hub, "nbgrader", "release_feedback", "autograd")

    context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN")
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        log_in(page, hub, BOB)
        assignment_list(page)
        submitted = rows(page, "submitted")
        submitted.locator(".item_status button", has_text="Fetch Feedback").click()
        view = submitted.get_by_text("(view feedback)")
        view.wait_for()
        shot(page, "hub-5-bob-feedback-fetched")
        view.click()  # the file browser goes to the feedback folder
        page.locator(".jp-DirListing-item", has_text="01_basics.html").dblclick()
        frame = page.frame_locator(".jp-HTMLViewer iframe")
        frame.locator("body").get_by_text("grad_two_dot").first.wait_for()
        text = frame.locator("body").inner_text()
        shot(page, "hub-6-bob-reads-feedback")
    finally:
        context.close()
    assert "01_basics (Score: 18.0 / 20.0)" in text, text[:2000]
    # the failed test's Chinese hint, without the hidden tests' code
    assert "grad_two_dot(torch.arange(4.0)) 的形状应为 (4,)，实际为 ()" in text, text[:4000]
    assert "BEGIN HIDDEN TESTS" not in text
