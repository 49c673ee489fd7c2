"""`python -m autograde grade` records exactly what plain `nbgrader autograde` records, column for column.

One class under a late policy (tests/classroom.py), graded once by each; then a grader enters a manual grade
and extra credit for the late student, and each regrades that student. Every row of every gradebook table is
compared (ids aside): a column the batch → class copy forgot would show here as a wrong grade.
"""
import pytest
import torch

from classroom import ASSIGNMENT, dump_gradebook, enter_by_hand, make_class, plain_nbgrader
from conftest import run_autograde

pytestmark = pytest.mark.slow

MANUAL = {("02_exercises", "why_second_derivative_costs_more"): 1.5}
EXTRA = {("02_exercises", "why_second_derivative_costs_more"): 0.5, ("01_basics", "grad_two_dot_test"): 1.0}


def assert_same_rows(plain, ours):
    assert plain.keys() == ours.keys()
    for table in plain:
        assert len(plain[table]) == len(ours[table]), table
        for a, b in zip(plain[table], ours[table]):
            assert a.keys() == b.keys(), table
            for column in a:
                if isinstance(a[column], float) and isinstance(b[column], float):
                    torch.testing.assert_close(torch.tensor(b[column], dtype=torch.float64),
                                               torch.tensor(a[column], dtype=torch.float64),
                                               rtol=0, atol=1e-9, msg=f"{table}.{column}: {a} vs {b}")
                else:
                    assert a[column] == b[column], f"{table}.{column}:\nplain {a}\nours  {b}"


@pytest.fixture(scope="module")
def graded_both_ways(tmp_path_factory):
    root = tmp_path_factory.mktemp("differential")
    plain, ours = make_class(root / "plain"), make_class(root / "ours")
    plain_nbgrader(plain, "autograde", ASSIGNMENT, "--force")
    result = run_autograde("--course", ours.root, "grade")
    assert result.returncode in (0, 3), result.stdout + result.stderr
    for course in (plain, ours):
        enter_by_hand(course, "s2_late", manual=MANUAL, extra_credit=EXTRA)
    plain_nbgrader(plain, "autograde", ASSIGNMENT, "--force", "--student", "s2_late")
    result = run_autograde("--course", ours.root, "grade", "--student", "s2_late")
    assert result.returncode in (0, 3), result.stdout + result.stderr
    return plain, ours


def test_every_column_of_every_gradebook_row_is_what_plain_nbgrader_records(graded_both_ways):
    plain, ours = graded_both_ways
    assert_same_rows(dump_gradebook(plain), dump_gradebook(ours))


def test_the_late_submission_loses_its_whole_score_manual_grade_and_extra_credit_included(graded_both_ways):
    from nbgrader.api import Gradebook

    _, ours = graded_both_ways
    config = ours.config().CourseDirectory
    with Gradebook(config.db_url, config.course_id) as gb:
        late = gb.find_submission(ASSIGNMENT, "s2_late")
        penalties = {nb.name: nb.late_submission_penalty for nb in late.notebooks}
        scores = {nb.name: nb.score for nb in late.notebooks}
        written = gb.find_grade("why_second_derivative_costs_more", "02_exercises", ASSIGNMENT, "s2_late")
        assert (written.manual_score, written.extra_credit, written.needs_manual_grade) == (1.5, 0.5, True)
        on_time = gb.find_submission(ASSIGNMENT, "s1_on_time")
        assert [nb.late_submission_penalty for nb in on_time.notebooks] == [None, None]
    assert scores == {"01_basics": 21.0, "02_exercises": 21.0}  # 20 + 1 extra; 19 + 1.5 manual + 0.5 extra
    assert penalties == scores
