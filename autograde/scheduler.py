"""Grade a class in parallel: batches of submissions go to workers as data, grades come back to one writer.

A worker is a thread here (each runs its own sandboxed nbgrader process in a private copy
of the course, with its own SQLite gradebook), or a Dask worker anywhere (--cluster). Either
way a batch travels as a dict of file contents and returns grades and autograded files; only
this process writes the class's gradebook, so parallel grading never loses or corrupts a grade.
"""
import math
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from . import gradebook, grading
from .course import Course, nbgrader, scratch_course
from .errors import AutogradeError


def pack(folder):
    """A folder as {relative path: bytes}."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def unpack(files, folder):
    for relpath, data in files.items():
        target = Path(folder) / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def grade_batch(course_files, assignment, submissions, options):
    """Grade some submissions in a private course made from course_files; runs on any worker.

    Returns {student: {"status", "grades", "autograded"}} with autograded notebooks as bytes."""
    with tempfile.TemporaryDirectory(prefix="autograde-batch-") as tmp:
        unpack(course_files, tmp)
        for student, files in submissions.items():
            unpack(files, Path(tmp) / "submitted" / student / assignment)
        course = Course(Path(tmp))
        statuses = grading.main(course=course, assignment=assignment, **options)
        return {student: {"status": statuses[student],
                          "grades": gradebook.export_submission(course, assignment, student),
                          "autograded": pack(course.autograded / student / assignment)
                          if (course.autograded / student / assignment).is_dir() else {}}
                for student in submissions}


def _batches(students, workers):
    # Each batch pays one nbgrader start (~3 s) against ~10 s a submission: a few batches a worker
    # balance the load and move the progress bar without paying that start too often.
    size = max(1, min(8, math.ceil(len(students) / (workers * 3))))
    return [students[i:i + size] for i in range(0, len(students), size)]


class Progress:
    """One line, rewritten: submissions done, rate, ETA."""

    def __init__(self, total, stream=sys.stdout):
        self.total, self.done, self.started, self.stream = total, 0, time.monotonic(), stream

    def advance(self, count):
        self.done += count
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
    """What every batch starts from: config, source, release and a gradebook that knows the assignment
    but no student (the class's own gradebook stays here)."""
    with tempfile.TemporaryDirectory(prefix="autograde-base-") as tmp:
        return pack(scratch_course(course, Path(tmp) / "course", assignment, verbose=verbose).root)


def grade_class(*, course, assignment, students, workers=None, cluster=None, options=None, base=None, verbose=False):
    """Grade students in parallel batches; write every grade through this process. Returns statuses.

    base: base_files(...) if the caller has them already."""
    options = dict(options or {}, verbose=verbose)
    workers = max(1, workers or os.cpu_count() or 1)
    _ensure_assignment(course, assignment, verbose)
    course_files = base or base_files(course, assignment, verbose)
    submissions = {s: pack(course.submitted / s / assignment) for s in students}
    batches = _batches(students, workers)
    progress = Progress(len(students))
    results = {}

    def collect(batch_result):
        results.update(batch_result)
        _write(course, assignment, batch_result)
        progress.advance(len(batch_result))

    if cluster:
        from distributed import Client, as_completed as dask_completed

        with Client(cluster, timeout="20s") as client:
            shipped = client.scatter(course_files, broadcast=True)
            futures = [client.submit(grade_batch, shipped, assignment, {s: submissions[s] for s in batch},
                                     options, pure=False) for batch in batches]
            for future in dask_completed(futures):
                collect(future.result())
    else:
        with ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(grade_batch, course_files, assignment, {s: submissions[s] for s in batch},
                                   options) for batch in batches]
            for future in as_completed(futures):
                collect(future.result())
    return {student: results[student]["status"] for student in students}


def _write(course, assignment, batch_result):
    """The single writer: grades into the class's gradebook, autograded notebooks into autograded/."""
    gradebook.import_submissions(course, assignment, {s: r["grades"] for s, r in batch_result.items()})
    for student, result in batch_result.items():
        target = course.autograded / student / assignment
        if target.exists():
            shutil.rmtree(target)
        unpack(result["autograded"], target)
