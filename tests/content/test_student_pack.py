"""`make student-pack`: what a student gets through an LMS or a download page, and nothing of source/."""
import subprocess
import zipfile

from conftest import REPO, copy_course, hidden_test_lines
from test_environment import pip_pins  # tests/content/, next to this file


def test_student_pack_holds_lessons_release_readme_and_requirements_but_no_solution(tmp_path):
    course = copy_course(tmp_path / "course")
    result = subprocess.run(["make", "-C", str(course), "student-pack", f"VENV={REPO / '.venv'}", "STAMP="],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(course / "dist" / "autograd-student.zip") as archive:
        names = archive.namelist()
        texts = {n: archive.read(n).decode("utf-8") for n in names}
    lessons = sorted(p for p in (REPO / "notebooks").iterdir() if p.suffix in (".ipynb", ".py"))  # and their figures
    assert sorted(n for n in names if "/notebooks/" in n) == [f"d2l-autograd/notebooks/{p.name}" for p in lessons]
    assert sorted(n for n in names if "/release/" in n) == sorted(
        f"d2l-autograd/release/autograd/{p.name}" for p in (REPO / "release" / "autograd").iterdir() if p.is_file())
    assert {"d2l-autograd/README.md", "d2l-autograd/requirements.txt"} <= set(names)
    assert not any("/source/" in n for n in names)
    hidden = hidden_test_lines()
    for name, text in texts.items():
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, name
        assert [line for line in hidden if line in text] == [], name


def test_student_requirements_are_a_subset_of_the_course_pins():
    student = {}
    for line in (REPO / "student" / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            student[name.lower()] = version
    course = pip_pins()
    assert {"torch", "jupyterlab", "nbgrader"} <= student.keys()
    assert {name: course.get(name) for name in student} == student
    assert not {"pytest", "playwright", "dask", "psycopg2-binary"} & student.keys()
