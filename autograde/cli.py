"""Command line of the course's grading tool: `python -m autograde COMMAND`.

Each command is one module's keyword-only main(); this file only declares them.
"""
import argparse
import sys
from pathlib import Path

from . import bench as bench_module
from . import check, collect_zip, demo, feedback, lms, release, reports, student_pack
from . import grade as grade_command
from .course import REPO_ROOT, Course
from .errors import AutogradeError


def parser():
    p = argparse.ArgumentParser(prog="python -m autograde", description="Release and grade the course's assignment.")
    p.add_argument("--course", type=Path, default=REPO_ROOT, help="course folder (default: this repository)")
    p.add_argument("-v", "--verbose", action="store_true", help="show nbgrader's log and tracebacks")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def timeout_option(cmd):
        cmd.add_argument("--cell-timeout", type=int, metavar="SECONDS",
                         help="per-cell time limit (default: c.Execute.timeout in nbgrader_config.py)")

    def command(name, func, help_text):
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.add_argument("assignment", nargs="?", default="autograd", help="assignment id (default: autograd)")
        cmd.set_defaults(func=func)
        return cmd

    command("release", release.main, "generate release/ from source/ (nbgrader generate_assignment)")
    grade = command("grade", grade_command.main, "autograde new or changed submissions in submitted/ and write reports/")
    grade.add_argument("--student", help="grade only this student (whether or not the submission changed)")
    grade.add_argument("--all", dest="regrade_all", action="store_true",
                       help="regrade every submission (default: only new or changed ones)")
    grade.add_argument("--workers", type=int, help="parallel nbgrader processes (default: the machine's cores)")
    grade.add_argument("--cluster", metavar="tcp://HOST:PORT", help="send the work to this Dask scheduler")
    grade.add_argument("--unsandboxed", action="store_true",
                       help="grade without bubblewrap: student code runs with your rights (trusted code only)")
    timeout_option(grade)
    command("feedback", feedback.main, "write feedback HTML for graded submissions")
    command("report", reports.main, "write reports/ (grades table, Canvas and Moodle imports) and print a summary")
    roster = sub.add_parser("roster", help="put the class roster (CSV: 学号, 姓名, email) into the gradebook",
                            description="put the class roster (CSV: 学号, 姓名, email) into the gradebook")
    roster.add_argument("roster", type=Path, metavar="FILE.csv")
    roster.set_defaults(func=lms.main)
    collect = sub.add_parser("collect-zip", help="put a Canvas or Moodle submissions download into submitted/",
                             description=collect_zip.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    collect.add_argument("zip_file", type=Path, metavar="FILE.zip")
    collect.add_argument("assignment", nargs="?", default="autograd", help="assignment id (default: autograd)")
    collect.set_defaults(func=collect_zip.main)
    command("student-pack", student_pack.main, "zip the lessons, release/ and a student README into dist/")
    command("demo", demo.main, "release, then grade the bundled sample class in demo/")
    bench = command("bench", bench_module.main, "time plain nbgrader against this tool on a synthetic class")
    bench.add_argument("--students", type=int, default=120, help="class size (default: 120, about 10 minutes on 2 cores)")
    bench.add_argument("--workers", type=int, default=None, help="parallel workers (default: cores)")
    chk = command("check", check.main, "grade submissions with stated expected scores and report every difference")
    chk.add_argument("--cases", type=Path, help="folder of case files (*.toml) to build from the release")
    chk.add_argument("--submissions", dest="submissions_folder", type=Path,
                     help="folder of <student>/<assignment>/ with <student>/expected.json")
    chk.add_argument("--workers", type=int, default=None, help="parallel nbgrader processes (default: cores)")
    chk.add_argument("--unsandboxed", action="store_true", help="grade without bubblewrap (trusted code only)")
    timeout_option(chk)
    return p


def main(argv=None):
    args = vars(parser().parse_args(argv))
    func = args.pop("func")
    args.pop("command")
    verbose = args["verbose"]
    try:
        args["course"] = Course(args["course"].resolve())
        return func(**args) or 0
    except AutogradeError as err:
        if verbose:
            raise
        print(f"autograde: {err}" + (f"\n  hint: {err.hint}" if err.hint else ""), file=sys.stderr)
        return 1
    except KeyboardInterrupt as stop:
        done = f" ({stop})" if str(stop) else ""
        print(f"autograde: interrupted{done}; every grade recorded so far is kept. "
              "Run the same command again to finish.", file=sys.stderr)
        return 130
