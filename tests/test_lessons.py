"""Every lesson runs top to bottom in a fresh kernel: no error, nothing on stderr, within 30 s.

The lessons check their own claims with assertions, so a claim that stops being true
fails here as an error output.
"""
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

LESSONS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
TIME_LIMIT = 30  # seconds per lesson, kernel start included


def problems(nb):
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"cell {index}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr":
                found.append(f"cell {index} wrote to stderr: {output.text[:300]}")
    return found


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs_cleanly_in_a_fresh_kernel(path):
    nb = nbformat.read(path, as_version=4)
    started = time.monotonic()
    NotebookClient(nb, timeout=TIME_LIMIT, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    elapsed = time.monotonic() - started
    assert problems(nb) == []
    assert elapsed < TIME_LIMIT, f"{path.name} took {elapsed:.1f} s"
    assert any(o.output_type in ("execute_result", "display_data") for c in nb.cells for o in c.get("outputs", []))
