"""JupyterHub for the course 自动微分: the school's Linux accounts log in with their own password, each
gets JupyterLab with nbgrader's Assignment List, and everyone shares one nbgrader exchange.

Run as root, from a folder where the Hub may keep its state (jupyterhub.sqlite, the cookie secret):

    cd /srv/jupyterhub && /path/to/course/.venv/bin/jupyterhub -f /path/to/course/hub/jupyterhub_config.py

tests/e2e/test_jupyterhub.py starts the Hub with this very file (only its ports are given on the command line).
"""
import grp
import os
import pwd
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (injected by traitlets when jupyterhub loads this file)

HUB = Path(__file__).resolve().parent

# Who logs in: local accounts with their system password (PAM), members of one of these Unix groups.
# nbgrader's exchange knows students by their login name, so the Hub's users are the Unix users.
GRADERS = "d2l-graders"
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {"d2l-students", GRADERS}

# Loopback only: put the school's HTTPS reverse proxy (nginx, Apache) in front, or set ip, ssl_cert, ssl_key.
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = 8000
# The proxy from npm, pinned in hub/package.json and installed by `npm ci --prefix hub` (make test does it).
c.ConfigurableHTTPProxy.command = [str(HUB / "node_modules" / ".bin" / "configurable-http-proxy")]

# Each user's JupyterLab runs as that user, in their home, from the course's environment (with nbgrader's
# Assignment List); its bin/ goes first on PATH, so that terminals find nbgrader and python -m autograde.
BIN = Path(sys.executable).parent
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",
    # Every user's nbgrader reads hub/nbgrader_config.py (exchange folder, course id), as it would read
    # /etc/jupyter/nbgrader_config.py: the Hub-wide nbgrader config lives beside this file.
    "JUPYTER_CONFIG_PATH": str(HUB),
    # The shared exchange folder (hub/nbgrader_config.py reads it; the tests set a temporary one).
    "AUTOGRADE_EXCHANGE": os.environ.get("AUTOGRADE_EXCHANGE", "/srv/nbgrader/exchange"),
}


def graders_get_the_gradebook(spawner):
    """Several graders, one gradebook: AUTOGRADE_DB_URL (set where the Hub starts, e.g. PostgreSQL's URL) goes to
    the graders' JupyterLab only (their terminals and Formgrader); students' environments never hold it."""
    db_url = os.environ.get("AUTOGRADE_DB_URL")
    user = pwd.getpwnam(spawner.user.name)
    if db_url and grp.getgrnam(GRADERS).gr_gid in os.getgrouplist(user.pw_name, user.pw_gid):
        spawner.environment = {**spawner.environment, "AUTOGRADE_DB_URL": db_url}


c.Spawner.pre_spawn_hook = graders_get_the_gradebook
