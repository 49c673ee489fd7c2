"""One batch of submissions, graded in a process of its own: `python -m autograde.batch`.

grade_batch() (run by a worker thread of the grading command, or by a Dask worker) starts that process,
writes the batch to its stdin as one JSON line (the course's files and the submissions, as data), and
reads one JSON line per graded submission from it: its status, its grades as plain data and its
autograded files. The process grades in a private copy of the course with its own SQLite gradebook
(autograde/grading.py), so workers never share a database.

Lifeline: the process keeps reading its stdin after the batch, and ends as soon as it closes, that is as
soon as the grading command ends, however it ends (Ctrl-C, an error, SIGKILL). Its kernel server and its
temporary folders go with it (autograde/sandbox.py, autograde/scratch.py).
"""
import base64
import collections
import datetime
import json
import os
import subprocess
import sys
import threading
from dataclasses import asdict

from .course import with_repo
from .errors import AutogradeError
from .scratch import wait_for_lifeline


def _encode(files):
    return {path: base64.b64encode(data).decode("ascii") for path, data in files.items()}


def _decode(files):
    return {path: base64.b64decode(data) for path, data in files.items()}


def grade_batch(course_files, assignment, submissions, options, on_graded=None, started=None, recorded=None):
    """Grade submissions ({student: {relative path: bytes}}) in a batch process. Returns
    {student: {"status", "grades", "autograded"}}; on_graded(student, result) is called as each one is done.

    started(process), if given, is called with the batch process as soon as it runs (to stop it early).
    recorded: what the class's gradebook holds for them (gradebook.export_submissions), so that nbgrader
    grades on top of it as it would in place (manual grades and extra credit count in a late penalty)."""
    env = {**os.environ, "PYTHONPATH": with_repo(os.environ.get("PYTHONPATH"))}
    verbose = options.verbose
    process = subprocess.Popen([sys.executable, "-m", "autograde.batch"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=None if verbose else subprocess.PIPE,
                               env=env, start_new_session=True)
    if started:
        started(process)
    log = collections.deque(maxlen=40)  # the end of the process's log, for an error message
    if not verbose:
        threading.Thread(target=lambda: log.extend(line.decode(errors="replace") for line in process.stderr),
                         daemon=True).start()
    results = {}
    try:
        batch = {"course_files": _encode(course_files), "assignment": assignment, "options": asdict(options),
                 "submissions": {student: _encode(files) for student, files in submissions.items()},
                 "recorded": recorded or {}}
        process.stdin.write(json.dumps(batch, default=_plain).encode() + b"\n")
        process.stdin.flush()
        for line in process.stdout:
            message = json.loads(line, object_hook=_unplain)
            result = {"status": message["status"], "grades": message["grades"],
                      "autograded": _decode(message["autograded"])}
            results[message["student"]] = result
            if on_graded:
                on_graded(message["student"], result)
    except BrokenPipeError:
        pass  # the process ended early: said below
    finally:
        process.stdin.close()  # the lifeline: the process ends now if it has not yet
        process.wait()
    if len(results) < len(submissions):
        if process.returncode < 0:
            raise AutogradeError(f"A grading process was stopped (signal {-process.returncode}).")
        raise AutogradeError("A grading process failed: " + ("".join(log).strip().splitlines() or ["no log"])[-1],
                             hint="Run again with -v to see its log.")
    return results


def _plain(value):
    """JSON for the gradebook's dates and durations."""
    if isinstance(value, datetime.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {"__timedelta__": value.total_seconds()}
    raise TypeError(f"{type(value).__name__} is not plain data")


def _unplain(obj):
    if "__datetime__" in obj:
        return datetime.datetime.fromisoformat(obj["__datetime__"])
    if "__timedelta__" in obj:
        return datetime.timedelta(seconds=obj["__timedelta__"])
    return obj


def _watch_lifeline():
    wait_for_lifeline()
    os._exit(1)  # the grading command ended: end this batch now (the sandbox and folders go with it)


def main():
    from pathlib import Path

    from . import gradebook, grading, scheduler
    from .course import own_gradebook
    from .scratch import owned_tempdir

    results = os.fdopen(os.dup(1), "wb")  # results only: anything else written to stdout goes to stderr
    os.dup2(2, 1)
    batch = json.loads(sys.stdin.buffer.readline(), object_hook=_unplain)
    threading.Thread(target=_watch_lifeline, daemon=True).start()
    assignment, options = batch["assignment"], grading.GradingOptions(**batch["options"])
    with owned_tempdir("autograde-batch-") as tmp:
        scheduler.unpack(_decode(batch["course_files"]), tmp)
        for student, files in batch["submissions"].items():
            folder = Path(tmp) / "submitted" / student / assignment
            folder.mkdir(parents=True)  # even if every file was refused: nbgrader then grades it as empty
            scheduler.unpack(_decode(files), folder)
        course = own_gradebook(tmp)
        recorded = {student: data for student, data in batch["recorded"].items() if data}
        if recorded:
            gradebook.import_submissions(course, assignment, recorded)

        def send(student, status):
            folder = course.autograded / student / assignment
            message = {"student": student, "status": status,
                       "grades": gradebook.export_submission(course, assignment, student),
                       "autograded": _encode(scheduler.pack(folder)) if folder.is_dir() else {}}
            results.write(json.dumps(message, default=_plain).encode() + b"\n")
            results.flush()

        grading.grade_here(course=course, assignment=assignment, students=list(batch["submissions"]),
                           options=options, on_graded=send)


if __name__ == "__main__":
    main()
