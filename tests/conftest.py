import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: runs nbgrader on whole submissions (minutes)")


def run_autograde(*args, cwd=REPO):
    """Run `python -m autograde ARGS` as a user would; returns the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "autograde", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=1200)


def copy_course(dest):
    """Copy the course's files as a fresh clone would have them (tracked, or new and not ignored)."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    return dest


@pytest.fixture
def course_copy(tmp_path):
    """A copy of the course, to run commands in without touching the repository."""
    return copy_course(tmp_path / "course")
