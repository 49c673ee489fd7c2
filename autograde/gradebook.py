"""Read what nbgrader recorded: the assignment's graded items and each student's scores."""
from dataclasses import dataclass

from .errors import AutogradeError


@dataclass(frozen=True)
class Item:
    """One graded cell: a hidden/visible test cell (auto) or an answer graded by hand (manual: text or code)."""

    notebook: str
    grade_id: str
    max_score: float
    auto: bool


def course_settings(course):
    """(db_url, course_id) exactly as nbgrader reads them from the course's nbgrader_config.py."""
    config = course.config()
    return config.CourseDirectory.db_url, config.CourseDirectory.course_id


def schema_version():
    """The gradebook schema's version (alembic head) of the installed nbgrader."""
    import os

    import nbgrader
    from alembic.script import ScriptDirectory

    return ScriptDirectory(os.path.join(os.path.dirname(nbgrader.__file__), "alembic")).get_current_head()


def _open(course):
    import warnings

    import nbgrader.api  # slow import, only where a gradebook is read
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's own autoflush noise
    # Creating a gradebook, nbgrader asks the `alembic` command (a new Python process, ~2 s) for the
    # schema version; alembic's API gives the same answer here (tests/grading/test_grading.py compares them).
    nbgrader.api.get_alembic_version = schema_version
    Gradebook = nbgrader.api.Gradebook
    db_url, course_id = course_settings(course)
    try:
        return Gradebook(db_url, course_id)
    except Exception as err:  # noqa: BLE001  sqlalchemy raises many kinds
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise AutogradeError(f"Cannot open the gradebook at {db_url}: {first_line}.",
                             hint="Is the file a gradebook? Move a corrupt one aside and grade again.") from err


def connect(course):
    """The course's nbgrader Gradebook, to use as a context manager."""
    return _open(course)


def items(course, assignment):
    """The assignment's graded items, in notebook order."""
    from nbgrader.api import MissingEntry

    with _open(course) as gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            raise AutogradeError(f"The gradebook has no assignment '{assignment}'.",
                                 hint="Run `python -m autograde release` first.") from None
        # a graded code cell is auto-graded unless it is also an answer (solution) cell: then a grader scores it
        return [Item(nb.name, cell.name, float(cell.max_score),
                     cell.cell_type == "code" and cell.name not in {s.name for s in nb.solution_cells})
                for nb in found.notebooks for cell in nb.grade_cells]


def scores(course, assignment):
    """{student: {grade_id: score}} for every graded submission; a manual item not yet graded is None."""
    with _open(course) as gb:
        result = {}
        for submission in gb.assignment_submissions(assignment):
            result[submission.student_id] = {
                grade.name: grade.score if (grade.auto_score is not None or grade.manual_score is not None) else None
                for notebook in submission.notebooks for grade in notebook.grades
            }
        return result


def graded_students(course, assignment):
    """The students the gradebook has a submission of this assignment from (none if it lacks the assignment)."""
    from nbgrader.api import MissingEntry

    with _open(course) as gb:
        try:
            return {s.student_id for s in gb.assignment_submissions(assignment)}
        except MissingEntry:
            return set()


def export_assignment(course, assignment):
    """The assignment as nbgrader's gradebook knows it (notebooks and their cells), as plain data: all a
    gradebook needs to autograde submissions of it, without any student or grade."""
    with _open(course) as gb:
        found = gb.find_assignment(assignment)
        return {"duedate": found.duedate, "notebooks": [{
            "name": nb.name, "kernelspec": nb.kernelspec,
            "grade_cells": [{"name": c.name, "max_score": c.max_score, "cell_type": c.cell_type} for c in nb.grade_cells],
            "task_cells": [{"name": c.name, "max_score": c.max_score, "cell_type": c.cell_type} for c in nb.task_cells],
            "solution_cells": [{"name": c.name} for c in nb.solution_cells],
            "source_cells": [{"name": c.name, "cell_type": c.cell_type, "locked": c.locked, "source": c.source,
                              "checksum": c.checksum} for c in nb.source_cells],
        } for nb in found.notebooks]}


