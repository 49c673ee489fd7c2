"""Grade submissions whose right scores are known, and report every difference.

False negative: a test cell earned less than it should (a right answer lost points).
False positive: a test cell earned more than it should (a wrong answer got points).
The submissions are graded like a class (autograde.scheduler), in a scratch course.
"""
import json
import shutil
import time
from pathlib import Path

from . import gradebook, sandbox, scheduler, submission_files, submissions
from .course import scratch_course
from .errors import AutogradeError
from .grading import GradingOptions
from .reports import format_table
from .scratch import owned_tempdir


def _collect(course, assignment, cases, folder):
    """{student: expected}, with each submission laid out in course.submitted/<student>/."""
    expected = {}
    if cases is not None:
        for case in submissions.load_cases(cases):
            expected[case.name] = {"why": case.why,
                                   "scores": submissions.build(course, assignment, case, course.submitted / case.name)}
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
        shutil.copytree(student, course.submitted / student.name, symlinks=True)  # links are refused, never followed
    if not expected:
        raise AutogradeError(f"No submissions in {folder}.")
    return expected


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


def main(*, course, assignment, cases=None, submissions_folder=None, workers=None, unsandboxed=False, cell_timeout=None,
         verbose=False):
    if (cases is None) == (submissions_folder is None):
        raise AutogradeError("Give exactly one of --cases DIR or --submissions DIR.")
    sandbox.require(unsandboxed)
    started = time.monotonic()
    with owned_tempdir("autograde-check-") as tmp:
        scratch = scratch_course(course, Path(tmp) / "course", assignment, verbose=verbose)
        base = scheduler.pack(scratch.root)  # before any submission: the scratch course is the base
        expected = _collect(scratch, assignment, cases, submissions_folder)
        statuses = scheduler.grade_class(course=scratch, assignment=assignment, students=sorted(expected),
                                         workers=workers, base=base,
                                         options=GradingOptions(unsandboxed, cell_timeout, verbose))
        got = gradebook.scores(scratch, assignment)
        _, refused = submission_files.read_class(scratch, assignment, sorted(expected))
    rows = compare(expected, got)
    n_items = sum(len(spec["scores"]) for spec in expected.values())
    fn = sum(r[4] == "FALSE NEGATIVE" for r in rows)
    if rows:
        print(format_table(["submission", "item", "expected", "got", "verdict"], rows))
        for student in sorted({r[0] for r in rows}):
            print(f"  {student}: {expected[student]['why']}")
    not_graded = {s: p for s, p in statuses.items() if p}
    if not_graded:
        print("not graded (recorded as 0): " + ", ".join(f"{s} ({p})" for s, p in sorted(not_graded.items())))
    if refused:
        print("refused files: " + " | ".join(f"{s}: {submission_files.describe(r)}" for s, r in sorted(refused.items())))
    print(f"submissions: {len(expected)}  items checked: {n_items}  "
          f"false negatives: {fn}  false positives: {len(rows) - fn}  ({time.monotonic() - started:.0f} s)")
    return 1 if rows else 0
