"""The GitHub Actions workflow is a thin call of .ci/run, which runs the README's commands (test_repository)."""
import re

import yaml

from conftest import REPO


def test_github_workflow_runs_ci_run_and_nothing_else():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    runs = [step["run"] for step in job["steps"] if "run" in step]
    uses = [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]
    assert uses == ["actions/checkout", "actions/setup-python"]
    assert len(runs) == 1 and re.fullmatch(r'sudo env( "\w+=\$\w+")* \.ci/run', runs[0]), runs
    python = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"  # what the Makefile's venv asks for
    assert {"push", "pull_request"} <= set(workflow[True] if True in workflow else workflow["on"])


def test_ci_run_is_executable():
    import os

    assert os.access(REPO / ".ci" / "run", os.X_OK)
