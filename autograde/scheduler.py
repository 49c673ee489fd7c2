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
import threading
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


def grade_batch(course_files, assignment, submissions, options, on_started=None, recorded=None):
    """Grade some submissions in a private course made from course_files; runs on any worker.

    recorded: what the class's gradebook holds for them (gradebook.export_submissions), so that nbgrader
    grades on top of it as it would in place (manual grades and extra credit count in a late penalty).
    Returns {student: {"status", "grades", "autograded"}} with autograded notebooks as bytes."""
    with tempfile.TemporaryDirectory(prefix="autograde-batch-") as tmp:
        unpack(course_files, tmp)
        for student, files in submissions.items():
            unpack(files, Path(tmp) / "submitted" / student / assignment)
        course = Course(Path(tmp))
        if recorded:
            gradebook.import_submissions(course, assignment, recorded)
        statuses = grading.main(course=course, assignment=assignment, on_started=on_started, **options)
        return {student: {"status": statuses[student],
                          "grades": gradebook.export_submission(course, assignment, student),
                          "autograded": pack(course.autograded / student / assignment)
                          if (course.autograded / student / assignment).is_dir() else {}}
                for student in submissions}


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
    with tempfile.TemporaryDirectory(prefix="autograde-base-") as tmp:
        base = scratch_course(course, Path(tmp) / "course", assignment, generate=False)
        gradebook.import_assignment(base, assignment, structure)
        return pack(base.root)


def grade_class(*, course, assignment, students, workers=None, cluster=None, options=None, base=None, verbose=False):
    """Grade students in parallel batches; write every grade through this process. Returns statuses.

    base: base_files(...) if the caller has them already."""
    options = dict(options or {}, verbose=verbose)
    workers = max(1, workers or os.cpu_count() or 1)
    _ensure_assignment(course, assignment, verbose)
    course_files = base or base_files(course, assignment, verbose)
    submissions = {s: pack(course.submitted / s / assignment) for s in students}
    recorded = gradebook.export_submissions(course, assignment, students)
    batches = _batches(students, workers)
    progress = Progress(len(students))
    results = {}

    def collect(batch_result, already_counted=0):
        results.update(batch_result)
        _write(course, assignment, batch_result, recorded)
        progress.advance(len(batch_result) - already_counted)

    if cluster:
        from distributed import Client, as_completed as dask_completed

        with Client(cluster, timeout="20s") as client:
            shipped = client.scatter(course_files, broadcast=True)
            futures = [client.submit(grade_batch, shipped, assignment, {s: submissions[s] for s in batch},
                                     options, pure=False, recorded={s: recorded[s] for s in batch})
                       for batch in batches]
            for future in dask_completed(futures):
                collect(future.result())
    else:
        def grade_here(batch):
            """One batch in a thread of this process; the bar moves as each submission is finished."""
            started = []

            def on_started(student):
                if started:
                    progress.advance(1)  # nbgrader finished the one before
                started.append(student)

            result = grade_batch(course_files, assignment, {s: submissions[s] for s in batch}, options, on_started,
                                 {s: recorded[s] for s in batch})
            return result, max(0, len(started) - 1)

        with ThreadPoolExecutor(workers) as pool:
            for future in as_completed([pool.submit(grade_here, batch) for batch in batches]):
                collect(*future.result())
    return {student: results[student]["status"] for student in students}


def _write(course, assignment, batch_result, recorded):
    """The single writer: grades into the class's gradebook, autograded notebooks into autograded/."""
    gradebook.import_submissions(course, assignment, {s: r["grades"] for s, r in batch_result.items()}, recorded)
    for student, result in batch_result.items():
        target = course.autograded / student / assignment
        if target.exists():
            shutil.rmtree(target)
        unpack(result["autograded"], target)
