"""The status line of each student after grading, and which ones make `grade` exit 3 (autograde/status.py)."""
import pytest

from autograde.incremental import REGRADE_HINT
from autograde.status import Status, print_statuses, why_zh


def test_a_clean_submission_is_graded_and_needs_no_look():
    status = Status("alice")
    assert status.line() == "已评分" and not status.needs_look


def test_lateness_alone_is_told_but_needs_no_look():
    status = Status("bob", hours_late=25.04, late_penalty=3.5)
    assert status.line() == "已评分；迟交 25.0 小时，扣 3.5 分" and not status.needs_look


@pytest.mark.parametrize("status, line", [
    (Status("c", problem="the kernel died"), "未评分，记 0 分（the kernel died）"),
    (Status("d", missing=["02_exercises"]), "已评分；缺少 02_exercises.ipynb（记 0 分）"),
    (Status("e", refused=["data.py（不属于作业）"]), "已评分；未评分的文件 data.py（不属于作业）"),
    (Status("f", missing=["01_basics"], refused=["01_basic.ipynb"]),  # a missing and a refused notebook: renamed?
     "已评分；缺少 01_basics.ipynb（记 0 分）；未评分的文件 01_basic.ipynb（改名了？）"),
    (Status("g", stale=["01_basics"]),
     f"已评分；成绩已过期：01_basics 的评分单元格在评分后改过（重新评分：{REGRADE_HINT}）"),
])
def test_every_problem_is_told_and_needs_a_look(status, line):
    assert status.line() == line and status.needs_look


def test_all_parts_in_order():
    status = Status("h", problem="a notebook is not valid JSON", missing=["01_basics", "02_exercises"],
                    refused=["x.ipynb"], hours_late=2, late_penalty=1)
    assert status.line() == ("未评分，记 0 分（a notebook is not valid JSON）；缺少 01_basics.ipynb、02_exercises.ipynb"
                             "（记 0 分）；未评分的文件 x.ipynb（改名了？）；迟交 2.0 小时，扣 1 分")


def test_reasons_are_told_in_chinese_and_unknown_ones_as_they_are():
    assert why_zh("a symbolic link") == "符号链接"
    assert why_zh("larger than 1 MB") == "larger than 1 MB"


def test_exit_code_is_3_only_when_someone_needs_a_look(capsys):
    assert print_statuses({"a": Status("a"), "b": Status("b", hours_late=1, late_penalty=1)}) == 0
    assert "需要教师查看" not in capsys.readouterr().out
    assert print_statuses({"a": Status("a"), "c": Status("c", problem="the kernel died"),
                           "d": Status("d", stale=["01_basics"])}) == 3
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "  a: 已评分" and out[-2:] == ["1 份提交无法评分：看过之后用 --student 重新评分。",
                                                  "2 份提交需要教师查看（退出码 3）。"]
