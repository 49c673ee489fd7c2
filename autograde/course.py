"""Where a course's folders are, and how nbgrader is run on them."""
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import AutogradeError

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Course:
    """A course folder in nbgrader's layout: nbgrader_config.py, source/, release/, submitted/, ..."""

    root: Path
    db_url: str = None  # the gradebook, overriding nbgrader_config.py's (a scratch course has its own)

    def __post_init__(self):
        if not (self.root / "nbgrader_config.py").is_file():
            raise AutogradeError(f"{self.root} is not a course folder: it has no nbgrader_config.py.",
                                 hint="Run from the repository root or pass --course DIR.")

    source = property(lambda self: self.root / "source")
    release = property(lambda self: self.root / "release")
    submitted = property(lambda self: self.root / "submitted")
    autograded = property(lambda self: self.root / "autograded")
    feedback = property(lambda self: self.root / "feedback")
    reports = property(lambda self: self.root / "reports")

    def config(self):
        """The course's nbgrader_config.py, loaded as nbgrader loads it."""
        from traitlets.config.loader import PyFileConfigLoader

        config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        if self.db_url:
            config.CourseDirectory.db_url = self.db_url
        return config

    def source_notebooks(self, assignment):
        """The assignment's notebook names (without .ipynb), in order."""
        folder = self.source / assignment
        if not folder.is_dir():
            raise AutogradeError(f"No assignment '{assignment}': {folder} does not exist.",
                                 hint=f"Assignments here: {', '.join(self.assignments()) or 'none'}.")
        return sorted(p.stem for p in folder.glob("*.ipynb"))

    def assignments(self):
        return sorted(p.name for p in self.source.iterdir() if p.is_dir()) if self.source.is_dir() else []

    def students(self, assignment):
        """Students with a submission folder for this assignment."""
        if not self.submitted.is_dir():
            return []
        return sorted(p.name for p in self.submitted.iterdir() if (p / assignment).is_dir())


def with_repo(pythonpath):
    """A PYTHONPATH that also finds this repository's autograde package (for nbgrader and kernel launchers)."""
    return os.pathsep.join(filter(None, [str(REPO_ROOT), pythonpath]))


def nbgrader(course, *args, env=None, verbose=False, on_line=None):
    """Run one nbgrader command in the course root; its log is returned, or raised as an AutogradeError.

    on_line, if given, sees each line of the log as nbgrader writes it."""
    env = {**os.environ, **(env or {})}
    bin_dir = str(Path(sys.executable).parent)  # nbgrader calls `alembic` by name when it creates a gradebook
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = with_repo(env.get("PYTHONPATH"))
    if course.db_url:
        args = (*args, f"--CourseDirectory.db_url={course.db_url}")
    lines = []
    with subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=course.root, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, errors="replace") as process:
        for line in process.stdout:
            lines.append(line)
            if on_line:
                on_line(line)
    log = "".join(lines)
    if verbose:
        sys.stderr.write(log)
    if process.returncode != 0:
        raise AutogradeError(f"nbgrader {args[0]} failed: {_cause(log)}",
                             hint="Run again with -v to see nbgrader's log.", log=log)
    return log


def _cause(log):
    """The most telling line of a failed nbgrader run: its last exception, else its last specific error."""
    lines = log.splitlines()
    exceptions = [l for l in lines if re.match(r"^\s*[A-Za-z_][\w.]*(Error|Exception): ", l)]
    errors = [l.split("]", 1)[-1] for l in lines if "| ERROR]" in l
              and "see the the above traceback" not in l and "There was an error processing" not in l]
    cause = (exceptions or errors or lines[-1:] or ["no output"])[-1].strip()
    return cause[:300] + ("…" if len(cause) > 300 else "")


def own_gradebook(root):
    """The course in root with a SQLite gradebook of its own, whatever the class's config points at (say, the
    class's PostgreSQL gradebook through AUTOGRADE_DB_URL): for scratch courses, batches and the demo."""
    return Course(Path(root), db_url=f"sqlite:///{Path(root) / 'gradebook.db'}")


def scratch_course(course, dest, assignment, verbose=False, generate=True):
    """A fresh course in dest with this course's config and one assignment's source; generate: released
    and recorded in its gradebook too (nbgrader generate_assignment)."""
    import shutil

    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "source").mkdir(parents=True)
    shutil.copy2(course.root / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(course.source / assignment, dest / "source" / assignment,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    scratch = own_gradebook(dest)
    if generate:
        nbgrader(scratch, "generate_assignment", assignment, "--force", verbose=verbose)
    return scratch
