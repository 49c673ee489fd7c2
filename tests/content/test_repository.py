"""What the repository promises about itself: clean notebooks, CI = README, no data in git."""
import json
import re
import subprocess

import pytest

from conftest import REPO

NOTEBOOKS = sorted(p for folder in ("notebooks", "source", "release") for p in (REPO / folder).rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)


def tracked_files():
    return subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_committed_notebooks_carry_no_outputs_or_execution_counts(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    dirty = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])]
    assert dirty == [], f"cells with outputs: {dirty}"


def test_lesson_notebooks_cover_every_subsection():
    names = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    assert [n[:5] for n in names] == ["2.5.1", "2.5.2", "2.5.3", "2.5.4", "2.5.5", "2.5.6", "2.5.7"]  # 2.5.7: 拓展


def test_ci_runs_exactly_the_readme_test_command():
    ci = [l.strip() for l in (REPO / ".ci/run").read_text().splitlines() if l.strip() and not l.startswith("#")]
    commands = [l for l in ci if not l.startswith(("set ", "cd ", "export "))]
    assert commands[-1] == "make test"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make test" in readme and "make demo" in readme
    for command in commands[:-1]:  # system packages: the README must tell a user the same
        assert command in readme, f"{command!r} is run by CI but not in the README"


def test_every_make_target_in_the_readme_exists():
    targets = set(re.findall(r"^([a-z0-9-]+):", (REPO / "Makefile").read_text(), re.MULTILINE))
    mentioned = set(re.findall(r"`make (?:-C \S+ -f \S+ )?([a-z0-9][a-z0-9-]*)", (REPO / "README.md").read_text(encoding="utf-8")))
    assert mentioned and mentioned <= targets, mentioned - targets


def test_nbgrader_working_data_is_not_in_git():
    tracked = tracked_files()
    for data in ("submitted/", "autograded/", "feedback/", "gradebook.db", "demo/"):
        assert not any(f.startswith(data) for f in tracked), data
    # the environment, as a folder or as a link to one: a tracked .venv link replaces the real folder on checkout
    assert not any(f == ".venv" or f.startswith(".venv/") for f in tracked)
