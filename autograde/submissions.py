"""Build student submissions from the release by filling in answer cells.

A case is a TOML file (see tests/corpus/README.md):

    why = "what the student did, and why it earns this score"
    base = "solution"          # start from the source's solutions, or "blank" (the untouched release)
    notebooks = ["01_basics"]  # optional: the notebooks this submission holds (default: those `answers` touch)
    [answers]                  # grade_id of a cell -> what the student typed there
    grad_two_dot = '''
    def grad_two_dot(x): ...
    '''
    [expected]                 # grade_id of a test cell -> points it must earn
    grad_two_dot_test = 0

Test cells not named in [expected] must earn full points if the case is based on the
solution and holds their notebook, and 0 otherwise (or always 0 with unlisted = "zero").
Because cases are built from the release, they follow it when it changes.

For tampering, a case may also `delete` or `duplicate` cells (lists of grade ids), `rename`
notebooks ({"01_basics" = "01_Basics"}), write `raw_files` ({"01_basics.ipynb" = "{bad"}, or an
extra file such as {"autograd_checks/__init__.py" = "..."}), and make `symlinks`
({"01_basics.ipynb" = "../../../source/autograd/01_basics.ipynb"}: the link replaces what was there).
"""
import json
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

import nbformat

from .errors import AutogradeError

_SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


@dataclass
class Case:
    name: str
    why: str
    base: str = "solution"
    answers: dict = field(default_factory=dict)
    expected: dict = field(default_factory=dict)
    notebooks: list = field(default_factory=list)
    raw_files: dict = field(default_factory=dict)
    delete: list = field(default_factory=list)
    duplicate: list = field(default_factory=list)
    rename: dict = field(default_factory=dict)
    symlinks: dict = field(default_factory=dict)
    unlisted: str = "full"


def load_case(path):
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise AutogradeError(f"Cannot read case {path}: {err}.") from err
    allowed = {f.name for f in fields(Case)} - {"name"}
    if (set(data) - allowed or "why" not in data or data.get("base", "solution") not in ("solution", "blank")
            or data.get("unlisted", "full") not in ("full", "zero")):
        raise AutogradeError(f"Case {path} is malformed: it needs `why`, a `base` of solution or blank, an "
                             f"`unlisted` of full or zero, and no keys but {', '.join(sorted(allowed))}.")
    return Case(name=path.stem, **data)


def load_cases(folder):
    paths = sorted(Path(folder).glob("*.toml"))
    if not paths:
        raise AutogradeError(f"No cases (*.toml) in {folder}.")
    return [load_case(p) for p in paths]


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def solution_text(source_cell):
    """What a student who wrote the reference solution would have in the cell."""
    return _SOLUTION_MARKERS.sub("", source_cell.source).strip("\n")


def _notebooks_of(course, assignment):
    names = course.source_notebooks(assignment)
    return {name: (nbformat.read(course.source / assignment / f"{name}.ipynb", as_version=4),
                   nbformat.read(course.release / assignment / f"{name}.ipynb", as_version=4))
            for name in names}


def build(course, assignment, case, dest):
    """Write the case's notebooks to dest/<assignment>/ and its expected scores to dest/expected.json."""
    notebooks = _notebooks_of(course, assignment)
    owner = {_grade_id(c): name for name, (src, _) in notebooks.items() for c in src.cells if _grade_id(c)}
    named = list(case.answers) + list(case.expected) + case.delete + case.duplicate
    unknown = [gid for gid in named if gid not in owner] + [nb for nb in case.rename if nb not in notebooks]
    if unknown:
        raise AutogradeError(f"Case {case.name} names cells the assignment does not have: {', '.join(unknown)}.")
    held = case.notebooks or sorted({owner[gid] for gid in case.answers}) or sorted(notebooks)
    folder = Path(dest) / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name in held:
        source, release = notebooks[name]
        solutions = {_grade_id(c): solution_text(c) for c in source.cells
                     if c.metadata.get("nbgrader", {}).get("solution")}
        student = nbformat.from_dict(json.loads(json.dumps(release)))  # a deep copy
        cells = []
        for cell in student.cells:
            gid = _grade_id(cell)
            if gid in case.answers:
                cell.source = case.answers[gid].strip("\n")
            elif case.base == "solution" and gid in solutions:
                cell.source = solutions[gid]
            if gid not in case.delete:
                cells.append(cell)
            if gid in case.duplicate:
                copy = nbformat.from_dict(json.loads(json.dumps(cell)))
                copy.id = f"{cell.id}-copy"  # a notebook needs unique cell ids; the grade id stays duplicated
                cells.append(copy)
        student.cells = cells
        nbformat.write(student, folder / f"{case.rename.get(name, name)}.ipynb", version=4)
    for relpath, text in case.raw_files.items():  # e.g. a corrupt notebook, written as it is
        (folder / relpath).parent.mkdir(parents=True, exist_ok=True)
        (folder / relpath).write_text(text, encoding="utf-8")
    for relpath, target in case.symlinks.items():
        (folder / relpath).unlink(missing_ok=True)
        (folder / relpath).symlink_to(target)
    expected = expected_scores(case, course, assignment, held, notebooks)
    (Path(dest) / "expected.json").write_text(
        json.dumps({"why": case.why, "scores": expected}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return expected


def expected_scores(case, course, assignment, held, notebooks):
    """The exact score each auto-graded test cell must earn."""
    expected = {}
    for name, (source, _) in notebooks.items():
        for cell in source.cells:
            meta = cell.metadata.get("nbgrader", {})
            if not meta.get("grade") or meta.get("solution"):
                continue  # written answers are graded by hand
            graded_whole = case.base == "solution" and name in held and name not in case.rename
            full = float(meta["points"]) if graded_whole and case.unlisted == "full" else 0.0
            expected[meta["grade_id"]] = float(case.expected.get(meta["grade_id"], full))
    return expected

