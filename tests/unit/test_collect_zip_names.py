"""How `collect-zip` reads the names Canvas and Moodle give submitted files (autograde/collect_zip.py)."""
import zipfile

import pytest

from autograde.collect_zip import entry_name, parse


@pytest.mark.parametrize("name, parsed", [
    ("zhangsan_12345_67890_01_basics.ipynb", ("zhangsan", "01_basics.ipynb", 0)),
    ("zhangsan_LATE_12345_67890_02_exercises-2.ipynb", ("zhangsan", "02_exercises.ipynb", 2)),
    ("张三_4242_assignsubmission_file_/01_basics (1).ipynb", ("张三", "01_basics.ipynb", 1)),
    ("李四 王_77_assignsubmission_file/作业/02_exercises.ipynb", ("李四 王", "02_exercises.ipynb", 0)),
    ("notes.txt", None),
    ("zhangsan_12_34_", None),
])
def test_canvas_and_moodle_names(name, parsed):
    assert parse(name) == parsed


def test_a_zip_written_without_the_utf8_flag_is_read_as_gbk(tmp_path):
    path = tmp_path / "windows.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("XXXX_4242_assignsubmission_file_/01_basics.ipynb", "{}")
    path.write_bytes(path.read_bytes().replace(b"XXXX_", "张三".encode("gbk") + b"_"))
    (info,) = zipfile.ZipFile(path).infolist()
    assert not info.flag_bits & 0x800
    assert entry_name(info) == "张三_4242_assignsubmission_file_/01_basics.ipynb"
