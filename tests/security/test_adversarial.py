"""Hostile submissions, graded in the sandbox by the real nbgrader: no unearned points, nobody else harmed.

Each case in tests/adversarial/cases/ says what it tries and the exact score it must get. They are graded
in one batch (one kernel server, one nbgrader process), in name order: `zz_bystander_full` comes after every
attack and `reference_full` in the middle, and both must keep full marks.
"""

import pytest

from conftest import TESTS, run_autograde

CASES = TESTS / "adversarial" / "cases"


# Tampering from inside the student's process, one case per technique at least (issue #12): each earned points
# while the tests ran in the student's kernel; the checker kernel keeps them at 0.
IN_PROCESS = {"rebind_check_functions", "rebind_tolerances", "replace_code_objects", "swap_sys_modules",
              "settrace_edit_locals", "setprofile_hook", "override_run_cell", "override_run_ast_nodes",
              "input_transformer", "ast_transformer", "torch_library_override", "tensor_subclass_torch_function",
              "float_reads_caller_frame", "patch_autograd_engine", "patch_grad_property", "forged_autograd_traceback",
              "decoy_backward", "decoy_backward_phase_shift", "read_hidden_source_from_stack", "crafted_reply_objects",
              "crafted_reply_huge", "crafted_reply_nested", "reach_checker_kernel", "os_exit_in_call"}


def test_there_are_at_least_55_attacks_and_two_bystanders():
    names = {p.stem for p in CASES.glob("*.toml")}
    bystanders = {"reference_full", "zz_bystander_full"}
    assert bystanders <= names and len(names - bystanders) >= 55
    assert max(names) == "zz_bystander_full"  # graded last, after every attack
    assert IN_PROCESS <= names and len(IN_PROCESS) >= 20


@pytest.mark.slow
def test_every_attack_gets_exactly_its_stated_score():
    # a short cell timeout: the infinite loop would otherwise cost the default 60 s
    # one worker: a single batch, so every attack runs before the bystanders in the same kernel server
    result = run_autograde("check", "autograd", "--cases", CASES, "--cell-timeout", "15", "--workers", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert "false negatives: 0  false positives: 0" in last, result.stdout
    not_graded = next(l for l in result.stdout.splitlines() if l.startswith("not graded"))
    for student in ("corrupt_notebook", "duplicated_test_cell", "os_exit", "renamed_notebook"):
        assert student in not_graded  # reported to the instructor, recorded as 0
    for bystander in ("reference_full", "zz_bystander_full"):
        assert bystander not in not_graded
    refused = next(l for l in result.stdout.splitlines() if l.startswith("refused files"))
    for student, what in [("symlink_solutions", "01_basics.ipynb (a symbolic link)"),
                          ("symlink_solutions", "03_extension.ipynb (a symbolic link)"),
                          ("symlink_solutions", "gradebook.db (a symbolic link)"),
                          ("shadow_check_module", "autograd_checks/__init__.py (not part of the assignment)"),
                          ("shadow_check_module", "helpers.py (not part of the assignment)")]:
        assert f"{student}:" in refused and what in refused, refused
    assert "os_exit_in_call" not in not_graded  # its kernel died during a call: that item fails, the notebook goes on
