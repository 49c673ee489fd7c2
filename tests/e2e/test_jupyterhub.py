"""A class on a real JupyterHub, as the README's section 在 JupyterHub 上开课 sets it up and runs it.

hub/jupyterhub_config.py runs on loopback with its npm proxy; the class is three local accounts that log in
with their password (PAM): two students and the grader. The graders' gradebook is in PostgreSQL (AUTOGRADE_DB_URL
where the Hub starts, handed to graders only). All three sign in in Chromium at once. The grader runs the README's commands
in the environment of their JupyterLab's terminals: a clone of the course in ~/course, the Formgrader's config,
release; each student fetches the assignment from the Assignment List, answers (alice everything
right, bob part of it) and submits; the grader collects, grades with `python -m autograde grade`, writes and
releases the feedback, and sees the grades in the Formgrader; bob fetches his feedback and reads it.
"""
import os
import re
import time

import nbformat
import pytest
from playwright.sync_api import Error as PlaywrightError

from autograde import gradebook
from autograde.course import Course
from autograde.submissions import solution_text
from conftest import REPO, copy_course
from e2e.hub import Hub
from e2e.lab import Notebook, code_commands, exactly, menu, readme_section, shot

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="makes local accounts (useradd): needs root, as CI has")

SECTION = readme_section("在 JupyterHub 上开课")
STUDENTS, GRADERS = "d2l-students", "d2l-graders"
ALICE, BOB, GRADER = "d2l-alice", "d2l-bob", "d2l-grader"
NOTEBOOKS = ["01_basics", "02_exercises", "03_extension"]  # everyone hands in the optional 03_extension untouched
# bob answers 01_basics only, and in grad_two_dot returns the function's value instead of its gradient
BOB_SLIP = ("return x.grad", "return y")


def grader_commands():
    """The README's commands for the grader's terminal: (clone line, before the students submit, after)."""
    block = next(code_commands(f"```bash\n{b}```") for b in re.findall(r"```bash\n(.*?)```", SECTION, re.DOTALL)
                 if "git clone" in b)
    collect = block.index("nbgrader collect autograd")
    return block[0], block[1:collect], block[collect:]


