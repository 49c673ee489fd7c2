"""Hostile submissions, graded in the sandbox by the real nbgrader: no unearned points, nobody else harmed.

Each case in tests/adversarial/cases/ says what it tries and the exact score it must get;
`reference_full`, graded in the same run, must keep full marks.
"""
from pathlib import Path

import pytest

from conftest import run_autograde

CASES = Path(__file__).resolve().parent / "adversarial" / "cases"


def test_there_are_at_least_25_attacks_and_a_bystander():
    names = {p.stem for p in CASES.glob("*.toml")}
    assert "reference_full" in names and len(names - {"reference_full"}) >= 25


@pytest.mark.slow
def test_every_attack_gets_exactly_its_stated_score():
    # a short cell timeout: the infinite loop would otherwise cost the default 60 s
    result = run_autograde("check", "autograd", "--cases", CASES, "--cell-timeout", "15")
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert "false negatives: 0  false positives: 0" in last, result.stdout
    not_graded = next(l for l in result.stdout.splitlines() if l.startswith("not graded"))
    for student in ("corrupt_notebook", "duplicated_test_cell", "os_exit", "renamed_notebook"):
        assert student in not_graded  # reported to the instructor, recorded as 0
    assert "reference_full" not in not_graded
