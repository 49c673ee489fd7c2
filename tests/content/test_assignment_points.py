"""Every heading of the assignment that states points (`## 练习4：…（6分）`, `### 4.3 …（2分，手工评分）`) states the
sum of the graded cells under it (STYLE.md: points written by hand are linted)."""
import re

import nbformat
import pytest

from conftest import REPO

NOTEBOOKS = sorted((REPO / "source" / "autograd").glob("*.ipynb"))
POINTS = re.compile(r"（(\d+(?:\.\d+)?)分")


def headings_and_points(path):
    """[(heading, stated points, sum of the graded cells under it)] for every heading that states points."""
    found, open_headings = [], {}  # level -> [heading, stated, summed]
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and not meta.get("solution"):  # an answer's "### BEGIN SOLUTION" is no heading
            for line in cell.source.splitlines():
                level = len(line) - len(line.lstrip("#"))
                if level in (2, 3) and line[level:level + 1] == " ":
                    for deeper in [lv for lv in open_headings if lv >= level]:
                        found.append(tuple(open_headings.pop(deeper)))
                    stated = POINTS.search(line)
                    if stated:
                        open_headings[level] = [line, float(stated[1]), 0.0]
        if meta.get("grade"):
            for entry in open_headings.values():
                entry[2] += float(meta["points"])
    return found + [tuple(entry) for entry in open_headings.values()]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_headings_points_are_the_sum_of_its_graded_cells(path):
    checked = headings_and_points(path)
    assert checked, "no heading states its points"
    assert [(h, stated) for h, stated, summed in checked if stated != summed] == []
