"""One status line a student after grading, telling the truth about the submission.

Read from the submission folder and the gradebook: not graded (and why), a notebook missing, a notebook
nbgrader did not grade because its name is not the assignment's (renamed), a file refused unread (a link, a
device or FIFO, a file that is not part of the assignment: autograde/submission_files.py), a
late submission, a grade made with an older release (stale). All but lateness need the instructor's eye,
and make `grade` exit with 3.
"""
from dataclasses import dataclass, field

from . import grades, incremental, submission_files


@dataclass
class Status:
    student: str
    problem: str = None  # why nbgrader could not grade it (recorded as 0)
    missing: list = field(default_factory=list)  # assignment notebooks not handed in
    refused: list = field(default_factory=list)  # files not read: a link, a special file, not part of the assignment
    hours_late: float = 0.0
    late_penalty: float = 0.0
    stale: list = field(default_factory=list)  # notebooks graded with a release that has changed since

    @property
    def needs_look(self):
        return bool(self.problem or self.missing or self.refused or self.stale)

    def line(self):
        parts = [f"未评分，记 0 分（{self.problem}）" if self.problem else "已评分"]
        if self.missing:
            parts.append("缺少 " + "、".join(f"{nb}.ipynb" for nb in self.missing) + "（记 0 分）")
        if self.refused:
            renamed = "（改名了？）" if self.missing else ""
            parts.append("未评分的文件 " + "、".join(self.refused) + renamed)
        if self.hours_late:
            parts.append(f"迟交 {self.hours_late:.1f} 小时，扣 {grades.number(self.late_penalty)} 分")
        if self.stale:
            parts.append("成绩已过期：" + "、".join(self.stale) + " 的评分单元格在评分后改过（重新评分："
                         + f"{incremental.REGRADE_HINT}）")
        return "；".join(parts)


WHY_ZH = {"a symbolic link": "符号链接", "not a regular file (a device, FIFO or socket)": "不是普通文件",
          "not part of the assignment": "不属于作业", "the submission folder is a symbolic link or not a folder":
          "提交文件夹是符号链接"}


def why_zh(why):
    return WHY_ZH.get(why, why)


def statuses(course, assignment, problems, stale=None):
    """{student: Status} for the students in problems ({student: None or why not graded})."""
    expected = course.source_notebooks(assignment)
    by_student = {g.student: g for g in grades.final_grades(course, assignment)}
    result = {}
    _, refusals = submission_files.read_class(course, assignment, list(problems))
    for student, problem in problems.items():
        refused = refusals.get(student, [])
        folder = course.submitted / student / assignment
        handed_in = sorted(p.name for p in folder.glob("*.ipynb") if not p.is_symlink()) if folder.is_dir() else []
        grade = by_student.get(student)
        result[student] = Status(
            student, problem,
            missing=[nb for nb in expected if f"{nb}.ipynb" not in handed_in],
            refused=[path if path.endswith(".ipynb") and why == "not part of the assignment"  # renamed?
                     else f"{path}（{why_zh(why)}）" for path, why in refused],
            hours_late=grade.seconds_late / 3600 if grade else 0.0,
            late_penalty=grade.late_penalty if grade else 0.0,
            stale=(stale or {}).get(student, []))
    return result


def print_statuses(found):
    """A line per student; then what the instructor should do about the ones that need a look."""
    for student, status in sorted(found.items()):
        print(f"  {student}: {status.line()}")
    look = [s for s in found.values() if s.needs_look]
    if any(s.problem for s in look):
        print(f"{sum(bool(s.problem) for s in look)} 份提交无法评分：看过之后用 --student 重新评分。")
    if look:
        print(f"{len(look)} 份提交需要教师查看（退出码 3）。")
    return 3 if look else 0
