"""The fairness corpus (tests/corpus/): right answers earn full points, real mistakes earn none.

Coverage rule (see tests/corpus/README.md): a right_ case covers the items it names in
[expected], all at full points; a wrong_ case covers the items it names in [expected] below
full points. Every auto-graded item needs 2 right and 3 wrong cases.
"""
import tomllib
from collections import Counter

import nbformat
import pytest

from conftest import REPO, run_autograde

CASES = REPO / "tests" / "corpus" / "cases"
SOURCE = REPO / "source" / "autograd"


def auto_graded_points():
    """{grade id of every auto-graded test cell: its points}, read from the source notebooks."""
    points = {}
    for path in sorted(SOURCE.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                points[meta["grade_id"]] = float(meta["points"])
    return points


def answer_cells():
    return {cell.metadata["nbgrader"]["grade_id"]
            for path in SOURCE.glob("*.ipynb") for cell in nbformat.read(path, as_version=4).cells
            if cell.metadata.get("nbgrader", {}).get("solution")}


def cases():
    return {path.stem: tomllib.loads(path.read_text(encoding="utf-8")) for path in sorted(CASES.glob("*.toml"))}


def test_every_case_is_well_formed():
    points, answers = auto_graded_points(), answer_cells()
    assert len(points) >= 18 and len(cases()) >= 64
    for name, case in cases().items():
        assert name.startswith(("right_", "wrong_")) and name.isidentifier() and name == name.lower(), name
        assert case.get("why", "").strip() and case.get("base") == "solution", name
        assert case.get("answers") and set(case["answers"]) <= answers, name
        expected = case.get("expected", {})
        assert expected and set(expected) <= set(points), name
        if name.startswith("right_"):  # a right answer never loses points
            assert all(expected[g] == points[g] for g in expected), name
        else:  # a wrong answer is about at least one item it must not get full points for
            assert any(expected[g] < points[g] for g in expected), name


def test_every_auto_graded_item_has_two_right_and_three_wrong_cases():
    points = auto_graded_points()
    right, wrong = Counter(), Counter()
    for name, case in cases().items():
        for grade_id, score in case.get("expected", {}).items():
            if name.startswith("right_") and score == points[grade_id]:
                right[grade_id] += 1
            elif name.startswith("wrong_") and score < points[grade_id]:
                wrong[grade_id] += 1
    missing = {g: (right[g], wrong[g]) for g in points if right[g] < 2 or wrong[g] < 3}
    assert not missing, f"items with fewer than 2 right / 3 wrong cases (right, wrong): {missing}"


@pytest.mark.slow
def test_the_grader_scores_every_case_exactly():
    result = run_autograde("check", "autograd", "--cases", CASES)
    last = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "false negatives: 0  false positives: 0" in last, result.stdout
