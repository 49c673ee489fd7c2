"""The class roster in from a CSV, and final grades out to an LMS (Canvas, Moodle).

Roster (`python -m autograde roster FILE.csv`): UTF-8 (a BOM is fine, as Excel writes it), a header row
with the columns 学号, 姓名, email (others are ignored), a row a student. Each student is created or updated
in the gradebook (姓名 goes into nbgrader's last_name, which Formgrader shows; first_name is left empty).

Both exports hold every roster student, with the final grade of autograde/grades.py (0 without a
submission, as `nbgrader export` writes it), UTF-8 with a BOM:

- Canvas (reports/<assignment>-canvas.csv), for Grades → Import: the columns Canvas's own gradebook export
  has, `Student, ID, SIS User ID, SIS Login ID, Section`, then one column named after the assignment. Canvas
  matches a row by ID (its own user id, left empty here), else by SIS User ID (the 学号 here), else SIS Login ID
  (the email here). The second row, `Points Possible`, gives the assignment's max; a column Canvas does not
  know yet becomes a new assignment.
- Moodle (reports/<assignment>-moodle.csv), for Grades → Import → CSV file: `ID number, Email address, Full
  name`, then the assignment. On the import page map "ID number" to the user field idnumber (or "Email
  address" to email) and the assignment column to the grade item; unmapped columns are ignored.
"""
import csv

from . import gradebook, grades
from .errors import AutogradeError
from .grades import ENCODING

ROSTER_COLUMNS = ("学号", "姓名", "email")
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["ID number", "Email address", "Full name"]


def read_roster(path):
    """[(学号, 姓名, email)] from the CSV; a clear error for a file that is not a roster."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
            header = rows and list(rows[0]) or []
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise AutogradeError(f"Cannot read the roster {path}: {err}.",
                             hint="Save it as CSV, UTF-8, with the columns 学号, 姓名, email.") from err
    missing = [c for c in ROSTER_COLUMNS if c not in header]
    if not rows or missing:
        raise AutogradeError(f"The roster {path} has no " + ("rows" if not rows else "column " + ", ".join(missing)) + ".",
                             hint="Its first row must name the columns 学号, 姓名, email.")
    students, seen = [], set()
    for number, row in enumerate(rows, start=2):
        student = (row["学号"] or "").strip()
        if not student or student in seen:
            raise AutogradeError(f"The roster {path}, line {number}: 学号 is " + ("empty." if not student else
                                 f"'{student}' a second time."))
        seen.add(student)
        students.append((student, (row["姓名"] or "").strip(), (row["email"] or "").strip()))
    return students


def import_roster(course, path):
    students = read_roster(path)
    with gradebook.connect(course) as gb:
        for student, name, email in students:
            gb.update_or_create_student(student, last_name=name or None, first_name=None, email=email or None)
    return students


def main(*, course, roster, verbose=False):
    """`python -m autograde roster FILE.csv`."""
    students = import_roster(course, roster)
    print(f"名单：{len(students)} 名学生已写入成绩库。")


def write_canvas_csv(course, assignment, everyone, path=None):
    path = path or course.reports / f"{assignment}-canvas.csv"
    top = everyone[0].max_score if everyone else 0.0
    with open(path, "w", newline="", encoding=ENCODING) as handle:
        writer = csv.writer(handle)
        writer.writerow(CANVAS_COLUMNS + [assignment])
        writer.writerow(["Points Possible", "", "", "", "", grades.number(top)])
        for g in everyone:
            writer.writerow([g.name or g.student, "", g.student, g.email, "", grades.number(g.final)])
    return path


def write_moodle_csv(course, assignment, everyone, path=None):
    path = path or course.reports / f"{assignment}-moodle.csv"
    with open(path, "w", newline="", encoding=ENCODING) as handle:
        writer = csv.writer(handle)
        writer.writerow(MOODLE_COLUMNS + [assignment])
        for g in everyone:
            writer.writerow([g.student, g.email, g.name, grades.number(g.final)])
    return path


def write_exports(course, assignment):
    """Both LMS files; returns their paths."""
    everyone = grades.final_grades(course, assignment)
    course.reports.mkdir(parents=True, exist_ok=True)
    return write_canvas_csv(course, assignment, everyone), write_moodle_csv(course, assignment, everyone)
