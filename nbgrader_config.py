"""nbgrader settings for the course 自动微分 (d2l-zh 2.5).

nbgrader reads this file from the current directory; `python -m autograde`
and the Makefile always run nbgrader from the course root (or a copy of it).
"""
import os
from pathlib import Path

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

COURSE_ROOT = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "d2l-autograd"
# The course root is wherever this file lies, so a copy of the course (tests, CI) grades in its own folder.
c.CourseDirectory.root = str(COURSE_ROOT)
# Embedded SQLite by default; AUTOGRADE_DB_URL points nbgrader at another database (e.g. PostgreSQL).
c.CourseDirectory.db_url = os.environ.get("AUTOGRADE_DB_URL", f"sqlite:///{COURSE_ROOT / 'gradebook.db'}")
# nbgrader's exchange: release_assignment puts the student version here, students fetch it (JupyterLab's
# Assignment List on a JupyterHub, or `nbgrader fetch_assignment`) and submit into it, collect takes the
# submissions into submitted/. A folder every student and grader can reach: on a JupyterHub a shared one,
# nbgrader's default /srv/nbgrader/exchange. AUTOGRADE_EXCHANGE sets another (the tests use a temporary one).
c.Exchange.root = os.environ.get("AUTOGRADE_EXCHANGE", "/srv/nbgrader/exchange")
# Student folders hold notebooks and the check module only; ignore what editors and Python leave behind.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# What a blank answer cell holds in the release (student-facing, so in Chinese).
c.ClearSolutions.code_stub = {"python": "# 在此处写你的代码\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "在此处写你的回答"

# nbgrader's autograde steps, with its Execute replaced by the course's, whoever starts grading
# (`python -m autograde grade`, Formgrader's Autograde button, `nbgrader autograde`): every kernel runs in the
# course's sandbox, or not at all where bubblewrap cannot run (autograde/execute.py), and every auto-graded
# test cell runs in a checker kernel that never runs student code and reaches the student's functions only
# through a data-only channel (autograde/checker.py). The other steps are nbgrader 0.9.6's defaults.
c.Autograde.autograde_preprocessors = [
    "autograde.checker.CheckedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Output kept while grading, every output type together (stream, display_data, images, errors). This file is
# the one place for these values and the c.Limits ones below: the code has no defaults and refuses to grade without them.
c.GradingExecute.max_cell_output_bytes = 1_000_000
c.GradingExecute.max_notebook_output_bytes = 10_000_000

# Per-cell time limit while grading. A hidden-test cell calls the student's functions several
# times; 60 s is generous on 2 cores yet stops an infinite loop (the cell then scores 0).
c.Execute.timeout = 60
# A kernel that dies mid-notebook is not restarted: the remaining cells score 0.
c.Execute.execute_retries = 0

# Feedback: show each failing test's message, never the hidden tests' code or tracebacks
# that quote it (ClearHiddenTests runs on the autograded copy, which holds the hidden tests).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "autograde.feedback.ShortenTracebacks",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# Limits of each sandboxed grading kernel (autograde/sandbox.py reads them; every grading kernel runs
# under bubblewrap). A notebook over its wall time is killed and scores 0.
c.Limits.notebook_seconds = 300
c.Limits.memory_mb = 4096  # address space + the three scratch file systems; torch takes about 1.5 GB
c.Limits.scratch_mb = 128  # each of /tmp, /dev/shm and the working folder (in memory, counted above)
c.Limits.processes = 256  # processes and threads of the sandbox: the kernel server and the kernel it runs
# (as root, each sandbox runs as its own host uid, 61000-64999, so this limit is the sandbox's alone)
c.Limits.file_mb = 64
# Lines of stream output kept per cell (after the byte budgets above).
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
