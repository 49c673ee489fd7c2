"""Incremental grading: grade new or changed submissions only, and notice grades a re-release made stale.

After a run, each graded submission is recorded in .autograde/<assignment>-graded.json (next to the
gradebook; out of git) with
  - the hash of its files (notebooks, timestamp.txt, anything handed in), so a resubmission is regraded;
  - per notebook, the fingerprint of what graded it: the graded cells as the gradebook holds them
    (name, points, source, hidden tests included) and the assignment's other source files (the check
    module). A release that changes a test or its points changes the fingerprint, and the grades made
    with the old one are stale: the status line and the report say so, and `--all` regrades.
A submission the gradebook does not have (a new gradebook, say) is graded again whatever the record says.
"""
import fnmatch
import hashlib
import json
from dataclasses import dataclass

from . import gradebook


def _state_path(course, assignment):
    return course.root / ".autograde" / f"{assignment}-graded.json"


def _load(course, assignment):
    path = _state_path(course, assignment)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # an unreadable record only costs a full regrade


def submission_hash(course, assignment, student):
    """sha256 of every file of the submission (paths and contents), but what nbgrader ignores."""
    ignore = course.config().CourseDirectory.ignore
    folder = course.submitted / student / assignment
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        if any(fnmatch.fnmatch(part, pattern) for part in relative.parts for pattern in ignore):
            continue
        digest.update(str(relative).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def release_fingerprints(course, assignment):
    """{notebook: hash of what grades it}: its graded cells in the gradebook and the other source files."""
    structure = gradebook.export_assignment(course, assignment)
    support = hashlib.sha256()
    folder = course.source / assignment
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".ipynb"
                       and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts):
        support.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    result = {}
    for nb in structure["notebooks"]:
        sources = {c["name"]: c["source"] for c in nb["source_cells"]}
        graded = sorted((c["name"], float(c["max_score"]), c["cell_type"], sources.get(c["name"]))
                        for c in nb["grade_cells"])
        result[nb["name"]] = hashlib.sha256(json.dumps([graded, support.hexdigest()]).encode()).hexdigest()
    return result


@dataclass
class Plan:
    to_grade: list  # students to grade this run
    unchanged: list  # students graded before with these very files
    hashes: dict  # student -> submission hash, taken before grading


def plan(course, assignment, students, regrade_all=False):
    """Which of these students need grading: new or changed submissions, or all of them."""
    record = _load(course, assignment)
    recorded = gradebook.graded_students(course, assignment)
    hashes = {s: submission_hash(course, assignment, s) for s in students}
    unchanged = [] if regrade_all else [s for s in students if s in recorded and record.get(s, {}).get("hash") == hashes[s]]
    return Plan([s for s in students if s not in unchanged], unchanged, hashes)


def record(course, assignment, done, statuses):
    """Remember what graded these students ({student: problem or None}) and the files they were graded from."""
    state = _load(course, assignment)
    fingerprints = release_fingerprints(course, assignment)
    for student, problem in statuses.items():
        state[student] = {"hash": done.hashes[student], "release": fingerprints, "problem": problem}
    path = _state_path(course, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def previous_problems(course, assignment, students):
    """{student: why nbgrader could not grade it last time}, for unchanged submissions that failed then."""
    state = _load(course, assignment)
    return {s: state[s]["problem"] for s in students if state.get(s, {}).get("problem")}


def stale(course, assignment):
    """{student: [notebooks graded with a release that has changed since]}."""
    from nbgrader.api import MissingEntry

    state = _load(course, assignment)
    if not state:
        return {}
    try:
        now = release_fingerprints(course, assignment)
    except MissingEntry:  # a gradebook without the assignment holds no grade to be stale
        return {}
    result = {}
    for student, seen in state.items():
        changed = [nb for nb, fingerprint in now.items() if seen.get("release", {}).get(nb) != fingerprint]
        if changed:
            result[student] = changed
    return result


REGRADE_HINT = "python -m autograde grade --all"
