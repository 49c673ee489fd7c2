"""How a class is cut into batches for the workers (autograde/scheduler.py): no kernel."""
import pytest

from autograde.scheduler import MAX_BATCH, _batches


@pytest.mark.parametrize("size, workers, lengths", [
    (1, 2, [1]),  # fewer students than workers: no empty batch
    (4, 2, [2, 2]),  # one batch a worker
    (5, 2, [3, 2]),  # the last batch takes what is left
    (7, 3, [3, 3, 1]),
    (3, 8, [1, 1, 1]),
    (120, 2, [50, 50, 20]),  # batches never grow past MAX_BATCH, whatever the workers
    (0, 2, []),
])
def test_batches_are_one_a_worker_up_to_the_largest_size(size, workers, lengths):
    students = [f"s{i:03d}" for i in range(size)]
    batches = _batches(students, workers)
    assert [len(b) for b in batches] == lengths
    assert [s for b in batches for s in b] == students  # every student once, in order
    assert all(len(b) <= MAX_BATCH for b in batches)
