"""`python -m autograde grade`: grade new or changed submissions, write the reports, print a status a student.

Exit code 3 when some submission needs the instructor's eye (autograde/status.py says which).
"""
from . import grading, incremental, reports, sandbox, scheduler, status


def main(*, course, assignment, student=None, regrade_all=False, workers=None, cluster=None, unsandboxed=False,
           cell_timeout=None, verbose=False):
    students = grading.students_to_grade(course, assignment, student)
    todo = incremental.plan(course, assignment, students, regrade_all=regrade_all or student is not None)
    if todo.unchanged:
        print(f"{len(todo.unchanged)} 份提交自上次评分后没有改动，这次不评（全部重新评分：--all）。")
    statuses = {}
    if todo.to_grade:
        try:
            statuses = scheduler.grade_class(course=course, assignment=assignment, students=todo.to_grade,
                                             workers=workers, cluster=cluster,
                                             options=grading.GradingOptions(unsandboxed, cell_timeout, verbose))
        except scheduler.Interrupted as stop:  # Ctrl-C: the next run grades only what is left
            incremental.record(course, assignment, todo, stop.statuses)
            raise
        incremental.record(course, assignment, todo, statuses)
    reports.main(course=course, assignment=assignment, verbose=verbose)
    stale = incremental.stale(course, assignment)
    shown = {**incremental.previous_problems(course, assignment, todo.unchanged),
             **{s: None for s in stale if s in todo.unchanged}, **statuses}
    exit_code = status.print_statuses(status.statuses(course, assignment, shown, stale))
    reason = sandbox.problem() if unsandboxed else None
    if reason and statuses:
        print(f"All {len(statuses)} submission(s) ran WITHOUT the sandbox ({reason}), as --unsandboxed asked.")
    return exit_code  # 3: the instructor must look at some submissions
