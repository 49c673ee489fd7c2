"""`python -m autograde grade` records exactly what plain `nbgrader autograde` records, column for column,
and every report shows the one final grade Formgrader and `nbgrader export` show.

One class under a late policy (tests/classroom.py), graded once by each; then a grader enters a manual grade
and extra credit for the late student, and each regrades that student. Every row of every gradebook table is
compared (ids aside): a column the batch → class copy forgot would show here as a wrong grade.
"""
import csv
import re

import pytest
import torch

from classroom import ASSIGNMENT, dump_gradebook, enter_by_hand, make_class, plain_nbgrader
from conftest import run_autograde

pytestmark = pytest.mark.slow

MANUAL = {("02_exercises", "why_second_derivative_costs_more"): 1.5}
EXTRA = {("02_exercises", "why_second_derivative_costs_more"): 0.5, ("01_basics", "grad_two_dot_test"): 1.0}
# The final grade each student must get: auto + manual + extra credit − late penalty, of 51 (47 auto + 4 by hand;
# 03_extension, the optional notebook, is 8 of the 47)
FINAL = {"s1_on_time": 47.0, "s2_late": 0.0, "s3_renamed_notebook": 28.0, "s4_fails_to_run": 27.0,
         "s5_blank_no_timestamp": 0.0}


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


def close(got, expected):
    torch.testing.assert_close(float(got), float(expected), rtol=0, atol=1e-9)


@pytest.fixture(scope="module")
def graded_both_ways(tmp_path_factory):
    root = tmp_path_factory.mktemp("differential")
    plain, ours = make_class(root / "plain"), make_class(root / "ours")
    plain_nbgrader(plain, "autograde", ASSIGNMENT, "--force")
    first = run_autograde("--course", ours.root, "grade")
    for course in (plain, ours):
        enter_by_hand(course, "s2_late", manual=MANUAL, extra_credit=EXTRA)
    plain_nbgrader(plain, "autograde", ASSIGNMENT, "--force", "--student", "s2_late")
    again = run_autograde("--course", ours.root, "grade", "--student", "s2_late")
    return dict(plain=plain, ours=ours, first=first, again=again,
                dumps=(dump_gradebook(plain), dump_gradebook(ours)))


def test_every_column_of_every_gradebook_row_is_what_plain_nbgrader_records(graded_both_ways):
    assert_same_rows(*graded_both_ways["dumps"])


def test_the_late_submission_loses_its_whole_score_manual_grade_and_extra_credit_included(graded_both_ways):
    from nbgrader.api import Gradebook

    ours = graded_both_ways["ours"]
    config = ours.config().CourseDirectory
    with Gradebook(config.db_url, config.course_id) as gb:
        late = gb.find_submission(ASSIGNMENT, "s2_late")
        penalties = {nb.name: nb.late_submission_penalty for nb in late.notebooks}
        scores = {nb.name: nb.score for nb in late.notebooks}
        written = gb.find_grade("why_second_derivative_costs_more", "02_exercises", ASSIGNMENT, "s2_late")
        assert (written.manual_score, written.extra_credit, written.needs_manual_grade) == (1.5, 0.5, True)
        on_time = gb.find_submission(ASSIGNMENT, "s1_on_time")
        assert [nb.late_submission_penalty for nb in on_time.notebooks] == [None, None, None]
    # 20 + 1 extra; 19 + 1.5 manual + 0.5 extra; 8
    assert scores == {"01_basics": 21.0, "02_exercises": 21.0, "03_extension": 8.0}
    assert penalties == scores


def status_lines(result):
    return {m[1]: m[2] for m in re.finditer(r"^  (s\d_\w+): ([已未]评分.*)$", result.stdout, re.MULTILINE)}


def test_status_lines_tell_the_truth_and_a_renamed_notebook_asks_for_a_look(graded_both_ways):
    first, again = graded_both_ways["first"], graded_both_ways["again"]
    assert first.returncode == 3, first.stdout + first.stderr
    lines = status_lines(first)
    assert lines["s1_on_time"] == "已评分"
    assert lines["s2_late"] == "已评分；迟交 9.5 小时，扣 47 分"
    assert lines["s3_renamed_notebook"] == ("已评分；缺少 02_exercises.ipynb（记 0 分）；"
                                            "未评分的文件 02_Exercises.ipynb（改名了？）")
    assert lines["s4_fails_to_run"] == "已评分"  # its answers raise; the tests ran and scored 0
    assert "1 份提交需要教师查看（退出码 3）。" in first.stdout
    assert again.returncode == 0, again.stdout + again.stderr  # late alone is the policy's business
    assert status_lines(again) == {"s2_late": "已评分；迟交 9.5 小时，扣 50 分"}


