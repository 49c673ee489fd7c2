"""The final grade, defined once, as Formgrader shows it and `nbgrader export` writes it.

Per notebook and in total: auto + manual + extra credit − late penalty (never below 0), out of the
notebook's or assignment's max (auto-graded and hand-graded points alike). A manual score replaces the
auto score of its cell, as in nbgrader. Every roster student is listed; one without a submission scores
0 and is marked as not submitted. Reports, the terminal table and the LMS exports all read this.
"""
from dataclasses import dataclass, field

from . import gradebook

ENCODING = "utf-8-sig"  # UTF-8 with a BOM: what Excel on Windows needs to read the Chinese of a CSV


@dataclass(frozen=True)
class NotebookGrade:
    name: str
    max_score: float
    auto: float = 0.0
    manual: float = 0.0
    extra_credit: float = 0.0
    late_penalty: float = 0.0

    @property
    def raw(self):
        return self.auto + self.manual + self.extra_credit

    @property
    def final(self):
        return max(0.0, self.raw - self.late_penalty)


@dataclass(frozen=True)
class StudentGrade:
    student: str
    name: str
    email: str
    submitted: bool
    timestamp: object  # datetime or None
    seconds_late: float
    notebooks: list
    items: dict = field(default_factory=dict)  # grade_id -> score (None: written answer not graded yet)
    pending: list = field(default_factory=list)  # (notebook, grade_id) waiting for a grader

    max_score = property(lambda self: sum(nb.max_score for nb in self.notebooks))
    raw = property(lambda self: sum(nb.raw for nb in self.notebooks))
    late_penalty = property(lambda self: sum(nb.late_penalty for nb in self.notebooks))
    # nbgrader export: max(0, submission score − its late penalties), not the sum of clipped notebooks
    final = property(lambda self: max(0.0, self.raw - self.late_penalty))


def display_name(student):
    """姓名 as the roster gave it (kept in last_name), or nbgrader's first/last name joined."""
    return "".join(filter(None, [student.last_name, student.first_name]))


def _notebook_grade(notebook, max_score):
    auto = manual = extra = 0.0
    for grade in notebook.grades:
        if grade.manual_score is not None:
            manual += grade.manual_score
        elif grade.auto_score is not None:
            auto += grade.auto_score
        extra += grade.extra_credit or 0.0
    return NotebookGrade(notebook.name, max_score, auto, manual, extra, notebook.late_submission_penalty or 0.0)


def final_grades(course, assignment):
    """A StudentGrade for every student in the gradebook (roster or submission), by student id."""
    from nbgrader.api import MissingEntry

    with gradebook.connect(course) as gb:
        found = gb.find_assignment(assignment)
        maxima = {nb.name: float(nb.max_score) for nb in found.notebooks}
        result = []
        for student in sorted(gb.students, key=lambda s: s.id):
            try:
                submission = gb.find_submission(assignment, student.id)
            except MissingEntry:
                result.append(StudentGrade(student.id, display_name(student), student.email or "", False, None, 0.0,
                                           [NotebookGrade(name, top) for name, top in maxima.items()]))
                continue
            by_name = {nb.name: nb for nb in submission.notebooks}
            grades = [g for name in maxima for g in by_name[name].grades]
            result.append(StudentGrade(
                student.id, display_name(student), student.email or "", True, submission.timestamp,
                submission.total_seconds_late, [_notebook_grade(by_name[name], top) for name, top in maxima.items()],
                items={g.name: None if g.auto_score is None and g.manual_score is None else g.score for g in grades},
                pending=[(g.notebook.name, g.name) for g in grades if g.needs_manual_grade]))
        return result


def number(value):
    """A score as people write it: 39, 20.5."""
    return f"{value:g}"
