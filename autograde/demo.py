"""The instructor's main job, end to end, on the bundled sample class.

Generates release/ from source/ in the course, then grades the sample class in a
separate course folder (demo/, out of git) so that a real class's gradebook is never
touched: autograde, feedback, grades table, summary.
"""
from pathlib import Path

from . import feedback, release, reports, sandbox, scheduler, status, submissions
from .course import scratch_course
from .grading import GradingOptions

SAMPLE_CLASS = Path(__file__).resolve().parent / "sample_class"


def main(*, course, assignment, verbose=False):
    print("1/5 生成学生版（release）…")
    release.main(course=course, assignment=assignment, verbose=verbose)
    print("2/5 准备示例班级…")
    demo = scratch_course(course, course.root / "demo", assignment, verbose=verbose)
    with open(demo.root / "nbgrader_config.py", "a", encoding="utf-8") as config:  # for Formgrader in demo/ too
        config.write(f"\n# demo/ is a course of its own, with its own gradebook whatever AUTOGRADE_DB_URL says.\n"
                     f"c.CourseDirectory.db_url = {demo.db_url!r}\n")
    for case in submissions.load_cases(SAMPLE_CLASS):
        submissions.build(demo, assignment, case, demo.submitted / case.name)
        print(f"    {case.name}: {case.why}")
    reason = sandbox.problem()
    print("3/5 自动评分（nbgrader autograde）" + ("，每个内核都在沙箱里…" if reason is None else "…"))
    if reason:  # the sample class is trusted code; a real class is not graded without the sandbox
        print(f"    注意：沙箱不可用（{reason}），示例班级在沙箱外评分。{sandbox.INSTALL_HINT}")
    statuses = scheduler.grade_class(course=demo, assignment=assignment, students=demo.students(assignment),
                                     options=GradingOptions(unsandboxed=reason is not None, verbose=verbose))
    status.print_statuses(status.statuses(demo, assignment, statuses))
    print("4/5 生成反馈（nbgrader generate_feedback）…")
    feedback.main(course=demo, assignment=assignment, verbose=verbose)
    print("5/5 成绩表\n")
    reports.main(course=demo, assignment=assignment, verbose=verbose)
    print(f"\nEverything the demo wrote is in {demo.root.relative_to(course.root)}/ (delete it with `make clean`).")
