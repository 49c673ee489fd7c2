"""`check`'s comparison of the scores a case states with the scores it got (autograde/check.py)."""
from autograde.check import compare

EXPECTED = {"right_a": {"scores": {"q1": 2.0, "q2": 1.5}}, "wrong_b": {"scores": {"q1": 0.0, "q2": 0.0}}}


def test_equal_scores_give_no_row_even_with_float_noise():
    got = {"right_a": {"q1": 2.0, "q2": 1.5 + 1e-12}, "wrong_b": {"q1": 0.0, "q2": 0.0}}
    assert compare(EXPECTED, got) == []


def test_a_lost_point_is_a_false_negative_and_a_won_point_a_false_positive():
    got = {"right_a": {"q1": 1.0, "q2": 1.5}, "wrong_b": {"q1": 0.0, "q2": 0.5}}
    assert compare(EXPECTED, got) == [["right_a", "q1", "2", "1", "FALSE NEGATIVE"],
                                      ["wrong_b", "q2", "0", "0.5", "FALSE POSITIVE"]]


def test_a_missing_student_or_ungraded_item_counts_as_zero():
    got = {"wrong_b": {"q1": None}}  # None: nbgrader recorded no score
    assert compare(EXPECTED, got) == [["right_a", "q1", "2", "0", "FALSE NEGATIVE"],
                                      ["right_a", "q2", "1.5", "0", "FALSE NEGATIVE"]]