def answers(notebook):
    """{grade_id: the reference solution} of every code answer cell of a notebook in source/."""
    cells = nbformat.read(REPO / "source" / "autograd" / f"{notebook}.ipynb", as_version=4).cells
    return {c.metadata["nbgrader"]["grade_id"]: solution_text(c) for c in cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


@pytest.fixture(scope="module")
def graders_db(postgres):
    """A database of its own on the tests' PostgreSQL server, which the grader's account can reach."""
    import psycopg2
    from sqlalchemy.engine import make_url

    url = make_url(postgres)
    sockets = url.query["host"]
    os.chmod(os.path.dirname(sockets), 0o711)  # the server's folder: others may pass through to its socket
    connection = psycopg2.connect(host=sockets, user=url.username, dbname=url.database)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("DROP DATABASE IF EXISTS hub_gradebook")
        cursor.execute("CREATE DATABASE hub_gradebook")
    connection.close()
    return url.set(database="hub_gradebook").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def hub(graders_db):
    hub = Hub({STUDENTS: [ALICE, BOB], GRADERS: [GRADER]}, db_url=graders_db)
    try:
        hub.add_users()
        hub.start()
        yield hub
    finally:
        left = hub.stop()
    assert not left, f"processes of the Hub's users still running after it stopped (now killed): {left}"


def window(browser):
    """A fresh browser window (no cookies) of a laptop's size, with a student's Chinese browser locale."""
    context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN")
    context.set_default_timeout(30_000)
    return context.new_page()


def log_in(page, hub, user):
    """Sign in on the Hub's login page; the Hub then starts the user's JupyterLab (see wait_for_lab)."""
    page.goto(f"{hub.url}/hub/login")
    page.locator("#username_input").fill(user)
    page.locator("#password_input").fill(hub.passwords[user])
    shot(page, "hub-1-login")
    page.locator("#login_submit").click()


def wait_for_lab(page, user):
    page.wait_for_url(re.compile(rf"/user/{user}/lab"), timeout=90_000)
    page.locator("#jp-main-dock-panel").wait_for(timeout=60_000)


def grader(hub, command):
    """One line of the README in the grader's terminal, in ~/course; fails the test with its output if it fails."""
    result = hub.run_as(GRADER, "bash", "-c", command, cwd=hub.home(GRADER) / "course")
    assert result.returncode == 0, f"`{command}` as {GRADER}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result


def assignment_list(page):
    """Nbgrader → Assignment List, once its three lists have loaded."""
    menu(page, "Nbgrader", "Assignment List")
    for name in ("released", "fetched", "submitted"):
        page.locator(f"#{name}_assignments_list_loading").wait_for(state="hidden", timeout=30_000)
    return page


def rows(page, name):
    return page.locator(f"#{name}_assignments_list > .list_item")


def answer(page, hub, user, notebook, cells):
    """Open the fetched notebook, type each answer over its cell, save; the file on disk has the answers."""
    path = hub.home(user) / "autograd" / f"{notebook}.ipynb"
    url = f"{hub.url}/user/{user}/lab/tree/autograd/{notebook}.ipynb?reset"  # this notebook alone
    try:
        page.goto(url)
    except PlaywrightError as err:  # seen once on a machine loaded 4x over its cores; a student would reload
        print(f"{url}: {err.message.splitlines()[0]}; reloading once. The Hub's log:\n{hub.log_tail(20)}")
        page.goto(url)
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
    """The Assignment List: Fetch; answer in the fetched notebooks; Submit."""
    assignment_list(page)
    released = rows(page, "released")
    released.filter(has=page.locator(".item_name", has_text=exactly("autograd"))).wait_for()
    assert released.locator(".item_course").all_text_contents() == ["d2l-autograd"]
    shot(page, f"hub-2-{user}-assignment-list")
    released.locator(".item_status button", has_text="Fetch").click()
    rows(page, "fetched").first.wait_for()
    fetched = sorted(p.name for p in (hub.home(user) / "autograd").glob("*.ipynb"))
    assert fetched == [f"{n}.ipynb" for n in NOTEBOOKS]
    for notebook, cells in answered.items():
        answer(page, hub, user, notebook, cells)
    page.goto(f"{hub.url}/user/{user}/lab")
    assignment_list(page)
    rows(page, "fetched").locator(".item_status button", has_text="Submit").click()
    rows(page, "submitted").first.wait_for()
    shot(page, f"hub-4-{user}-submitted")


def restart_server(page, hub, user):
    """Hub Control Panel: Stop My Server, then Start My Server (JupyterLab reads its config when it starts)."""
    page.goto(f"{hub.url}/hub/home")
    page.locator("#stop").click()
    page.locator("#stop").wait_for(state="hidden")  # the server has stopped
    page.locator("#start").click()
    wait_for_lab(page, user)


def totals_in_formgrader(page):
    # JupyterHub forbids iframes (since 4.1), so the Formgrader of the Nbgrader menu is a blank tab; its own
    # browser tab works, as nbgrader's documentation says
    page.goto(page.url.split("/lab")[0] + "/formgrader")
    page.get_by_role("link", name="autograd", exact=True).wait_for()
    page.get_by_role("link", name="Manage Students").click()
    totals = {}
    for student in (ALICE, BOB):
        cells = page.locator("tr", has=page.get_by_text(student, exact=True)).locator("td")
        cells.first.wait_for()
        totals[student] = " ".join(cells.nth(3).text_content().split())
    shot(page, "hub-5-grader-formgrader")
    return totals


def read_feedback(page, hub, user):
    """Back in JupyterLab later: Assignment List → Fetch Feedback → (view feedback) → 01_basics.html; its text."""
    page.goto(f"{hub.url}/user/{user}/lab?reset")
    wait_for_lab(page, user)
    assignment_list(page)
    submitted = rows(page, "submitted")
    submitted.locator(".item_status button", has_text="Fetch Feedback").click()
    view = submitted.get_by_text("(view feedback)")
    view.wait_for()
    view.click()  # the file browser goes to the feedback folder
    page.locator(".jp-DirListing-item", has_text="01_basics.html").dblclick()
    body = page.frame_locator(".jp-HTMLViewer iframe").locator("body")
    body.get_by_text("grad_two_dot").first.wait_for()
    shot(page, "hub-6-bob-reads-feedback")
    return body.inner_text()


def test_readme_hub_section_is_what_the_test_runs():
    commands = code_commands(SECTION)
    assert "make hub-proxy" in commands
    # the administrator's accounts are the test's: users in one of the two groups the Hub lets in
    assert f"groupadd {STUDENTS} && groupadd {GRADERS}" in commands
    assert [re.search(r"--gid (\S+)", c).group(1) for c in commands if c.startswith("useradd")] == [STUDENTS, GRADERS]
    assert any(c.endswith("jupyterhub -f /srv/d2l-autograd/hub/jupyterhub_config.py") for c in commands)
    configs = "".join((REPO / "hub" / name).read_text(encoding="utf-8") for name in ("jupyterhub_config.py", "nbgrader_config.py"))
    quoted = [line.split("  #")[0].strip() for block in re.findall(r"```python\n(.*?)```", SECTION, re.DOTALL)
              for line in block.splitlines()]
    assert [line for line in quoted if line not in configs] == [], "the README quotes hub/'s files as they are"
    clone, before, after = grader_commands()
    assert clone.endswith("~/course && cd ~/course")
    assert before == ["mkdir -p ~/.jupyter && cp hub/grader_nbgrader_config.py ~/.jupyter/nbgrader_config.py",
                      "python -m autograde release", "nbgrader release_assignment autograd"]
    assert after == ["nbgrader collect autograd", "python -m autograde grade", "python -m autograde feedback",
                     "nbgrader release_feedback autograd"]


def test_a_class_on_jupyterhub_from_assignment_list_to_feedback(hub, browser, graders_db, monkeypatch):
    _, before, after = grader_commands()
    basics, exercises = answers("01_basics"), answers("02_exercises")
    slip = basics["grad_two_dot"].replace(*BOB_SLIP)
    assert slip != basics["grad_two_dot"]
    pages = {user: window(browser) for user in (GRADER, ALICE, BOB)}
    try:
        for user, page in pages.items():  # everyone signs in at the start of the class: the Hub starts three JupyterLabs
            log_in(page, hub, user)
        wait_for_lab(pages[GRADER], GRADER)  # the grader's terminal runs in their JupyterLab's environment
        assert hub.server_env(GRADER)["AUTOGRADE_DB_URL"] == graders_db
        hub.chown(copy_course(hub.home(GRADER) / "course"), GRADER)  # what `git clone` gives
        for command in before:
            grader(hub, command)

        for user, answered in ((ALICE, {"01_basics": basics, "02_exercises": exercises}),
                               (BOB, {"01_basics": {**basics, "grad_two_dot": slip}})):
            wait_for_lab(pages[user], user)
            fetch_answer_submit(pages[user], hub, user, answered)
            assert "AUTOGRADE_DB_URL" not in hub.server_env(user), "the graders' gradebook is for graders only"

        for command in after:
            grader(hub, command)
        course = Course(hub.home(GRADER) / "course")
        assert sorted(p.name for p in course.submitted.iterdir()) == [ALICE, BOB]
        monkeypatch.setenv("AUTOGRADE_DB_URL", graders_db)  # read the gradebook where the course's config points
        items = gradebook.items(course, "autograd")
        got = gradebook.scores(course, "autograd")
        assert not (course.root / "gradebook.db").exists(), "the grades must land in PostgreSQL, not SQLite"

        def auto(student, notebook):
            return sum(got[student][i.grade_id] for i in items if i.auto and i.notebook == notebook)

        assert [auto(ALICE, n) for n in NOTEBOOKS] == [20.0, 19.0, 0.0]
        assert [auto(BOB, n) for n in NOTEBOOKS] == [18.0, 0.0, 0.0]
        restart_server(pages[GRADER], hub, GRADER)  # the Formgrader reads the config copied above
        # alice's answers graded by hand (1.2, 4.3) wait for a grader: 4 of the 51 points
        assert totals_in_formgrader(pages[GRADER]) == {ALICE: "39 / 51", BOB: "18 / 51"}

        text = read_feedback(pages[BOB], hub, BOB)
    finally:
        for page in pages.values():
            page.context.close()
    assert "01_basics (Score: 18.0 / 20.0)" in text, text[:2000]
    # the failed test's Chinese hint, without the hidden tests' code
    assert "grad_two_dot(torch.arange(4.0)) 的形状应为 (4,)，实际为 ()" in text, text[:4000]
    assert "BEGIN HIDDEN TESTS" not in text
