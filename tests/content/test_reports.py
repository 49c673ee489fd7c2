"""Report pictures speak Chinese when a CJK font is installed, and stay readable (English) without one."""
import shutil
import warnings

import matplotlib.pyplot
import pytest

from autograde import reports
from autograde.course import Course, scratch_course
from conftest import REPO


@pytest.fixture(scope="module")
def empty_class(tmp_path_factory):
    """A course whose gradebook knows the assignment, with nobody graded yet."""
    return scratch_course(Course(REPO), tmp_path_factory.mktemp("reports") / "course", "autograd")


def draw(course, monkeypatch, font):
    monkeypatch.setattr(reports, "cjk_font", lambda: font)
    with warnings.catch_warnings(record=True) as caught, matplotlib.pyplot.rc_context():
        warnings.simplefilter("always")
        matplotlib.pyplot.rcdefaults()  # matplotlib's own fonts, whatever an earlier test set (the lessons' CJK font)
        paths = reports.write_pictures(course, "autograd")
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    return paths, missing


@pytest.mark.skipif(not shutil.which("fc-list"), reason="fontconfig is not installed")
def test_with_the_cjk_font_labels_are_chinese_and_every_glyph_is_drawn(empty_class, monkeypatch):
    font = reports.cjk_font()
    assert font == "WenQuanYi Micro Hei", "apt-get install -y fonts-wqy-microhei (the README asks for it)"
    paths, missing = draw(empty_class, monkeypatch, font)
    assert missing == [] and all(p.stat().st_size > 0 for p in paths)


def test_without_a_cjk_font_labels_are_english_not_boxes(empty_class, monkeypatch):
    assert all(ord(ch) < 128 for label in reports.LABELS["en"].values() for ch in label)
    paths, missing = draw(empty_class, monkeypatch, None)
    assert missing == [] and all(p.stat().st_size > 0 for p in paths)


def test_chinese_labels_without_the_font_would_be_boxes(empty_class, monkeypatch):
    """The check above can fail: Chinese text in the default font is reported as missing glyphs."""
    monkeypatch.setitem(reports.LABELS, "en", reports.LABELS["zh"])
    _, missing = draw(empty_class, monkeypatch, None)
    assert missing
