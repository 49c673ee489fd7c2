"""The sandbox as a teacher on a laptop runs it: not root. CI runs as root, so this test runs the sandbox's own
tests (tests/security/test_sandbox.py) again as an unprivileged user it creates; run as a user already, they run as it.

The user must reach the repository and the Python environment. Where one of their folders is closed to
others (pyenv under /root, say), a private mount namespace covers the closed folder with an empty one and
binds back just the paths needed; nothing outside that namespace changes (tests/private_mounts.py).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograde import sandbox, sandbox_keeper
from conftest import REPO
from private_mounts import python_paths, unshare_command

USER = "autograde-ci"
pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="already unprivileged: tests/security/test_sandbox.py runs as this user"),
              pytest.mark.skipif(sandbox.problem() is not None, reason=f"no sandbox here: {sandbox.problem()}")]


def test_the_sandbox_tests_pass_as_an_unprivileged_user(tmp_path):
    if subprocess.run(["id", "-u", USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], check=True)
    keep = tmp_path / "keep"
    keep.mkdir()
    home = Path(tempfile.mkdtemp(prefix="autograde-ci-home-"))  # pytest's own folders are closed to others
    shutil.chown(home, USER)
    command = (f"setpriv --reuid={USER} --regid={USER} --clear-groups --reset-env "
               f"env HOME={home} PATH={Path(sys.executable).parent}:/usr/bin:/bin PYTHONDONTWRITEBYTECODE=1 "
               f"{sys.executable} -m pytest tests/security/test_sandbox.py -q -p no:cacheprovider")
    try:
        result = subprocess.run(unshare_command(python_paths(), keep, command), cwd=REPO,
                                capture_output=True, text=True, timeout=600)
    finally:
        shutil.rmtree(home)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.fullmatch(r"\d+ passed in .*", summary), summary  # nothing skipped, nothing failed


def test_two_live_sandboxes_never_share_a_uid():
    first, first_lock = sandbox_keeper._allocate_uid()
    second, second_lock = sandbox_keeper._allocate_uid()
    try:
        assert first != second
        other = subprocess.run([sys.executable, "-c", "from autograde import sandbox_keeper; print(sandbox_keeper._allocate_uid()[0])"],
                               cwd=REPO, capture_output=True, text=True, check=True)
        assert int(other.stdout) not in (first, second)
    finally:
        os.close(first_lock)
        os.close(second_lock)
    import fcntl

    fd = os.open(sandbox_keeper.UID_LOCKS / str(first), os.O_RDWR)  # released with its holder
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
