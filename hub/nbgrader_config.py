"""nbgrader settings for everyone on the course's JupyterHub, students and graders alike.

hub/jupyterhub_config.py puts this folder on each user's JUPYTER_CONFIG_PATH, so every user's nbgrader
(the Assignment List in JupyterLab, `nbgrader fetch_assignment` in a terminal) reads it, as it would read
/etc/jupyter/nbgrader_config.py. The grader's course folder has its own nbgrader_config.py on top of it.
"""
import os

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

# The course the Assignment List shows, and the exchange folder shared by all users (mode 1777, like
# nbgrader's default /srv/nbgrader/exchange): release_assignment and collect on the grader's side,
# fetch and submit on the students'.
c.CourseDirectory.course_id = "d2l-autograd"
c.Exchange.root = os.environ.get("AUTOGRADE_EXCHANGE", "/srv/nbgrader/exchange")
