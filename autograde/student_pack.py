"""`make student-pack`: the student version of the course as one zip, for an LMS or a download page.

dist/<assignment>-student.zip holds the lessons (notebooks/), the student version of the assignment
(release/<assignment>/, as committed), student/README.md as README.md and student/requirements.txt as
requirements.txt. Never source/: no solution and no hidden test leaves with it.
"""
import zipfile

from .errors import AutogradeError


def pack_files(course, assignment):
    """{path in the zip: file} in the order they are written."""
    release = course.release / assignment
    if not release.is_dir():
        raise AutogradeError(f"No student version of '{assignment}': {release} does not exist.",
                             hint="Run `make release` first.")
    files = {}
    for folder in (course.root / "notebooks", release):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not {"__pycache__", ".ipynb_checkpoints"} & set(path.parts):
                files[str(path.relative_to(course.root))] = path
    files["README.md"] = course.root / "student" / "README.md"
    files["requirements.txt"] = course.root / "student" / "requirements.txt"
    return files


def main(*, course, assignment, verbose=False):
    files = pack_files(course, assignment)
    target = course.root / "dist" / f"{assignment}-student.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in files.items():
            archive.write(path, f"d2l-autograd/{name}")
    print(f"{target.relative_to(course.root)}：{len(files)} 个文件（讲解、学生版作业、学生 README、requirements.txt）。")
