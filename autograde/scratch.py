"""Temporary folders that go away however the process that made them ends.

owned_tempdir() makes a folder and starts a watcher (this module, run as `python -m autograde.scratch PATH`)
that holds the read end of a pipe whose write end only the maker has. When the maker ends (normally, by an
exception, by Ctrl-C or by SIGKILL) the pipe closes and the watcher removes the folder. Removal is
`rm -rf --one-file-system`: GNU rm walks a folder tree of any depth (Python 3.11's shutil.rmtree recurses and
fails on a few thousand levels) and never descends into a mount point.
"""
import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = str(Path(__file__).resolve().parent.parent)


def remove(path):
    """Remove a folder tree, whatever it holds; never raises."""
    subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def owned_tempdir(prefix, dir=None):
    """A new folder (a Path) that is removed when the block ends or this process dies."""
    path = tempfile.mkdtemp(prefix=prefix, dir=dir)
    read_end, write_end = os.pipe()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [REPO_ROOT, os.environ.get("PYTHONPATH")]))}
    subprocess.Popen([sys.executable, "-m", "autograde.scratch", path], stdin=read_end, env=env,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    os.close(read_end)
    try:
        yield Path(path)
    finally:
        remove(path)
        os.close(write_end)  # the watcher wakes up and finds nothing left to remove


def wait_for_lifeline():
    """Return once stdin (a pipe whose write end only the parent holds) closes: the parent has ended."""
    while os.read(0, 4096):
        pass


def watch(path):
    """Wait until the maker's end of the pipe on stdin closes, then remove path."""
    wait_for_lifeline()
    remove(path)


if __name__ == "__main__":
    watch(sys.argv[1])
