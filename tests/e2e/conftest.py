"""Fixtures of the browser tests: Debian's headless Chromium through Playwright, and `make lab` servers.

These tests need Chromium and a Chinese font from the system (see lab.INSTALL_LINE, also in the README);
without them they fail, saying how to install them, since CI must prove them. Playwright's own browser
download is not used.
"""
import os
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import copy_course
from e2e.lab import CHROMIUM, CHROMIUM_ARGS, E2E, INSTALL_LINE, running_lab

DEMO_MODULE = "test_formgrader_lab.py"  # needs the sample class graded: `make demo`, about a minute


def pytest_collection_modifyitems(items):
    """Browser tests take minutes: they are `slow`, so `make test-quick` leaves them to `make e2e` and `make test`.

    The Formgrader's tests go last, so that the demo they need can grade in the background meanwhile.
    """
    browser_tests = [i for i, item in enumerate(items) if E2E in item.path.parents]
    for i in browser_tests:
        items[i].add_marker(pytest.mark.slow)
    block = [items[i] for i in browser_tests]
    block.sort(key=lambda item: item.path.name == DEMO_MODULE)  # stable: keeps every other order
    for i, item in zip(browser_tests, block):
        items[i] = item


@pytest.fixture(scope="session", autouse=True)
def demo_in_background(request, tmp_path_factory):
    """`python -m autograde demo` in a copy of the course, started with the first browser test if the
    Formgrader's tests will run; the `demo` fixture of test_formgrader_lab.py waits for it."""
    if not any(item.path.name == DEMO_MODULE for item in request.session.items):
        yield None
        return
    course = copy_course(tmp_path_factory.mktemp("demo-clone") / "course")
    log = course.parent / "demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "autograde", "demo"], cwd=course, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    process.course, process.log = course, log
    yield process
    if process.poll() is None:  # the Formgrader's tests did not wait for it (deselected or stopped early)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _require_chromium_and_chinese_font():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium is missing: the browser tests drive Debian's Chromium at {CHROMIUM}. "
                    f"Install it with `{INSTALL_LINE}` (as the README says), or set E2E_CHROMIUM to a Chromium "
                    "binary. (`playwright install` is not needed.)", pytrace=False)
    fonts = subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True).stdout \
        if shutil.which("fc-list") else ""
    if not fonts.strip():
        pytest.fail("No font with Chinese characters: the screenshots would show boxes instead of the course's "
                    f"text. Install one with `{INSTALL_LINE}` (as the README says).", pytrace=False)


@pytest.fixture(scope="session")
def browser():
    _require_chromium_and_chinese_font()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser window (no cookies) of a laptop's size, with a student's Chinese browser locale."""
    context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN")
    context.set_default_timeout(30_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the course as a fresh clone has it."""
    return copy_course(tmp_path_factory.mktemp("clone") / "course")


@pytest.fixture(scope="module")
def lab(course, tmp_path_factory):
    """`make lab` in the module's copy of the course."""
    yield from running_lab(course, tmp_path_factory.mktemp("jupyter-home"))
