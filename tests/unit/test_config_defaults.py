"""The sandbox limits and output budgets have one place, the course's nbgrader_config.py: the code reads them
and refuses to grade while one is missing (autograde/sandbox.py, autograde/execute.py)."""
import json

import nbformat
import pytest
from traitlets.config import Config

from autograde.course import Course
from autograde.errors import AutogradeError
from autograde.execute import GradingExecute
from autograde.sandbox import Limits
from conftest import REPO


def test_the_course_config_sets_every_limit_and_the_code_reads_it():
    config = Course(REPO).config()
    limits = json.loads(Limits(config=config).as_env())
    assert limits == {name: config.Limits[name] for name in Limits().trait_names(config=True)}
    executor = GradingExecute(config=config)
    assert (executor.max_cell_output_bytes, executor.max_notebook_output_bytes) == (
        config.GradingExecute.max_cell_output_bytes, config.GradingExecute.max_notebook_output_bytes)


def test_a_config_without_one_limit_is_refused_in_one_sentence():
    config = Course(REPO).config()
    del config.Limits["scratch_mb"]
    with pytest.raises(AutogradeError, match=r"^nbgrader_config.py does not set c.Limits.scratch_mb: "):
        Limits(config=config).as_env()


def test_grading_without_the_output_budget_is_refused_before_any_kernel_starts():
    config = Config(Course(REPO).config())
    del config.GradingExecute["max_notebook_output_bytes"]
    with pytest.raises(AutogradeError, match="c.GradingExecute.max_notebook_output_bytes"):
        GradingExecute(config=config).preprocess(nbformat.v4.new_notebook(), {})
