"""What a submission may contain, read without ever following a link.

A submission folder is untrusted: collected from students by nbgrader's exchange, a git repository or an
LMS download, it may hold symbolic links (to another student's notebook, to source/ with the hidden tests,
to the gradebook), devices, FIFOs, or files that would shadow the course's modules. Only these are read:
  - the assignment's notebooks (<name>.ipynb, for each notebook of source/<assignment>/), timestamp.txt
    (when it was submitted; nbgrader's late policy reads it) and submission_secret.txt (nbgrader's exchange
    writes it on submit; release_feedback needs it);
  - the course's own files that the release gives every student (autograd_checks.py, ...); nbgrader
    replaces them with the course's copy when it grades;
  - data files whose relative path matches a pattern the instructor allows (c.SubmissionFiles.allowed).
Everything else is refused with a reason, and the submission is graded without it. Files are opened with
O_NOFOLLOW and checked to be regular files after opening, so a link swapped in at the last moment is refused too.
"""
import fnmatch
import os
import stat
from pathlib import Path

from traitlets import Integer, List, Unicode
from traitlets.config import Configurable

NBGRADER_TIMESTAMP = "timestamp.txt"  # when it was submitted, written by nbgrader's exchange: the late policy reads it
# also written by nbgrader's exchange (submit): release_feedback names the student's feedback by it, so it must
# reach autograded/ and feedback/ like timestamp.txt
NBGRADER_SECRET = "submission_secret.txt"
IGNORED = (".ipynb_checkpoints", "__pycache__", "*.pyc", ".DS_Store", "feedback")  # editors' and Python's leftovers


class SubmissionFiles(Configurable):
    """What a submission may hold besides its notebooks; set in nbgrader_config.py (c.SubmissionFiles.…)."""

    allowed = List(Unicode(), default_value=[],
                   help="Patterns (fnmatch, on the path relative to the assignment folder) of data files a "
                        "submission may hold, e.g. ['data/*.csv']. Never .py files: those could shadow a module."
                   ).tag(config=True)
    max_file_mb = Integer(50, help="Largest file read from a submission.").tag(config=True)


def collect(folder, *, notebooks, course_files, rules):
    """({relative path: bytes}, [(relative path, why refused)]) for one submission folder."""
    folder = Path(folder)
    files, refused = {}, []
    for part in (folder.parent, folder):
        if part.is_symlink() or not part.is_dir():
            return {}, [(str(part.name), "the submission folder is a symbolic link or not a folder")]
    wanted = {f"{name}.ipynb" for name in notebooks} | set(course_files) | {NBGRADER_TIMESTAMP, NBGRADER_SECRET}
    for relpath, kind in _walk(folder):
        if kind == "dir":
            continue
        why = _refusal(relpath, kind, wanted, rules)
        if why is None:
            data, why = _read(folder / relpath, rules.max_file_mb << 20)
            if why is None:
                files[relpath] = data
                continue
        refused.append((relpath, why))
    return files, refused


def _walk(folder):
    """(relative path, kind) of everything below folder, never following a link; ignored names are skipped."""
    pending = [""]
    while pending:
        current = pending.pop()
        with os.scandir(folder / current if current else folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if any(fnmatch.fnmatch(entry.name, pattern) for pattern in IGNORED):
                    continue
                relpath = f"{current}/{entry.name}" if current else entry.name
                mode = entry.stat(follow_symlinks=False).st_mode
                kind = ("link" if stat.S_ISLNK(mode) else "dir" if stat.S_ISDIR(mode)
                        else "file" if stat.S_ISREG(mode) else "special")
                if kind == "dir":
                    pending.append(relpath)
                yield relpath, kind


def _refusal(relpath, kind, wanted, rules):
    if kind == "link":
        return "a symbolic link"
    if kind == "special":
        return "not a regular file (a device, FIFO or socket)"
    if relpath in wanted:
        return None
    if relpath.endswith(".py") or not any(fnmatch.fnmatch(relpath, pattern) for pattern in rules.allowed):
        return "not part of the assignment"
    return None


def _read(path, max_bytes):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        return None, "a symbolic link" if err.errno == 40 else f"unreadable ({err.strerror})"  # 40: ELOOP
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "not a regular file (a device, FIFO or socket)"
        if info.st_size > max_bytes:
            return None, f"larger than {max_bytes >> 20} MB"
        return handle.read(max_bytes + 1)[:max_bytes], None


def describe(refused):
    """One line for a status: what was refused and why."""
    return "; ".join(f"{path} ({why})" for path, why in refused)


def read_class(course, assignment, students):
    """({student: files}, {student: refusals}) of the submissions in course.submitted."""
    rules = SubmissionFiles(config=course.config())
    release = course.release / assignment
    course_files = [p.name for p in release.iterdir() if p.is_file() and p.suffix != ".ipynb"] \
        if release.is_dir() else []
    notebooks = course.source_notebooks(assignment)
    submissions, refused = {}, {}
    for student in students:
        files, refusals = collect(course.submitted / student / assignment, notebooks=notebooks,
                                  course_files=course_files, rules=rules)
        submissions[student] = files
        if refusals:
            refused[student] = refusals
    return submissions, refused
