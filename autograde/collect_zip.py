"""Collect an LMS's "download all submissions" zip into submitted/<student>/<assignment>/.

Two namings are understood (a file of neither is refused with its name):
  Canvas  <name>_<user id>_<submission id>_<file>, or <name>_LATE_<user id>_<submission id>_<file>;
          a resubmitted file carries "-1", "-2", ... before its extension (the latest wins).
  Moodle  <full name>_<participant id>_assignsubmission_file_/<file> (with or without the last "_").
The student id is the roster's 学号 of the student whose 姓名 is that name (`python -m autograde roster`),
else the name itself. Names written by Windows tools without the zip's UTF-8 flag are read as GBK.
A browser's duplicate suffix ("01_basics (1).ipynb") is dropped too. Then `make grade` grades them.

(`nbgrader zip_collect` does the same with a regex matched against the *absolute* path of each
extracted file, so a working regex must start with ".*/"; this command needs none.)
"""
import re
import shutil
import zipfile
from pathlib import PurePosixPath

from . import gradebook
from .errors import AutogradeError

CANVAS = re.compile(r"^(?P<name>[^_/]+)_(?:LATE_)?\d+_\d+_(?P<file>[^/]+)$")
MOODLE = re.compile(r"^(?P<name>[^/]+?)_\d+_assignsubmission_file_?/(?:.*/)?(?P<file>[^/]+)$")
RESUBMITTED = re.compile(r"^(?P<stem>.+?)(?:-(?P<canvas>\d+)| \((?P<browser>\d+)\))(?P<ext>\.[^.]+)$")


def entry_name(info):
    """The file name as the student saw it, also for zips written without the UTF-8 flag."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437")
    for encoding in ("utf-8", "gbk"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def parse(name):
    """(student name, file name, version) of an entry, or None if it is neither Canvas's nor Moodle's."""
    match = CANVAS.match(name) or MOODLE.match(name)
    if not match:
        return None
    file, version = match["file"], 0
    again = RESUBMITTED.match(file)
    if again:
        file, version = again["stem"] + again["ext"], int(again["canvas"] or again["browser"])
    return match["name"], file, version


def _roster_ids(course):
    """{姓名: 学号} for names that belong to one student only."""
    with gradebook.connect(course) as gb:
        pairs = [(s.last_name, s.id) for s in gb.students if s.last_name]
    names = [n for n, _ in pairs]
    return {n: i for n, i in pairs if names.count(n) == 1}


def collect(course, assignment, path):
    """Unpack the zip into submitted/; returns {student: [files]} and the refused entries."""
    course.source_notebooks(assignment)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as err:
        raise AutogradeError(f"Cannot read {path} as a zip file: {err}.") from err
    ids = _roster_ids(course)
    chosen, refused = {}, []
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = entry_name(info)
            parsed = parse(name)
            if parsed is None or PurePosixPath(parsed[1]).name != parsed[1] or parsed[1].startswith("."):
                refused.append(name)
                continue
            student, file, version = parsed
            key = (ids.get(student, student), file)
            if key not in chosen or version > chosen[key][0]:
                chosen[key] = (version, info)
        found = {}
        for (student, file), (_, info) in sorted(chosen.items()):
            target = course.submitted / student / assignment / file
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            found.setdefault(student, []).append(file)
    if not found:
        raise AutogradeError(f"No submission in {path}: no file is named as Canvas or Moodle name them.",
                             hint="See `python -m autograde collect-zip --help` for the namings understood.")
    return found, refused


def main(*, course, assignment, zip_file, verbose=False):
    """`python -m autograde collect-zip FILE.zip [assignment]`."""
    found, refused = collect(course, assignment, zip_file)
    for student, files in found.items():
        print(f"  {student}: {'、'.join(files)}")
    for name in refused:
        print(f"  未收取（文件名不是 Canvas 或 Moodle 的格式）：{name}")
    print(f"{len(found)} 名学生的提交已放进 submitted/<学号>/{assignment}/；接下来 make grade。")
