"""Grade a class in parallel: batches of submissions go to workers as data, grades come back to one writer.

A worker is a thread here (each runs one batch process, autograde/batch.py, grading in a private copy
of the course with its own SQLite gradebook), or a Dask worker anywhere (--cluster). Either way a batch
travels as a dict of file contents (read by autograde/submission_files.py, which never follows a link) and
returns grades and autograded files; only this process writes the class's gradebook, as each submission
is finished, so parallel grading never loses or corrupts a grade, and Ctrl-C keeps every finished one.
"""
import contextlib
import math
import os
import shutil
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from . import gradebook, submission_files
from .batch import grade_batch
from .course import nbgrader, scratch_course
from .errors import AutogradeError
from .grading import GradingOptions
from .scratch import owned_tempdir


def pack(folder):
    """A folder the course made itself (no link in it) as {relative path: bytes}."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def unpack(files, folder):
    for relpath, data in files.items():
        target = Path(folder) / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


MAX_BATCH = 50


def _batches(students, workers):
    # Each batch pays one nbgrader start and one kernel server start (~4 s of CPU together) against
    # ~1.5 s a submission: one batch a worker, unless batches grow so large that an interruption would
    # throw away much work (grades are written as each batch comes back).
    size = max(1, min(MAX_BATCH, math.ceil(len(students) / workers)))
    return [students[i:i + size] for i in range(0, len(students), size)]


class Progress:
    """One line, rewritten: submissions done, rate, ETA."""

    def __init__(self, total, stream=sys.stdout):
        self.total, self.done, self.started, self.stream = total, 0, time.monotonic(), stream
        self.lock = threading.Lock()

    def advance(self, count):
        with self.lock:
            self._advance(count)

    def _advance(self, count):
        if count <= 0 or self.done == self.total:
            return
        self.done = min(self.total, self.done + count)
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed else 0.0
        eta = (self.total - self.done) / rate if rate else float("nan")
        width = 30
        bar = "#" * round(width * self.done / self.total)
        self.stream.write(f"\r[{bar:<{width}}] {self.done}/{self.total} submissions  "
                          f"{rate * 60:5.1f}/min  ETA {eta:4.0f} s ")
        self.stream.flush()
        if self.done == self.total:
            self.stream.write("\n")


def _ensure_assignment(course, assignment, verbose):
    try:
        gradebook.items(course, assignment)
    except AutogradeError:  # a fresh clone has release/ but no gradebook yet
        nbgrader(course, "generate_assignment", assignment, "--force", verbose=verbose)


def base_files(course, assignment, verbose=False):
    """What every batch starts from: config, source and a gradebook that knows the assignment as the
    class's gradebook does, but no student (the class's own gradebook stays here)."""
    structure = gradebook.export_assignment(course, assignment)
    with owned_tempdir("autograde-base-") as tmp:
        base = scratch_course(course, Path(tmp) / "course", assignment, generate=False)
        gradebook.import_assignment(base, assignment, structure)
        return pack(base.root)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during grading: the run stopped, the grades of finished submissions are recorded."""

    def __init__(self, statuses, total):
        super().__init__(f"{len(statuses)} of {total} submissions were graded and recorded")
        self.statuses = statuses  # {student: status} of the finished ones


def grade_class(*, course, assignment, students, workers=None, cluster=None, options=GradingOptions(), base=None):
    """Grade students in parallel batches; write every grade through this process. Returns statuses.

    base: base_files(...) if the caller has them already."""
    verbose = options.verbose
    workers = max(1, workers or os.cpu_count() or 1)
    _ensure_assignment(course, assignment, verbose)
    course_files = base or base_files(course, assignment, verbose)
    submissions, _ = submission_files.read_class(course, assignment, students)
    recorded = gradebook.export_submissions(course, assignment, students)
    batches = _batches(students, workers)
    progress = Progress(len(students))
    results, lock = {}, threading.Lock()

    def collect(student, result):  # from any worker thread: one writer at a time
        with lock:
            results[student] = result
            _write(course, assignment, {student: result}, recorded)
            progress.advance(1)

    if cluster:
        from distributed import Client, as_completed as dask_completed

        with Client(cluster, timeout="20s") as client:
            shipped = client.scatter(course_files, broadcast=True)
            futures = [client.submit(grade_batch, shipped, assignment, {s: submissions[s] for s in batch},
                                     options, recorded={s: recorded[s] for s in batch}, pure=False)
                       for batch in batches]
            for future in dask_completed(futures):
                for student, result in future.result().items():
                    collect(student, result)
    else:
        processes = []
        pool = ThreadPoolExecutor(workers)
        futures = [pool.submit(grade_batch, course_files, assignment, {s: submissions[s] for s in batch}, options,
                               collect, processes.append, {s: recorded[s] for s in batch}) for batch in batches]
        try:
            for future in as_completed(futures):
                future.result()
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            for process in processes:  # each batch process takes its sandbox and folders with it
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            pool.shutdown(wait=True)
            progress.stream.write("\n")
            raise Interrupted({s: r["status"] for s, r in results.items()}, len(students)) from None
        pool.shutdown(wait=True)
    return {student: results[student]["status"] for student in students}


def _write(course, assignment, batch_result, recorded):
    """The single writer: grades into the class's gradebook, autograded notebooks into autograded/."""
    gradebook.import_submissions(course, assignment, {s: r["grades"] for s, r in batch_result.items()}, recorded)
    for student, result in batch_result.items():
        target = course.autograded / student / assignment
        if target.exists():
            shutil.rmtree(target)
        unpack(result["autograded"], target)
