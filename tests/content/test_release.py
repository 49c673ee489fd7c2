"""release/ is exactly what `nbgrader generate_assignment` makes of source/."""
import filecmp

from autograde.course import Course, scratch_course
from conftest import REPO



def test_committed_release_matches_a_fresh_generate_assignment(tmp_path):
    fresh = scratch_course(Course(REPO), tmp_path / "course", "autograd")
    committed = REPO / "release" / "autograd"
    generated = fresh.release / "autograd"
    names = sorted(p.name for p in generated.iterdir())
    assert names == sorted(p.name for p in committed.iterdir())
    match, mismatch, errors = filecmp.cmpfiles(committed, generated, names, shallow=False)
    assert (mismatch, errors) == ([], []), "release/ is stale: run `make release` and commit it"


def test_release_has_no_solutions_or_hidden_tests():
    for path in (REPO / "release" / "autograd").glob("*.ipynb"):
        text = path.read_text(encoding="utf-8")
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "_hidden_checks"):
            assert marker not in text, (path.name, marker)
        assert "raise NotImplementedError()" in text


def test_a_scratch_course_keeps_its_own_gradebook_whatever_the_class_uses(tmp_path, monkeypatch):
    """The class may point at PostgreSQL through AUTOGRADE_DB_URL; a scratch course (check, bench, batches)
    gets its SQLite gradebook as an nbgrader option, with the course's config file copied unchanged."""
    monkeypatch.setenv("AUTOGRADE_DB_URL", f"sqlite:///{tmp_path / 'the-class.db'}")
    scratch = scratch_course(Course(REPO), tmp_path / "course", "autograd")
    assert (scratch.root / "nbgrader_config.py").read_bytes() == (REPO / "nbgrader_config.py").read_bytes()
    assert scratch.config().CourseDirectory.db_url == f"sqlite:///{tmp_path / 'course' / 'gradebook.db'}"
    assert (tmp_path / "course" / "gradebook.db").is_file() and not (tmp_path / "the-class.db").exists()
