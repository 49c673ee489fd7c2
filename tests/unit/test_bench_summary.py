"""The benchmark's closing lines for a class of 2, from given seconds (autograde/bench.py): no run."""
from autograde.bench import summary


def test_ratio_cost_per_submission_and_floor_for_a_class_of_two():
    lines = summary(plain_seconds=30.0, ours_seconds=12.0, submissions=2, notebooks=4, workers=2, floor=2.5,
                    forked=0.25)
    assert lines == ["ratio: 2.50x faster",
                     "per submission: plain 15.0 s, ours 6.0 s (wall, 2 workers)",
                     "floor: a fresh kernel importing torch, numpy, matplotlib takes 2.5 s; "
                     "4 notebooks x floor / 2 workers = 5 s",
                     "a sandboxed kernel forked from the kernel server does the same in 0.25 s (10x less)"]


def test_a_slower_tool_shows_a_ratio_below_one_and_no_sandbox_no_forked_line():
    lines = summary(plain_seconds=10.0, ours_seconds=40.0, submissions=2, notebooks=4, workers=1, floor=3.0)
    assert lines[0] == "ratio: 0.25x faster" and lines[1] == "per submission: plain 5.0 s, ours 20.0 s (wall, 1 workers)"
    assert len(lines) == 3 and lines[2].endswith("4 notebooks x floor / 1 workers = 12 s")
