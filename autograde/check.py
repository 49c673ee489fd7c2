"""Grade submissions whose right scores are known, and report every difference.

False negative: a test cell earned less than it should (a right answer lost points).
False positive: a test cell earned more than it should (a wrong answer got points).
Submissions are split across worker courses, each with its own gradebook, so nbgrader
processes run in parallel without sharing a SQLite file.
"""
import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import gradebook, grading, sandbox, submissions
from .course import Course, scratch_course
from .errors import AutogradeError
from .reports import format_table


def _collect(course, assignment, cases, folder, into):
    """{student: expected info}, with each submission laid out under into/<student>/."""
    expected = {}
    if cases is not None:
        for case in submissions.load_cases(cases):
            expected[case.name] = {"why": case.why,
                                   "scores": submissions.build(course, assignment, case, into / case.name)}
        return expected
    folder = Path(folder)
    if not folder.is_dir():
        raise AutogradeError(f"No folder {folder}.")
    for student in sorted(p for p in folder.iterdir() if p.is_dir()):
        spec = student / "expected.json"
        if not spec.is_file():
            raise AutogradeError(f"{student} has no expected.json stating the scores it must get.")
        try:
            expected[student.name] = json.loads(spec.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise AutogradeError(f"{spec} is not valid JSON: {err}.") from err
        shutil.copytree(student, into / student.name)
    if not expected:
        raise AutogradeError(f"No submissions in {folder}.")
    return expected


def _grade_shard(base, root, assignment, students, laid_out, options):
    shutil.copytree(base.root, root)
    course = Course(root)
    for student in students:
        shutil.copytree(laid_out / student, course.submitted / student)
    statuses = grading.main(course=course, assignment=assignment, **options)
    return gradebook.scores(course, assignment), statuses


def compare(expected, got):
    """Rows (student, grade_id, expected, got, verdict) for every difference."""
    rows = []
    for student, spec in sorted(expected.items()):
        scores = got.get(student, {})
        for grade_id, want in spec["scores"].items():
            have = scores.get(grade_id) or 0.0
            if abs(have - want) > 1e-9:
                verdict = "FALSE NEGATIVE" if have < want else "FALSE POSITIVE"
                rows.append([student, grade_id, f"{want:g}", f"{have:g}", verdict])
    return rows


def main(*, course, assignment, cases=None, submissions=None, workers=None, unsandboxed=False, cell_timeout=None,
         verbose=False):
    if (cases is None) == (submissions is None):
        raise AutogradeError("Give exactly one of --cases DIR or --submissions DIR.")
    sandbox.require(unsandboxed)
    workers = max(1, workers or os.cpu_count() or 1)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="autograde-check-") as tmp:
        tmp = Path(tmp)
        base = scratch_course(course, tmp / "base", assignment, verbose=verbose)
        expected = _collect(base, assignment, cases, submissions, tmp / "laid_out")
        students = sorted(expected)
        shards = [students[i::workers] for i in range(workers) if students[i::workers]]
        options = dict(unsandboxed=unsandboxed, cell_timeout=cell_timeout, verbose=verbose)
        with ThreadPoolExecutor(len(shards)) as pool:
            results = list(pool.map(lambda k: _grade_shard(base, tmp / f"worker{k}", assignment, shards[k],
                                                           tmp / "laid_out", options),
                                   range(len(shards))))
    got, statuses = {}, {}
    for scores, shard_statuses in results:
        got.update(scores)
        statuses.update(shard_statuses)
    rows = compare(expected, got)
    n_items = sum(len(spec["scores"]) for spec in expected.values())
    fn = sum(r[4] == "FALSE NEGATIVE" for r in rows)
    fp = len(rows) - fn
    if rows:
        print(format_table(["submission", "item", "expected", "got", "verdict"], rows))
        for student in sorted({r[0] for r in rows}):
            print(f"  {student}: {expected[student]['why']}")
    not_graded = {s: p for s, p in statuses.items() if p}
    if not_graded:
        print("not graded (recorded as 0): " + ", ".join(f"{s} ({p})" for s, p in sorted(not_graded.items())))
    print(f"submissions: {len(expected)}  items checked: {n_items}  "
          f"false negatives: {fn}  false positives: {fp}  ({time.monotonic() - started:.0f} s, {len(shards)} workers)")
    return 1 if rows else 0
