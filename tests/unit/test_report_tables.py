"""The terminal table and the LMS files, from grades given here (autograde/reports.py, autograde/lms.py)."""
import csv

import pytest

from autograde.errors import AutogradeError
from autograde.grades import NotebookGrade, StudentGrade
from autograde.lms import read_roster, write_canvas_csv, write_moodle_csv
from autograde.reports import format_table


def test_columns_line_up_with_chinese_taking_two_columns():
    table = format_table(["学号", "得分"], [["2023001", "39"], ["张三", "7.5"]])
    assert table.splitlines() == ["学号     得分",
                                  "-------  ----",
                                  "2023001  39",
                                  "张三     7.5"]


def test_a_long_value_widens_its_column_and_numbers_are_shown_as_given():
    table = format_table(["a", "b"], [[1, "x"], ["longer", 2.5]])
    assert table.splitlines() == ["a       b", "------  ---", "1       x", "longer  2.5"]


def grade(student, name, email, notebooks):
    return StudentGrade(student, name, email, submitted=True, timestamp=None, seconds_late=0.0,
                        notebooks=[NotebookGrade(*nb) for nb in notebooks])


EVERYONE = [grade("2023001", "张三", "z@example.edu", [("01_basics", 20.0, 18.0, 2.0), ("02_exercises", 30.0, 10.5)]),
            grade("2023002", "", "", [("01_basics", 20.0, 5.0, 0.0, 0.0, 9.0), ("02_exercises", 30.0)])]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        text = handle.read()
    assert text.startswith("\ufeff"), "Excel needs the BOM to read the Chinese"
    return list(csv.reader(text[1:].splitlines()))


def test_canvas_file_has_points_possible_and_final_grades(tmp_path):
    path = write_canvas_csv(None, "autograd", EVERYONE, tmp_path / "c.csv")
    assert read_csv(path) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "autograd"],
        ["Points Possible", "", "", "", "", "50"],
        ["张三", "", "2023001", "z@example.edu", "", "30.5"],  # 18 + 2 manual + 10.5
        ["2023002", "", "2023002", "", "", "0"],  # a late penalty larger than the score: 0, never negative
    ]


def test_moodle_file_has_one_row_a_student(tmp_path):
    path = write_moodle_csv(None, "autograd", EVERYONE, tmp_path / "m.csv")
    assert read_csv(path) == [["ID number", "Email address", "Full name", "autograd"],
                              ["2023001", "z@example.edu", "张三", "30.5"], ["2023002", "", "", "0"]]


def test_roster_is_read_with_excels_bom_and_refused_without_its_columns(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text("学号,姓名,email,其他\n 2023001 ,张三,z@example.edu,x\n", encoding="utf-8-sig")
    assert read_roster(roster) == [("2023001", "张三", "z@example.edu")]
    roster.write_text("学号,name\n2023001,张三\n", encoding="utf-8")
    with pytest.raises(AutogradeError, match="has no column 姓名, email"):
        read_roster(roster)
    roster.write_text("学号,姓名,email\n1,a,\n1,b,\n", encoding="utf-8")
    with pytest.raises(AutogradeError, match="line 3: 学号 is '1' a second time"):
        read_roster(roster)
