"""A grader's ~/.jupyter/nbgrader_config.py on the course's JupyterHub: copy it there.

The grader's JupyterLab starts in their home, so nbgrader's Formgrader would not know where the course is;
this loads the course's own nbgrader_config.py from ~/course (the grader's clone of the course), and with it
the course root, the gradebook and the sandboxed grading, for the Formgrader and every nbgrader command.
"""
import os

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)
load_subconfig(os.path.expanduser("~/course/nbgrader_config.py"))  # noqa: F821  (injected too)