def test_terminal_table_shows_the_final_grade_with_its_max_and_pending_questions(graded_both_ways):
    out = graded_both_ways["first"].stdout
    assert re.search(r"^学生\s+01_basics \(/20\)\s+02_exercises \(/23\)\s+03_extension \(/8\)\s+迟交扣分\s+总分 \(/51\)"
                     r"\s+待人工评分$", out, re.M)
    assert re.search(r"^s1_on_time\s+20\s+19\s+8\s+0\s+47\s+3$", out, re.MULTILINE)
    assert re.search(r"^s2_late\s+0\s+0\s+0\s+47\s+0\s+3$", out, re.MULTILINE)
    assert "  s1_on_time: 02_exercises/why_second_derivative_costs_more" in out


def read_csv(path):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name} has no BOM: Excel would garble its Chinese"
    return list(csv.reader(raw.decode("utf-8-sig").splitlines()))


def nbgrader_export(course, tmp_path, name):
    target = tmp_path / f"{name}-export.csv"
    plain_nbgrader(course, "export", f"--to={target}")
    return {row["student_id"]: row for row in csv.DictReader(target.read_text(encoding="utf-8").splitlines())}


def test_grades_table_agrees_with_nbgrader_export_of_both_gradebooks(graded_both_ways, tmp_path):
    ours = graded_both_ways["ours"]
    rows = read_csv(ours.reports / f"{ASSIGNMENT}-grades.csv")
    header = rows[0]
    assert header[:11] == ["学号", "姓名", "email", "状态", "提交时间", "01_basics (/20)", "02_exercises (/23)",
                           "03_extension (/8)", "迟交扣分", "总分 (/51)", "待人工评分"]
    table = {r[0]: dict(zip(header, r)) for r in rows[1:]}
    assert {s: float(r["总分 (/51)"]) for s, r in table.items()} == FINAL
    assert table["s2_late"]["状态"] == "迟交" and table["s2_late"]["迟交扣分"] == "50"
    assert table["s1_on_time"]["待人工评分"] == ("why_second_derivative_costs_more own_control_flow_design "
                                                 "own_control_flow_explained")
    for name in ("plain", "ours"):
        exported = nbgrader_export(graded_both_ways[name], tmp_path, name)
        assert exported.keys() == table.keys(), name
        for student, row in exported.items():
            close(table[student]["总分 (/51)"], row["score"])
            close(table[student]["迟交扣分"], row["late_submission_penalty"] or 0)
            close(51, row["max_score"])


def test_roster_then_lms_exports(graded_both_ways, tmp_path):
    ours = graded_both_ways["ours"]
    roster = tmp_path / "名单.csv"
    roster.write_text("学号,姓名,email,班级\ns1_on_time,张三,zhangsan@example.edu,1\ns2_late,李四,lisi@example.edu,1\n"
                      "s6_absent,王五,wangwu@example.edu,2\n", encoding="utf-8-sig")
    result = run_autograde("--course", ours.root, "roster", roster)
    assert result.returncode == 0, result.stderr
    assert "3 名学生" in result.stdout
    result = run_autograde("--course", ours.root, "report")
    assert result.returncode == 0, result.stderr
    rows = read_csv(ours.reports / f"{ASSIGNMENT}-grades.csv")
    table = {r[0]: r for r in rows[1:]}
    assert table["s1_on_time"][:4] == ["s1_on_time", "张三", "zhangsan@example.edu", "已提交"]
    assert table["s6_absent"][:11] == ["s6_absent", "王五", "wangwu@example.edu", "未提交", "", "0", "0", "0", "0", "0",
                                       ""]
    canvas = read_csv(ours.reports / f"{ASSIGNMENT}-canvas.csv")
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    assert canvas[1] == ["Points Possible", "", "", "", "", "51"]
    assert ["张三", "", "s1_on_time", "zhangsan@example.edu", "", "47"] in canvas
    assert ["王五", "", "s6_absent", "wangwu@example.edu", "", "0"] in canvas
    moodle = read_csv(ours.reports / f"{ASSIGNMENT}-moodle.csv")
    assert moodle[0] == ["ID number", "Email address", "Full name", ASSIGNMENT]
    assert ["s2_late", "lisi@example.edu", "李四", "0"] in moodle
    assert len(moodle) == 1 + 6


def test_a_roster_without_its_columns_is_refused(graded_both_ways, tmp_path):
    bad = tmp_path / "roster.csv"
    bad.write_text("id,name\n1,x\n", encoding="utf-8")
    result = run_autograde("--course", graded_both_ways["ours"].root, "roster", bad)
    assert result.returncode == 1 and "has no column 学号, 姓名, email" in result.stderr
