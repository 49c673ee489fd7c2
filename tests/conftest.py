import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

TESTS = Path(__file__).resolve().parent  # tests/<purpose>/test_*.py; fixtures (corpus/, adversarial/) stay here
REPO = TESTS.parent


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


def hidden_test_lines():
    """Every non-trivial line of the source's hidden tests that appears nowhere else in the assignment."""
    hidden, elsewhere = set(), set()
    for path in (REPO / "source" / "autograd").glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            pattern = r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS"
            for block in re.findall(pattern, cell.source, re.DOTALL):
                hidden.update(l.strip() for l in block.splitlines() if len(l.strip()) > 12)
            elsewhere.update(l.strip() for l in re.sub(pattern, "", cell.source, flags=re.DOTALL).splitlines())
    return hidden - elsewhere


def course_limits(**overrides):
    """The sandbox limits the course's nbgrader_config.py sets (the one place for them), with overrides."""
    from autograde.course import Course
    from autograde.sandbox import Limits

    return Limits(config=Course(REPO).config(), **overrides)


@pytest.fixture
def course_copy(tmp_path):
    """A copy of the course, to run commands in without touching the repository."""
    return copy_course(tmp_path / "course")


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server of our own (Debian's package), on a Unix socket; yields a database URL."""
    import os
    import shutil

    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    assert versions, "PostgreSQL is not installed: apt-get install -y postgresql"
    bindir = versions[-1].parent
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="autograde-postgres-"))  # pytest's own folders are closed to others
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    as_user = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]

    def run(*command):
        subprocess.run(as_user + [str(bindir / command[0]), *command[1:]], check=True, capture_output=True)

    run("initdb", "-D", str(data), "-A", "trust", "-U", "grader")
    run("pg_ctl", "-D", str(data), "-w", "-l", str(root / "server.log"),
        "-o", f"-k {sockets} -c listen_addresses=''", "start")
    try:
        run("createdb", "-h", str(sockets), "-U", "grader", "gradebook")
        yield f"postgresql+psycopg2://grader@/gradebook?host={sockets}"
    finally:
        run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root)