def import_assignment(course, assignment, exported):
    """Record export_assignment(...) in this course's gradebook (what generate_assignment would record)."""
    with _open(course) as gb:
        gb.update_or_create_assignment(assignment, duedate=exported["duedate"])
        for nb in exported["notebooks"]:
            gb.update_or_create_notebook(nb["name"], assignment, kernelspec=nb["kernelspec"])
            for kind in ("grade_cells", "task_cells", "solution_cells", "source_cells"):
                create = getattr(gb, f"update_or_create_{kind[:-1]}")
                for cell in nb[kind]:
                    create(cell["name"], nb["name"], assignment, **{k: v for k, v in cell.items() if k != "name"})


def zero_auto_scores(course, assignment, student):
    """Record 0 for every auto-graded cell of a submission that could not be graded (none stays stale)."""
    from nbgrader.api import MissingEntry

    with _open(course) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:  # nbgrader stopped before it recorded the submission (e.g. no notebook)
            gb.update_or_create_student(student)
            submission = gb.update_or_create_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.cell.cell_type == "code":
                    grade.auto_score = 0.0
                    grade.needs_manual_grade = False
        gb.db.commit()


# The rows nbgrader keeps for one submission. Their columns are copied generically, all but the keys, so a
# column nbgrader records (late penalty, extension, flags, extra credit, comments, ...) is never left behind.
def _data_columns(model):
    return [c.key for c in model.__table__.columns if not c.primary_key and not c.foreign_keys]


def _row(row):
    return {key: getattr(row, key) for key in _data_columns(type(row))}


def _dump(submission):
    return {"values": _row(submission), "notebooks": {nb.name: {
        "values": _row(nb),
        "grades": {g.name: _row(g) for g in nb.grades},
        "comments": {c.name: _row(c) for c in nb.comments},
    } for nb in submission.notebooks}}


def export_submissions(course, assignment, students):
    """{student: every column nbgrader recorded for the submission, or None if there is none}, as plain data
    (to move it between gradebooks)."""
    from nbgrader.api import MissingEntry

    result = {}
    with _open(course) as gb:
        for student in students:
            try:
                result[student] = _dump(gb.find_submission(assignment, student))
            except MissingEntry:
                result[student] = None
    return result


def export_submission(course, assignment, student):
    return export_submissions(course, assignment, [student])[student]


def _merge(row, values, before):
    """Set the columns that changed since `before` (all of them if there was no before)."""
    for key, value in values.items():
        if before is None or before.get(key) != value:
            setattr(row, key, value)


def import_submissions(course, assignment, exported, before=None):
    """Write {student: export_submission(...)} into this course's gradebook, in one transaction.

    before: what this gradebook held when the submissions were sent to be graded ({student: export or None});
    then only the columns grading changed are written, so a manual grade, extra credit or extension entered in
    Formgrader meanwhile is kept. The only place parallel grading writes grades, so concurrent workers never
    share a database."""
    before = before or {}
    with _open(course) as gb:
        for student, data in exported.items():
            if data is None:
                continue
            gb.update_or_create_student(student)
            submission = gb.update_or_create_submission(assignment, student)
            prior = before.get(student) or {"values": None, "notebooks": {}}
            _merge(submission, data["values"], prior["values"])
            for notebook in submission.notebooks:
                recorded, earlier = data["notebooks"].get(notebook.name), prior["notebooks"].get(notebook.name)
                if recorded is None:
                    continue
                earlier = earlier or {"values": None, "grades": {}, "comments": {}}
                _merge(notebook, recorded["values"], earlier["values"])
                for kind, rows in (("grades", notebook.grades), ("comments", notebook.comments)):
                    for row in rows:
                        if row.name in recorded[kind]:
                            _merge(row, recorded[kind][row.name], earlier[kind].get(row.name))
        gb.db.commit()
